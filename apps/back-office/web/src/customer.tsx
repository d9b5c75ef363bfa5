import { useState, type ReactNode } from 'react';
import { api, dkk, when, type JsonObject, type Session } from './api';
import { Loading, useLoad } from './ui';

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

interface CustomerData {
  customer: JsonObject;
  contracts: JsonObject[];
  invoices: JsonObject[];
  notes: JsonObject[];
}

/** `datetime-local` value (the browser's local time) ↔ an instant. */
const toLocalInput = (d: Date): string => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 23);
const fromLocalInput = (v: string): Date => new Date(v);

const streamLabel = (id: string): string => id.replace(/^(customer|metering-point|invoice|process)-.*/, '$1');

/**
 * One customer: the record, supplies, invoices and payments, and the timeline of every stream that
 * belongs to the customer (customer, metering points, invoices) as of a moment: events recorded after
 * it are not shown, as if looking at the system then.
 */
export function CustomerPage({ session, customerId }: { session: Session; customerId: string }): ReactNode {
  const q = `customer_id=${encodeURIComponent(customerId)}`;
  const { data, error } = useLoad<CustomerData>(async () => {
    const [customer, contract, invoices] = await Promise.all([
      api(session, 'GET', `/api/customers/${customerId}`),
      api<{ contracts: JsonObject[] }>(session, 'GET', `/api/portal/contract?${q}`),
      api<{ invoices: JsonObject[]; notes: JsonObject[] }>(session, 'GET', `/api/portal/invoices?${q}`),
    ]);
    return { customer, contracts: contract.contracts, invoices: invoices.invoices, notes: invoices.notes };
  }, customerId);
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
        <thead>
          <tr>
            <th scope="col">GSRN</th>
            <th scope="col">Product</th>
            <th scope="col">Supply</th>
            <th scope="col">Billing</th>
          </tr>
        </thead>
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
        <thead>
          <tr>
            <th scope="col">Invoice</th>
            <th scope="col">Period</th>
            <th scope="col">Total incl. VAT</th>
            <th scope="col">Paid</th>
            <th scope="col">Correction notes</th>
          </tr>
        </thead>
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
      <Timeline session={session} streams={[`customer-${customerId}`, ...data.contracts.map((k) => `metering-point-${String(k.gsrn)}`), ...data.invoices.map((i) => `invoice-${String(i.invoice_id)}`)]} />
    </>
  );
}

function Timeline({ session, streams }: { session: Session; streams: string[] }): ReactNode {
  const [asOf, setAsOf] = useState<Date | null>(null);
  const key = `${streams.join(',')}@${asOf?.toISOString() ?? 'now'}`;
  const { data, error } = useLoad<EventView[]>(async () => {
    const param = asOf ? `&as_of=${encodeURIComponent(asOf.toISOString())}` : '';
    const pages = await Promise.all(streams.map((s) => api<{ events: EventView[] }>(session, 'GET', `/api/staff/streams/${encodeURIComponent(s)}/events?limit=500${param}`)));
    return pages.flatMap((p) => p.events).sort((a, b) => a.recorded_at.localeCompare(b.recorded_at) || a.stream_id.localeCompare(b.stream_id) || a.revision - b.revision);
  }, key);
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
