import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import {
  BetalingsserviceFormatError,
  readAgreementInformation,
  readPaymentInformation,
  toDeliveryBytes,
  writeCollectionDelivery,
  type AgreementInformation,
  type Collection,
  type Creditor,
  type PaymentInformation,
} from '@dh/betalingsservice';
import { localDateOf } from '@dh/dk-time';
import type { EventStore, JsonObject, JsonValue } from '@dh/event-store';
import { catchUpCutoffFromEnv, startConsumer, type AmqpConnection, type CatchUpCutoff, type RunningConsumer } from '@dh/messaging';
import type { BetalingsserviceSftp } from './sftp-transport';

export const BETALINGSSERVICE_SCHEMA = 'betalingsservice';
export const COLLECTIONS_QUEUE = 'betalingsservice.collections';
const PAGE = 1000;
const APPLY_BATCH = 500;

export async function migrateBetalingsservice(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS betalingsservice;
    CREATE SEQUENCE IF NOT EXISTS betalingsservice.collection_reference MAXVALUE 999999999;
    CREATE TABLE IF NOT EXISTS betalingsservice.collections (
      reference bigint PRIMARY KEY DEFAULT nextval('betalingsservice.collection_reference'), invoice_id uuid NOT NULL UNIQUE, invoice_kind text NOT NULL,
      customer_id text NOT NULL, customer_number text NOT NULL, agreement_number text NOT NULL, amount numeric(18,2) NOT NULL, due_date text NOT NULL,
      deadline text NOT NULL, status text NOT NULL, delivery_id bigint, requested_at timestamptz NOT NULL);
    CREATE INDEX IF NOT EXISTS collections_pending ON betalingsservice.collections (reference) WHERE status = 'pending';
    CREATE INDEX IF NOT EXISTS collections_delivery ON betalingsservice.collections (delivery_id, reference);
    CREATE TABLE IF NOT EXISTS betalingsservice.deliveries (
      delivery_id bigserial PRIMARY KEY, file_name text UNIQUE, created_on text NOT NULL, status text NOT NULL, records int, amount numeric(18,2),
      sha256 text, sent_at timestamptz, error text);
    CREATE TABLE IF NOT EXISTS betalingsservice.inbound_files (
      file_name text PRIMARY KEY, sha256 text NOT NULL, content bytea NOT NULL, received_at timestamptz NOT NULL, delivery_type text, delivery_id text,
      status text NOT NULL, reason text, records int, applied_records int NOT NULL DEFAULT 0, applied_at timestamptz);`);
}

export interface BetalingsserviceWorkerOptions {
  pool: Pool;
  connection: AmqpConnection;
  exchange: string;
  sftp: Pick<BetalingsserviceSftp, 'deliver' | 'listInformation' | 'fetch'>;
  creditor: Creditor;
  clock: () => Date;
  /** A command to settlement (over RabbitMQ request/reply). */
  send: (command: string, payload: JsonValue) => Promise<JsonValue>;
  /**
   * With it, the collections queue catches up from the store on a binding new to it (a fresh deployment): requests
   * published before the queue existed are kept once each (the invoice id is the table's key), delivered by the next
   * `deliver` like any other.
   */
  eventStore?: EventStore;
  /**
   * How far back a catch-up on a binding new to the queue goes (this consumer acts outside: old events are not sent
   * out). Default from the environment, `catchUpCutoffFromEnv` (a day before the binding first appears).
   */
  catchUpCutoff?: CatchUpCutoff;
  /** Deliver and fetch every `intervalMs` (0 = only when called). */
  intervalMs?: number;
  logger?: { log(message: string): void; warn(message: string): void };
}

export interface BetalingsserviceWorker {
  collections: RunningConsumer;
  /** Sends the pending collections whose deadline has not passed as one 0601 delivery; null when none. */
  deliver(): Promise<{ deliveryId: string; fileName: string; records: number; amount: string } | null>;
  /** Fetches new information files, keeps each whole, and applies those that parse (once). */
  fetch(): Promise<InboundResult[]>;
  stop(): Promise<void>;
}

export type InboundResult = { fileName: string; status: 'applied' | 'rejected' | 'duplicate'; reason: string | null; records: number };

/**
 * Betalingsservice on the datahub-integration side (everything that crosses to external systems): collections
 * settlement asks for (`BetalingsserviceCollectionRequested`) are kept with a 9-digit reference; `deliver` builds
 * the 0601 by streaming them from the table (pages of 1,000, never one transaction or one event listing everyone)
 * straight into the SFTP upload, after the intent is committed, and records the outcome; `fetch` keeps each
 * information file whole before reading it, refuses one that does not parse (with the reason, nothing applied),
 * recognises one received before (same content or delivery id: applied once), and applies the rest to settlement
 * in batches, recording progress after each batch so a crash resumes where it stopped.
 */
/** A `BetalingsserviceCollectionRequested` whose data cannot become a collection (no retry mends it). */
export class MalformedCollectionRequestError extends Error {
  override readonly name = 'MalformedCollectionRequestError';
}

const COLLECTION_FIELDS: Record<string, RegExp> = {
  invoiceId: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  invoiceKind: /^.+$/,
  customerId: /^.+$/,
  customerNumber: /^.+$/,
  agreementNumber: /^.+$/,
  amount: /^\d{1,16}(\.\d{1,2})?$/,
  dueDate: /^\d{4}-\d{2}-\d{2}$/,
  deliveryDeadline: /^\d{4}-\d{2}-\d{2}$/,
};

function collectionRequestOf(data: JsonObject): Record<keyof typeof COLLECTION_FIELDS, string> {
  const out: Record<string, string> = {};
  for (const [field, pattern] of Object.entries(COLLECTION_FIELDS)) {
    const value = data[field];
    if (typeof value !== 'string' || !pattern.test(value)) throw new MalformedCollectionRequestError(`BetalingsserviceCollectionRequested data.${field} is missing or malformed`);
    out[field] = value;
  }
  return out;
}

export async function startBetalingsserviceWorker(o: BetalingsserviceWorkerOptions): Promise<BetalingsserviceWorker> {
  await migrateBetalingsservice(o.pool);
  const collections = await startConsumer({
    connection: o.connection,
    pool: o.pool,
    queue: COLLECTIONS_QUEUE,
    bindings: ['payments.betalingsservice-collection-requested'],
    exchange: o.exchange,
    schema: BETALINGSSERVICE_SCHEMA,
    singleActiveConsumer: true,
    ...(o.eventStore ? { eventStore: o.eventStore } : {}),
    catchUpCutoff: o.catchUpCutoff ?? catchUpCutoffFromEnv(process.env, COLLECTIONS_QUEUE),
    onFailure: 'halt',
    // A request it cannot keep (a field missing or malformed) is parked in the DLQ with the reason; the others go on.
    isPoison: (error) => error instanceof MalformedCollectionRequestError,
    handler: async (envelope, tx) => {
      const d = collectionRequestOf(envelope.data);
      await tx.query(
        `INSERT INTO betalingsservice.collections (invoice_id, invoice_kind, customer_id, customer_number, agreement_number, amount, due_date, deadline, status, requested_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'pending',$9) ON CONFLICT (invoice_id) DO NOTHING`,
        [d.invoiceId, d.invoiceKind, d.customerId, d.customerNumber, d.agreementNumber, d.amount, d.dueDate, d.deliveryDeadline, envelope.occurredAt],
      );
    },
  });

  const deliver: BetalingsserviceWorker['deliver'] = async () => {
    const today = localDateOf(o.clock());
    // A delivery built earlier but not confirmed sent is sent again first (same records, same delivery id).
    let delivery = (await o.pool.query<{ delivery_id: string }>(`SELECT delivery_id::text FROM betalingsservice.deliveries WHERE status <> 'sent' ORDER BY delivery_id LIMIT 1`)).rows[0]?.delivery_id;
    if (delivery === undefined) {
      const pending = await o.pool.query(`SELECT 1 FROM betalingsservice.collections WHERE status = 'pending' AND deadline >= $1 LIMIT 1`, [today]);
      if (pending.rowCount === 0) return null;
      delivery = (await o.pool.query<{ delivery_id: string }>(`INSERT INTO betalingsservice.deliveries (created_on, status) VALUES ($1, 'building') RETURNING delivery_id::text`, [today])).rows[0]!.delivery_id;
      // Claim the pending collections page by page (each page its own short transaction).
      for (;;) {
        const claimed = await o.pool.query(
          `UPDATE betalingsservice.collections SET delivery_id = $1, status = 'delivered'
           WHERE reference IN (SELECT reference FROM betalingsservice.collections WHERE status = 'pending' AND deadline >= $2 ORDER BY reference LIMIT ${PAGE} FOR UPDATE SKIP LOCKED)`,
          [delivery, today],
        );
        if ((claimed.rowCount ?? 0) < PAGE) break;
      }
    }
    const id = delivery;
    const createdOn = (await o.pool.query<{ created_on: string }>(`SELECT created_on FROM betalingsservice.deliveries WHERE delivery_id = $1`, [id])).rows[0]!.created_on;
    let records = 0;
    let amountOre = 0n;
    const hash = createHash('sha256');
    const pool = o.pool;
    async function* rows(): AsyncGenerator<Collection> {
      let after = 0;
      for (;;) {
        const page = await pool.query<{ reference: string; customer_number: string; agreement_number: string; due_date: string; amount: string }>(
          `SELECT reference::text, customer_number, agreement_number, due_date, amount::text FROM betalingsservice.collections WHERE delivery_id = $1 AND reference > $2 ORDER BY reference LIMIT ${PAGE}`,
          [id, after],
        );
        for (const r of page.rows) {
          records++;
          const [units, cents] = r.amount.split('.') as [string, string];
          amountOre += BigInt(units) * 100n + BigInt(cents);
          yield { customerNumber: r.customer_number, agreementNumber: r.agreement_number, dueDate: r.due_date, amount: r.amount, reference: r.reference, adviceText: ['Elregning'] };
        }
        if (page.rows.length < PAGE) return;
        after = Number(page.rows[page.rows.length - 1]!.reference);
      }
    }
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const chunk of toDeliveryBytes(writeCollectionDelivery(o.creditor, { deliveryId: id, createdOn }, rows()))) {
        hash.update(chunk);
        yield chunk;
      }
    }
    const fileName = `0601-${id.padStart(10, '0')}.txt`;
    await o.pool.query(`UPDATE betalingsservice.deliveries SET status = 'built', file_name = $2 WHERE delivery_id = $1`, [id, fileName]);
    try {
      await o.sftp.deliver(fileName, Readable.from(hashed()));
    } catch (error) {
      await o.pool.query(`UPDATE betalingsservice.deliveries SET error = $2 WHERE delivery_id = $1`, [id, error instanceof Error ? error.message : String(error)]);
      throw error;
    }
    const amount = `${amountOre / 100n}.${(amountOre % 100n).toString().padStart(2, '0')}`;
    await o.pool.query(`UPDATE betalingsservice.deliveries SET status = 'sent', records = $2, amount = $3, sha256 = $4, sent_at = $5, error = NULL WHERE delivery_id = $1`, [id, records, amount, hash.digest('hex'), o.clock()]);
    o.logger?.log(`Betalingsservice delivery ${fileName}: ${records} collections, ${amount} DKK`);
    return { deliveryId: id, fileName, records, amount };
  };

  const fetch: BetalingsserviceWorker['fetch'] = async () => {
    const names = await o.sftp.listInformation();
    const known = new Set((await o.pool.query<{ file_name: string }>(`SELECT file_name FROM betalingsservice.inbound_files WHERE file_name = ANY($1)`, [names])).rows.map((r) => r.file_name));
    for (const name of names.filter((n) => !known.has(n))) {
      const content = await o.sftp.fetch(name);
      // Kept whole first, whatever it holds.
      await o.pool.query(`INSERT INTO betalingsservice.inbound_files (file_name, sha256, content, received_at, status) VALUES ($1,$2,$3,$4,'received') ON CONFLICT DO NOTHING`, [
        name,
        createHash('sha256').update(content).digest('hex'),
        content,
        o.clock(),
      ]);
    }
    const results: InboundResult[] = [];
    const open = await o.pool.query<{ file_name: string; sha256: string; content: Buffer; applied_records: number }>(
      `SELECT file_name, sha256, content, applied_records FROM betalingsservice.inbound_files WHERE status IN ('received', 'applying') ORDER BY received_at, file_name`,
    );
    for (const f of open.rows) results.push(await applyFile(o, f));
    return results;
  };

  let running: Promise<unknown> | null = null;
  const timer =
    (o.intervalMs ?? 0) > 0
      ? setInterval(() => {
          if (running !== null) return;
          running = deliver()
            .then(() => fetch())
            .catch((error: unknown) => o.logger?.warn(`Betalingsservice exchange failed, will retry: ${error instanceof Error ? error.message : String(error)}`))
            .finally(() => (running = null));
        }, o.intervalMs)
      : null;
  return {
    collections,
    deliver,
    fetch,
    async stop() {
      if (timer) clearInterval(timer);
      await running;
      await collections.stop();
    },
  };
}

const linesOf = (content: Buffer): string[] => content.toString('latin1').split('\n');

async function applyFile(o: BetalingsserviceWorkerOptions, f: { file_name: string; sha256: string; content: Buffer; applied_records: number }): Promise<InboundResult> {
  const finish = async (status: InboundResult['status'], reason: string | null, records: number, type: string | null, deliveryId: string | null): Promise<InboundResult> => {
    await o.pool.query(`UPDATE betalingsservice.inbound_files SET status = $2, reason = $3, records = $4, delivery_type = $5, delivery_id = $6, applied_at = $7 WHERE file_name = $1`, [
      f.file_name,
      status,
      reason,
      records,
      type,
      deliveryId,
      status === 'applied' ? o.clock() : null,
    ]);
    return { fileName: f.file_name, status, reason, records };
  };
  const type = f.content.subarray(16, 20).toString('latin1');
  // First pass: the whole file must parse (and every 0602 reference be one of ours) before anything is applied.
  let deliveryId: string | null = null;
  const payments: PaymentInformation[] = [];
  const agreements: AgreementInformation[] = [];
  try {
    if (type === '0602') {
      for await (const item of readPaymentInformation(linesOf(f.content))) {
        if (item.kind === 'header') deliveryId = item.header.deliveryId;
        else payments.push(item.record);
      }
    } else if (type === '0603') {
      for await (const item of readAgreementInformation(linesOf(f.content))) {
        if (item.kind === 'header') deliveryId = item.header.deliveryId;
        else agreements.push(item.record);
      }
    } else {
      throw new BetalingsserviceFormatError(`not a 0602 or 0603 delivery (delivery type "${type}")`);
    }
  } catch (error) {
    const reason = error instanceof BetalingsserviceFormatError ? error.message : `unreadable: ${error instanceof Error ? error.message : String(error)}`;
    o.logger?.warn(`Betalingsservice file ${f.file_name} refused, nothing applied: ${reason}`);
    return finish('rejected', reason, 0, type, null);
  }
  const twin = (
    await o.pool.query<{ file_name: string }>(
      `SELECT file_name FROM betalingsservice.inbound_files WHERE file_name <> $1 AND status IN ('applied', 'applying') AND (sha256 = $2 OR (delivery_type = $3 AND delivery_id = $4)) LIMIT 1`,
      [f.file_name, f.sha256, type, deliveryId],
    )
  ).rows[0];
  if (twin !== undefined) return finish('duplicate', `the same delivery as ${twin.file_name} (applied once)`, payments.length + agreements.length, type, deliveryId);
  await o.pool.query(`UPDATE betalingsservice.inbound_files SET status = 'applying', delivery_type = $2, delivery_id = $3 WHERE file_name = $1`, [f.file_name, type, deliveryId]);

  if (type === '0603') {
    const changes = agreements.map((a) => ({ change: a.change, customerNumber: a.customerNumber, agreementNumber: a.agreementNumber, startDate: a.startDate, endDate: a.endDate }));
    for (let i = f.applied_records; i < changes.length; i += APPLY_BATCH) {
      await o.send('RecordBetalingsserviceAgreements', { source: '0603', changes: changes.slice(i, i + APPLY_BATCH) });
      await o.pool.query(`UPDATE betalingsservice.inbound_files SET applied_records = $2 WHERE file_name = $1`, [f.file_name, Math.min(changes.length, i + APPLY_BATCH)]);
    }
    return finish('applied', null, changes.length, type, deliveryId);
  }

  const refs = payments.map((p) => p.reference);
  const ours = new Map(
    (await o.pool.query<{ reference: string; invoice_id: string }>(`SELECT reference::text, invoice_id::text FROM betalingsservice.collections WHERE reference = ANY($1::bigint[])`, [refs])).rows.map((r) => [r.reference, r.invoice_id]),
  );
  const unknown = refs.filter((r) => !ours.has(r));
  if (unknown.length > 0) {
    return finish('rejected', `references we never delivered: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}`, payments.length, type, deliveryId);
  }
  const outcomes = payments.map((p) => ({ reference: p.reference, invoiceId: ours.get(p.reference)!, outcome: p.outcome, amount: p.amount, paidAmount: p.paidAmount, dueDate: p.dueDate, paymentDate: p.paymentDate, bookingDate: p.bookingDate }));
  for (let i = f.applied_records; i < outcomes.length; i += APPLY_BATCH) {
    const batch = outcomes.slice(i, i + APPLY_BATCH);
    await o.send('ApplyBetalingsserviceOutcomes', { fileName: f.file_name, outcomes: batch });
    await o.pool.query(`UPDATE betalingsservice.collections c SET status = v.outcome FROM unnest($1::bigint[], $2::text[]) AS v(reference, outcome) WHERE c.reference = v.reference`, [
      batch.map((b) => b.reference),
      batch.map((b) => b.outcome),
    ]);
    await o.pool.query(`UPDATE betalingsservice.inbound_files SET applied_records = $2 WHERE file_name = $1`, [f.file_name, Math.min(outcomes.length, i + APPLY_BATCH)]);
  }
  return finish('applied', null, outcomes.length, type, deliveryId);
}
