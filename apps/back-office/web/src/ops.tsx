import { useState, type ReactNode } from 'react';
import { api, dkk, when, type JsonObject, type Session } from './api';
import { ACTIONS_COLUMN, Columns, Listing, Loading, OutcomeMessage, useLoad, useOutcome } from './ui';

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
          <Columns names={['Consumer queue', 'Messages', ACTIONS_COLUMN]} />
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
  const { outcome, run } = useOutcome();
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const act = (id: string, action: 'replay' | 'discard') =>
    run(async () => {
      await api(session, 'POST', `/api/staff/ops/dead-letters/${encodeURIComponent(queue)}/messages/${encodeURIComponent(id)}/${action}`, { reason: reasons[id] ?? '' });
      reload();
      onChanged();
      return `Message ${id} ${action === 'replay' ? 'replayed' : 'discarded'}.`;
    });
  return (
    <section aria-labelledby="dlq-messages-heading">
      <h3 id="dlq-messages-heading">Messages in {queue}.dlq</h3>
      <OutcomeMessage outcome={outcome} />
      <Listing rows={data?.messages} error={error} what="the messages" empty="The queue is empty.">
        {(messages) => (
          <ul className="cards">
            {messages.map((m) => (
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
      </Listing>
    </section>
  );
}

function Runs({ session }: { session: Session }): ReactNode {
  const { data, error } = useLoad(() => api<{ runs: JsonObject[] }>(session, 'GET', '/api/staff/ops/settlement-runs?status=all'), 'runs');
  return (
    <section aria-labelledby="runs-heading">
      <h2 id="runs-heading">Settlement runs</h2>
      <Listing rows={data?.runs} error={error} what="the runs" empty="No settlement runs.">
        {(runs) => (
          <table>
            <Columns names={['Period', 'Status', 'Progress', 'Invoiced', 'Halted', 'Started']} />
            <tbody>
              {runs.map((r) => (
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
      </Listing>
    </section>
  );
}

function Halts({ session }: { session: Session }): ReactNode {
  const { data, error } = useLoad(() => api<{ halts: JsonObject[] }>(session, 'GET', '/api/staff/ops/settlement-halts'), 'halts');
  return (
    <section aria-labelledby="halts-heading">
      <h2 id="halts-heading">Halted settlement items</h2>
      <Listing rows={data?.halts} error={error} what="the halted items" empty="No halted items.">
        {(halts) => (
          <table>
            <Columns names={['GSRN', 'Period', 'Reason', 'Detail', 'Halted']} />
            <tbody>
              {halts.map((h) => (
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
      </Listing>
    </section>
  );
}

function Unmatched({ session }: { session: Session }): ReactNode {
  const { data, error, reload } = useLoad(() => api<{ payments: JsonObject[] }>(session, 'GET', '/api/payments/unmatched'), 'unmatched');
  const [invoices, setInvoices] = useState<Record<string, string>>({});
  const { outcome, run } = useOutcome();
  const match = (paymentId: string) =>
    run(async () => {
      await api(session, 'POST', `/api/payments/unmatched/${encodeURIComponent(paymentId)}/match`, { invoice_id: (invoices[paymentId] ?? '').trim() });
      reload();
      return `Payment ${paymentId} matched.`;
    });
  return (
    <section aria-labelledby="unmatched-heading">
      <h2 id="unmatched-heading">Unmatched payments</h2>
      <OutcomeMessage outcome={outcome} />
      <Listing rows={data?.payments} error={error} what="the unmatched payments" empty="No unmatched payments.">
        {(payments) => (
          <table>
            <Columns names={['Payment', 'Reference', 'Amount', 'Paid', 'Why unmatched', 'Match to invoice']} />
            <tbody>
              {payments.map((p) => (
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
      </Listing>
    </section>
  );
}

function Quarantine({ session }: { session: Session }): ReactNode {
  const { data, error, reload } = useLoad(() => api<JsonObject[]>(session, 'GET', '/api/staff/quarantine'), 'quarantine');
  const { outcome, run } = useOutcome();
  const reprocess = (id: number) =>
    run(async () => {
      const result = await api(session, 'POST', `/api/staff/quarantine/${id}/reprocess`);
      reload();
      return `Message ${id} reprocessed: ${String(result.outcome ?? 'done')}.`;
    });
  return (
    <section aria-labelledby="quarantine-heading">
      <h2 id="quarantine-heading">DataHub quarantine</h2>
      <OutcomeMessage outcome={outcome} />
      <Listing rows={data} error={error} what="the quarantine" empty="No quarantined DataHub messages.">
        {(quarantined) => (
          <table>
            <Columns names={['Received', 'Kind', 'Message', 'Reason', 'Attempts', ACTIONS_COLUMN]} />
            <tbody>
              {quarantined.map((q) => (
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
      </Listing>
    </section>
  );
}
