import { useState, type ReactNode } from 'react';
import { api, dkk, when, type JsonObject, type Session } from './api';
import { Loading, useLoad } from './ui';

interface Queue {
  queue: string;
  dead_letter_queue: string;
  consumer: string;
  messages: number | null;
}

interface DeadLetter {
  id: string;
  type: string | null;
  routing_key: string | null;
  failure_reason: string | null;
  failure_count: number | null;
  first_failed_at: string | null;
  body: string;
}

/** Operations: dead-letter queues, halted settlement items, settlement runs, unmatched payments, DataHub quarantine. */
export function OpsPage({ session }: { session: Session }): ReactNode {
  return (
    <>
      <h1>Operations</h1>
      <DeadLetters session={session} />
      <Runs session={session} />
      <Halts session={session} />
      <Unmatched session={session} />
      <Quarantine session={session} />
    </>
  );
}

function DeadLetters({ session }: { session: Session }): ReactNode {
  const { data, error, reload } = useLoad(() => api<{ queues: Queue[] }>(session, 'GET', '/api/staff/ops/dead-letters'), 'dlq');
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="dlq-heading">
      <h2 id="dlq-heading">Dead-letter queues</h2>
      {!data ? (
        <Loading error={error} what="the dead-letter queues" />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Consumer queue</th>
              <th scope="col">Messages</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => (
              <tr key={q.queue}>
                <td>{q.queue}</td>
                <td className="num">{q.messages ?? 'no DLQ'}</td>
                <td>
                  <button type="button" disabled={!q.messages} onClick={() => setOpen(q.queue)} aria-label={`Inspect ${q.queue}`}>
                    Inspect
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <DeadLetterMessages key={open} session={session} queue={open} onChanged={reload} />}
    </section>
  );
}

function DeadLetterMessages({ session, queue, onChanged }: { session: Session; queue: string; onChanged: () => void }): ReactNode {
  const { data, error, reload } = useLoad(() => api<{ messages: DeadLetter[] }>(session, 'GET', `/api/staff/ops/dead-letters/${encodeURIComponent(queue)}/messages`), queue);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const act = async (id: string, action: 'replay' | 'discard') => {
    try {
      await api(session, 'POST', `/api/staff/ops/dead-letters/${encodeURIComponent(queue)}/messages/${encodeURIComponent(id)}/${action}`, { reason: reasons[id] ?? '' });
      setStatus({ ok: true, text: `Message ${id} ${action === 'replay' ? 'replayed' : 'discarded'}.` });
      reload();
      onChanged();
    } catch (e) {
      setStatus({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <section aria-labelledby="dlq-messages-heading">
      <h3 id="dlq-messages-heading">Messages in {queue}.dlq</h3>
      {status && (
        <p role={status.ok ? 'status' : 'alert'} className={status.ok ? 'ok' : 'error'}>
          {status.text}
        </p>
      )}
      {!data ? (
        <Loading error={error} what="the messages" />
      ) : data.messages.length === 0 ? (
        <p>The queue is empty.</p>
      ) : (
        <ul className="cards">
          {data.messages.map((m) => (
            <li key={m.id}>
              <p>
                <strong>{m.type ?? 'unknown type'}</strong> {m.id} ({m.routing_key ?? '–'}), failed {m.failure_count ?? '?'} times since {when(m.first_failed_at)}
              </p>
              <p className="error-text">Reason: {m.failure_reason ?? '–'}</p>
              <details>
                <summary>Message body</summary>
                <pre>{m.body}</pre>
              </details>
              <label htmlFor={`reason-${m.id}`}>Reason for {m.id} (required to discard)</label>
              <input id={`reason-${m.id}`} value={reasons[m.id] ?? ''} onChange={(e) => setReasons({ ...reasons, [m.id]: e.target.value })} maxLength={500} />
              <button type="button" onClick={() => act(m.id, 'replay')} aria-label={`Replay ${m.id}`}>
                Replay
              </button>
              <button type="button" onClick={() => act(m.id, 'discard')} aria-label={`Discard ${m.id}`}>
                Discard
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Runs({ session }: { session: Session }): ReactNode {
  const { data, error } = useLoad(() => api<{ runs: JsonObject[] }>(session, 'GET', '/api/staff/ops/settlement-runs?status=all'), 'runs');
  return (
    <section aria-labelledby="runs-heading">
      <h2 id="runs-heading">Settlement runs</h2>
      {!data ? (
        <Loading error={error} what="the runs" />
      ) : data.runs.length === 0 ? (
        <p>No settlement runs.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Period</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Invoiced</th>
              <th scope="col">Halted</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {data.runs.map((r) => (
              <tr key={String(r.run_id)}>
                <td>{String(r.period)}</td>
                <td>{String(r.status)}</td>
                <td>
                  <progress value={Number(r.items_done)} max={Math.max(1, Number(r.items_total))} aria-label={`Run ${String(r.period)} progress`} /> {String(r.items_done)}/{String(r.items_total)}
                </td>
                <td className="num">{String(r.items_invoiced)}</td>
                <td className="num">{String(r.items_halted)}</td>
                <td>{when(r.started_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Halts({ session }: { session: Session }): ReactNode {
  const { data, error } = useLoad(() => api<{ halts: JsonObject[] }>(session, 'GET', '/api/staff/ops/settlement-halts'), 'halts');
  return (
    <section aria-labelledby="halts-heading">
      <h2 id="halts-heading">Halted settlement items</h2>
      {!data ? (
        <Loading error={error} what="the halted items" />
      ) : data.halts.length === 0 ? (
        <p>No halted items.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">GSRN</th>
              <th scope="col">Period</th>
              <th scope="col">Reason</th>
              <th scope="col">Detail</th>
              <th scope="col">Halted</th>
            </tr>
          </thead>
          <tbody>
            {data.halts.map((h) => (
              <tr key={String(h.event_id)}>
                <td>{String(h.gsrn)}</td>
                <td>{String(h.period)}</td>
                <td>{String(h.reason)}</td>
                <td>
                  <code>{JSON.stringify(h.detail)}</code>
                </td>
                <td>{when(h.halted_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Unmatched({ session }: { session: Session }): ReactNode {
  const { data, error, reload } = useLoad(() => api<{ payments: JsonObject[] }>(session, 'GET', '/api/payments/unmatched'), 'unmatched');
  const [invoices, setInvoices] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const match = async (paymentId: string) => {
    try {
      await api(session, 'POST', `/api/payments/unmatched/${encodeURIComponent(paymentId)}/match`, { invoice_id: (invoices[paymentId] ?? '').trim() });
      setStatus({ ok: true, text: `Payment ${paymentId} matched.` });
      reload();
    } catch (e) {
      setStatus({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <section aria-labelledby="unmatched-heading">
      <h2 id="unmatched-heading">Unmatched payments</h2>
      {status && (
        <p role={status.ok ? 'status' : 'alert'} className={status.ok ? 'ok' : 'error'}>
          {status.text}
        </p>
      )}
      {!data ? (
        <Loading error={error} what="the unmatched payments" />
      ) : data.payments.length === 0 ? (
        <p>No unmatched payments.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Payment</th>
              <th scope="col">Reference</th>
              <th scope="col">Amount</th>
              <th scope="col">Paid</th>
              <th scope="col">Why unmatched</th>
              <th scope="col">Match to invoice</th>
            </tr>
          </thead>
          <tbody>
            {data.payments.map((p) => (
              <tr key={String(p.payment_id)}>
                <td>{String(p.payment_id)}</td>
                <td>{String(p.reference ?? '–')}</td>
                <td className="num">{dkk(p.amount)}</td>
                <td>{when(p.paid_at)}</td>
                <td>{String(p.reason ?? '–')}</td>
                <td>
                  <label htmlFor={`match-${String(p.payment_id)}`} className="visually-hidden">
                    Invoice id for payment {String(p.payment_id)}
                  </label>
                  <input id={`match-${String(p.payment_id)}`} value={invoices[String(p.payment_id)] ?? ''} onChange={(e) => setInvoices({ ...invoices, [String(p.payment_id)]: e.target.value })} size={38} />
                  <button type="button" onClick={() => match(String(p.payment_id))}>
                    Match
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Quarantine({ session }: { session: Session }): ReactNode {
  const { data, error, reload } = useLoad(() => api<JsonObject[]>(session, 'GET', '/api/staff/quarantine'), 'quarantine');
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const reprocess = async (id: number) => {
    try {
      const result = await api(session, 'POST', `/api/staff/quarantine/${id}/reprocess`);
      setStatus({ ok: true, text: `Message ${id} reprocessed: ${String(result.outcome ?? 'done')}.` });
      reload();
    } catch (e) {
      setStatus({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <section aria-labelledby="quarantine-heading">
      <h2 id="quarantine-heading">DataHub quarantine</h2>
      {status && (
        <p role={status.ok ? 'status' : 'alert'} className={status.ok ? 'ok' : 'error'}>
          {status.text}
        </p>
      )}
      {!data ? (
        <Loading error={error} what="the quarantine" />
      ) : data.length === 0 ? (
        <p>No quarantined DataHub messages.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Kind</th>
              <th scope="col">Message</th>
              <th scope="col">Reason</th>
              <th scope="col">Attempts</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.map((q) => (
              <tr key={String(q.id)}>
                <td>{when(q.receivedAt)}</td>
                <td>{String(q.category ?? '–')}</td>
                <td>{String(q.messageId ?? '–')}</td>
                <td>{String(q.reason ?? '–')}</td>
                <td className="num">{String(q.attempts ?? 0)}</td>
                <td>
                  <button type="button" onClick={() => reprocess(Number(q.id))} aria-label={`Reprocess quarantined message ${String(q.id)}`}>
                    Reprocess
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
