import { useState, type FormEvent, type ReactNode } from 'react';
import { api, dkk, when, type JsonObject, type Session } from './api';
import { Columns, errorText, Loading, OutcomeMessage, useLoad, type Outcome } from './ui';

interface EventView {
  event_id: string;
  type: string;
  stream_id: string;
  revision: number;
  recorded_at: string;
  occurred_at: string;
  actor: string;
  causation_id: string | null;
  data: JsonObject;
}

interface InvoiceThen {
  stream_id: string;
  status: string;
  period: string | null;
  total_incl_vat: string | null;
  notes: number;
}

interface CustomerData {
  customer: JsonObject;
  contracts: JsonObject[];
  invoices: JsonObject[];
  notes: JsonObject[];
}

/** `datetime-local` value (the browser's local time) ↔ an instant. */
const toLocalInput = (d: Date): string => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 23);
const fromLocalInput = (v: string): Date => new Date(v);

const streamLabel = (id: string): string => id.replace(/^(customer-erasure|customer|metering-point|aconto-invoice|invoice|process|payment)-.*/, '$1');

/**
 * One customer: the record, supplies, invoices and payments, and the timeline of every stream that
 * belongs to the customer (customer, metering points, invoices) as of a moment: events recorded after
 * it are not shown, as if looking at the system then.
 */
export function CustomerPage({ session, customerId }: { session: Session; customerId: string }): ReactNode {
  const q = `customer_id=${encodeURIComponent(customerId)}`;
  const { data, error, reload } = useLoad<CustomerData>(async () => {
    const [customer, contract, invoices] = await Promise.all([
      api(session, 'GET', `/api/customers/${customerId}`),
      api<{ contracts: JsonObject[] }>(session, 'GET', `/api/portal/contract?${q}`),
      api<{ invoices: JsonObject[]; notes: JsonObject[] }>(session, 'GET', `/api/portal/invoices?${q}`),
    ]);
    return { customer, contracts: contract.contracts, invoices: invoices.invoices, notes: invoices.notes };
  }, customerId);
  const [saved, setSaved] = useState(0);
  if (!data) return <Loading error={error} what="the customer" />;
  const c = data.customer;
  const address = c.address as JsonObject | null;
  return (
    <>
      <h1>{String(c.customer_name ?? '(no name)')}</h1>
      <dl className="facts">
        <dt>Customer id</dt>
        <dd>{customerId}</dd>
        <dt>Type</dt>
        <dd>{String(c.customer_type)}</dd>
        <dt>Status</dt>
        <dd>{String(c.status)}</dd>
        <dt>CPR/CVR</dt>
        <dd>{String(c.cpr ?? c.cvr ?? '–')}</dd>
        <dt>E-mail</dt>
        <dd>{String(c.email ?? '–')}</dd>
        <dt>Phone</dt>
        <dd>{String(c.phone ?? '–')}</dd>
        <dt>Address</dt>
        <dd>{address && address.street ? `${String(address.street)}, ${String(address.postcode ?? '')} ${String(address.city ?? '')}` : '–'}</dd>
      </dl>
      {c.placeholder === true && <p className="warning">Received by forced switch (BRS-044): name and CPR/CVR are still missing. CRM completes the record.</p>}
      <h2>Supplies</h2>
      <table>
        <Columns names={['GSRN', 'Product', 'Supply', 'Billing']} />
        <tbody>
          {data.contracts.map((k) => {
            const supply = k.supply as JsonObject;
            const product = k.product as JsonObject;
            return (
              <tr key={String(k.gsrn)}>
                <td>{String(k.gsrn)}</td>
                <td>{String(product.name ?? product.product_id ?? '–')}</td>
                <td>
                  {String(supply.status)} from {String(supply.start ?? '–')}
                  {supply.end ? ` to ${String(supply.end)}` : ''}
                </td>
                <td>
                  {String(k.billing_frequency)}, {String(k.payment_model)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Invoices</h2>
      <table>
        <Columns names={['Invoice', 'Period', 'Total incl. VAT', 'Paid', 'Correction notes']} />
        <tbody>
          {data.invoices.map((i) => {
            const notes = data.notes.filter((n) => n.invoice_id === i.invoice_id);
            return (
              <tr key={String(i.invoice_id)}>
                <td>
                  <a href={`#/invoices/${String(i.invoice_id)}`}>Explain invoice {String(i.period)}</a>
                </td>
                <td>
                  {String(i.period_start)} – {String(i.period_end)}
                </td>
                <td className="num">{dkk(i.total_incl_vat)}</td>
                <td className="num">{dkk(i.paid)}</td>
                <td>{notes.length === 0 ? 'none' : notes.map((n) => `${String(n.note_type)} ${dkk(n.total_incl_vat)}`).join('; ')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <ContactDetails
        session={session}
        customerId={customerId}
        customer={c}
        onSaved={() => {
          reload();
          setSaved((n) => n + 1);
        }}
      />
      <Timeline session={session} customerId={customerId} refresh={saved} />
    </>
  );
}

function Timeline({ session, customerId, refresh }: { session: Session; customerId: string; refresh: number }): ReactNode {
  const [asOf, setAsOf] = useState<Date | null>(null);
  const key = `${customerId}@${asOf?.toISOString() ?? 'now'}#${refresh}`;
  // One request: the gateway reads every stream of the customer and folds the invoices as of the moment.
  const loaded = useLoad<{ events: EventView[]; invoices: InvoiceThen[]; truncated: boolean }>(
    () => api(session, 'GET', `/api/staff/customers/${customerId}/timeline${asOf ? `?as_of=${encodeURIComponent(asOf.toISOString())}` : ''}`),
    key,
  );
  const data = loaded.data?.events ?? null;
  const error = loaded.error;
  const last = data && data.length > 0 ? data[data.length - 1]! : null;
  return (
    <section aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline {asOf ? `as of ${when(asOf.toISOString())}` : '(now)'}</h2>
      <div className="inline">
        <label htmlFor="as-of">As of</label>
        <input
          id="as-of"
          type="datetime-local"
          step="0.001"
          value={asOf ? toLocalInput(asOf) : ''}
          onChange={(e) => setAsOf(e.target.value ? fromLocalInput(e.target.value) : null)}
        />
        <button type="button" disabled={!last} onClick={() => last && setAsOf(new Date(new Date(last.recorded_at).getTime() - 1))}>
          Step back one event
        </button>
        <button type="button" disabled={!asOf} onClick={() => setAsOf(null)}>
          Now
        </button>
      </div>
      {loaded.data && loaded.data.invoices.length > 0 && (
        <table>
          <caption>Invoices {asOf ? 'as they stood then' : 'now'}</caption>
          <Columns names={['Period', 'Status', 'Total incl. VAT', 'Correction notes']} />
          <tbody>
            {loaded.data.invoices.map((i) => (
              <tr key={i.stream_id} data-invoice={i.stream_id}>
                <td>{i.period ?? '–'}</td>
                <td>{i.status === 'none' ? 'not issued yet' : i.status}</td>
                <td className="num">{dkk(i.total_incl_vat)}</td>
                <td className="num" data-notes={i.notes}>
                  {i.notes}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loaded.data?.truncated && <p className="warning">Only the latest 2,000 events are shown.</p>}
      {!data ? (
        <Loading error={error} what="the timeline" />
      ) : (
        <ol className="timeline" aria-label="Events">
          {data.map((e) => (
            <li key={e.event_id} data-type={e.type}>
              <time dateTime={e.recorded_at}>{when(e.recorded_at)}</time> <strong>{e.type}</strong> <span className="muted">({streamLabel(e.stream_id)}, by {e.actor})</span>
            </li>
          ))}
          {data.length === 0 && <li>Nothing was recorded by then.</li>}
        </ol>
      )}
    </section>
  );
}

const CONTACT_FIELDS: [field: string, label: string][] = [
  ['customer_name', 'Name'],
  ['email', 'E-mail'],
  ['phone', 'Phone'],
  ['street', 'Street and number'],
  ['postcode', 'Postcode'],
  ['city', 'City'],
];

/**
 * Contact details (PATCH /api/customers/{id}: admin, or CRM) and, for a customer received by forced
 * switch without a CPR/CVR, the completion with name and CPR/CVR (POST /api/customers/{id}/identity).
 */
function ContactDetails({ session, customerId, customer, onSaved }: { session: Session; customerId: string; customer: JsonObject; onSaved: () => void }): ReactNode {
  const address = (customer.address ?? {}) as JsonObject;
  const initial: Record<string, string> = {
    customer_name: String(customer.customer_name ?? ''),
    email: String(customer.email ?? ''),
    phone: String(customer.phone ?? ''),
    street: String(address.street ?? ''),
    postcode: String(address.postcode ?? ''),
    city: String(address.city ?? ''),
  };
  const [values, setValues] = useState(initial);
  const [identity, setIdentity] = useState({ customer_type: 'private', number: '' });
  const [message, setMessage] = useState<Outcome | null>(null);
  const placeholder = customer.placeholder === true;
  const changes = (): Record<string, string | null> => {
    const body: Record<string, string | null> = {};
    for (const [field] of CONTACT_FIELDS) if (values[field] !== initial[field]) body[field] = values[field]!.trim() === '' ? null : values[field]!.trim();
    return body;
  };
  /** The customer record is a read model: wait (a few seconds at most) until it shows what was saved. */
  const untilShown = async () => {
    for (let i = 0; i < 20; i++) {
      const now = await api(session, 'GET', `/api/customers/${customerId}`);
      const a = (now.address ?? {}) as JsonObject;
      const shown: Record<string, string> = { customer_name: String(now.customer_name ?? ''), email: String(now.email ?? ''), phone: String(now.phone ?? ''), street: String(a.street ?? ''), postcode: String(a.postcode ?? ''), city: String(a.city ?? '') };
      if (CONTACT_FIELDS.every(([field]) => shown[field] === values[field]!.trim()) && (!placeholder || now.placeholder === false)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      if (placeholder) {
        const { customer_type, number } = identity;
        await api(session, 'POST', `/api/customers/${customerId}/identity`, { ...changes(), customer_name: values.customer_name, customer_type, ...(customer_type === 'private' ? { cpr: number } : { cvr: number }) });
        setMessage({ ok: true, text: 'The customer was completed.' });
      } else {
        const result = await api<{ changed: string[] }>(session, 'PATCH', `/api/customers/${customerId}`, changes());
        setMessage({ ok: true, text: result.changed.length === 0 ? 'Nothing changed.' : `Changed: ${result.changed.join(', ')}.` });
      }
      await untilShown();
      onSaved();
    } catch (e) {
      setMessage({ ok: false, text: errorText(e) });
    }
  };
  return (
    <details className="edit">
      <summary>{placeholder ? 'Complete this forced-switch customer' : 'Change contact details'}</summary>
      <form onSubmit={submit} aria-label={placeholder ? 'Complete the customer' : 'Contact details'}>
        {CONTACT_FIELDS.map(([field, label]) => (
          <div key={field}>
            <label htmlFor={`contact-${field}`}>{label}</label>
            <input id={`contact-${field}`} value={values[field]} onChange={(e) => setValues({ ...values, [field]: e.target.value })} required={field === 'customer_name'} />
          </div>
        ))}
        {placeholder && (
          <>
            <label htmlFor="identity-type">Customer type</label>
            <select id="identity-type" value={identity.customer_type} onChange={(e) => setIdentity({ ...identity, customer_type: e.target.value })}>
              <option value="private">Private (CPR)</option>
              <option value="business">Business (CVR)</option>
            </select>
            <label htmlFor="identity-number">{identity.customer_type === 'private' ? 'CPR number' : 'CVR number'}</label>
            <input id="identity-number" value={identity.number} onChange={(e) => setIdentity({ ...identity, number: e.target.value })} required autoComplete="off" />
          </>
        )}
        <button type="submit">{placeholder ? 'Complete customer' : 'Save contact details'}</button>
        <OutcomeMessage outcome={message} />
      </form>
    </details>
  );
}
