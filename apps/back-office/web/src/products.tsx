import { useState, type FormEvent, type ReactNode } from 'react';
import { api, when, type JsonObject, type Session } from './api';
import { Columns, errorText, Loading, OutcomeMessage, useLoad, type Outcome } from './ui';

interface Version {
  version: number;
  recorded_at: string;
  actor: string;
  data: JsonObject;
}

interface Product {
  product_id: string;
  in_force: Version | null;
  versions: Version[];
}

const field = (v: Version | null, name: string): string => (v && typeof v.data[name] === 'string' ? String(v.data[name]) : '–');

/** Products with every version (a change is a new version, never an overwrite), and a form for a new version (admin: rates:write). */
export function ProductsPage({ session }: { session: Session }): ReactNode {
  const { data, error, reload } = useLoad(() => api<{ today: string; products: Product[] }>(session, 'GET', '/api/staff/rates/products'), 'products');
  if (!data) return <Loading error={error} what="the products" />;
  return (
    <>
      <h1>Rates and products</h1>
      <p>Prices in force on {data.today}. Every change is kept as a new version with who made it.</p>
      {data.products.map((p) => (
        <section key={p.product_id} aria-labelledby={`product-${p.product_id}`}>
          <h2 id={`product-${p.product_id}`}>
            {field(p.in_force, 'name')} ({p.product_id})
          </h2>
          <table>
            <caption>Versions of {p.product_id}</caption>
            <Columns names={['Version', 'Margin DKK/kWh', 'Subscription DKK/month', 'Valid from', 'Recorded', 'By']} />
            <tbody>
              {p.versions.map((v) => (
                <tr key={v.version} aria-current={p.in_force?.version === v.version ? 'true' : undefined}>
                  <td>
                    {v.version}
                    {p.in_force?.version === v.version ? ' (in force)' : ''}
                  </td>
                  <td className="num">{field(v, 'marginDkkPerKwh')}</td>
                  <td className="num">{field(v, 'monthlySubscriptionDkk')}</td>
                  <td>{field(v, 'validFrom')}</td>
                  <td>{when(v.recorded_at)}</td>
                  <td>{v.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <NewVersion session={session} product={p} today={data.today} onSaved={reload} />
        </section>
      ))}
    </>
  );
}

function NewVersion({ session, product, today, onSaved }: { session: Session; product: Product; today: string; onSaved: () => void }): ReactNode {
  const current = product.in_force ?? product.versions[product.versions.length - 1] ?? null;
  const [margin, setMargin] = useState(field(current, 'marginDkkPerKwh'));
  const [subscription, setSubscription] = useState(field(current, 'monthlySubscriptionDkk'));
  const [validFrom, setValidFrom] = useState(today);
  const [message, setMessage] = useState<Outcome | null>(null);
  const id = product.product_id;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const result = await api<{ version: number }>(session, 'POST', '/api/staff/rates/products', {
        product_id: id,
        name: field(current, 'name'),
        margin_dkk_per_kwh: margin,
        monthly_subscription_dkk: subscription,
        valid_from: validFrom,
      });
      setMessage({ ok: true, text: `Saved as version ${result.version}.` });
      onSaved();
    } catch (e) {
      setMessage({ ok: false, text: errorText(e) });
    }
  };
  return (
    <form onSubmit={submit} className="inline" aria-label={`New version of ${id}`}>
      <label htmlFor={`margin-${id}`}>Margin DKK/kWh</label>
      <input id={`margin-${id}`} value={margin} onChange={(e) => setMargin(e.target.value)} inputMode="decimal" required />
      <label htmlFor={`subscription-${id}`}>Subscription DKK/month</label>
      <input id={`subscription-${id}`} value={subscription} onChange={(e) => setSubscription(e.target.value)} inputMode="decimal" required />
      <label htmlFor={`from-${id}`}>Valid from</label>
      <input id={`from-${id}`} type="date" value={validFrom} onChange={(e) => setValidFrom(e.target.value)} required />
      <button type="submit">Save new version</button>
      <OutcomeMessage outcome={message} />
    </form>
  );
}
