import type { PoolClient } from 'pg';
import { addDays, localDayStart } from '@dh/dk-time';
import type { BillingPeriod, Invoice } from '@dh/settlement-domain';
import {
  buildSettlementInput,
  computationInputsOf,
  DEFAULT_RATES_CONFIG,
  withCauses,
  type BuiltInput,
  type CorrectionLineJson,
  type InputChange,
  type MeteredDayRecord,
  type SettlementCopies,
} from '@dh/settlement-application';
import { loadCopies } from './copies';
import type { SettleDeps } from './settle';

type Db = Pick<PoolClient, 'query'>;

/** At most this many source lookups kept per correction job (see `SourceEventLookups`). */
export const SOURCE_LOOKUPS_PER_JOB = 1_000;

/**
 * The price lookups of `sourceEventsOf` kept for one correction job: every invoice of a spot, charge, tax, product or
 * fee job changes on the same few price rows, so the source of each is looked up once per job, not once per note
 * (100,000 invoices of a price area's spot day: one query instead of 100,000). Keyed by the exact query and its
 * parameters (the price area, day and old and new versions of spot prices; the charge id, version, publication and
 * validity of a charge row; ...), so two inputs never share an answer. An answer does not change during a job: the
 * copied price rows are never updated (`applyToCopies` inserts with `ON CONFLICT DO NOTHING`), a charge, tax or
 * product row is asked for by its whole key (with its publication instant), and a version of a day's spot prices is
 * one publication (rates numbers them per day) that the recomputation found copied. Bounded: a job's lookups are
 * those of the price changes its notes carry (its own publication's rows and those of publications copied meanwhile:
 * a handful per job, whatever its number of invoices); the cap (`maxEntries`, oldest dropped first) only guards
 * against a pathological job. A metered day's source is one metering point's (no other note asks for it) and is never
 * kept. One instance per job: `CorrectionJobLookups`.
 */
export class SourceEventLookups {
  private readonly answers = new Map<string, readonly string[]>();
  /** Queries sent to the database (the rest were answered from the cache). */
  queries = 0;

  constructor(readonly maxEntries: number = SOURCE_LOOKUPS_PER_JOB) {}

  get size(): number {
    return this.answers.size;
  }

  async ids(db: Db, sql: string, params: readonly unknown[]): Promise<readonly string[]> {
    const key = JSON.stringify([sql, params]);
    const kept = this.answers.get(key);
    if (kept !== undefined) return kept;
    const answer = await queryEventIds(db, sql, params);
    this.queries++;
    if (this.maxEntries > 0) {
      if (this.answers.size >= this.maxEntries) this.answers.delete(this.answers.keys().next().value!);
      this.answers.set(key, answer);
    }
    return answer;
  }
}

async function queryEventIds(db: Db, sql: string, params: readonly unknown[]): Promise<string[]> {
  return (await db.query<{ event_id: string | null }>(sql, [...params])).rows.flatMap((r) => (r.event_id === null ? [] : [r.event_id]));
}

/**
 * The events that brought the new versions of the inputs that changed a note's lines (`InputChange`s of
 * `causesOfLine`): a metered day's version (`metered_data.event_id`), a day's spot prices, a charge's, the tax's or a
 * product's price row, a fee's price row (the `event_id` of the copied rows). `unmapped` counts the changes whose
 * source is not known: master data (supply, electric heating, production link), a fee's link or VAT class, a row
 * removed, and rows copied before the copies kept their events. With `lookups` (a correction job's), the price rows'
 * sources are asked once per job.
 */
export async function sourceEventsOf(db: Db, changes: readonly InputChange[], lookups?: SourceEventLookups): Promise<{ eventIds: string[]; unmapped: number }> {
  const eventIds: string[] = [];
  let unmapped = 0;
  const found = (ids: readonly string[]) => {
    if (ids.length === 0) unmapped++;
    for (const id of ids) if (!eventIds.includes(id)) eventIds.push(id);
  };
  const ids = (sql: string, params: unknown[]): Promise<readonly string[]> => (lookups === undefined ? queryEventIds(db, sql, params) : lookups.ids(db, sql, params));
  const chargeRow = (chargeId: string, row: { version: number; publishedAt: string; validFrom: string }) =>
    ids(`SELECT event_id::text AS event_id FROM settlement.charge_rows WHERE charge_id = $1 AND version = $2 AND published_at = $3::timestamptz AND valid_from = $4`, [
      chargeId,
      row.version,
      row.publishedAt,
      row.validFrom,
    ]);
  for (const c of changes) {
    switch (c.input) {
      case 'metered-data':
        if (c.new === null) unmapped++;
        else found(await queryEventIds(db, `SELECT event_id::text AS event_id FROM settlement.metered_data WHERE gsrn = $1 AND day = $2 AND version = $3`, [c.gsrn, c.day, c.new.version]));
        break;
      case 'spot-price':
        if (c.new === null) unmapped++;
        else
          found(
            await ids(
              `SELECT DISTINCT event_id::text AS event_id FROM settlement.spot_prices
                WHERE price_area = $1 AND start >= $2 AND start < $3 AND version = ANY($4::int[]) AND NOT (version = ANY($5::int[])) AND event_id IS NOT NULL ORDER BY 1`,
              [c.priceArea, localDayStart(c.day), localDayStart(addDays(c.day, 1)), c.new.versions, c.old?.versions ?? []],
            ),
          );
        break;
      case 'charge-price':
        if (c.new === null) unmapped++;
        else found(await chargeRow(c.new.chargeId, c.new));
        break;
      case 'tax-rate':
        if (c.new === null) unmapped++;
        else found(await ids(`SELECT event_id::text AS event_id FROM settlement.tax_rates WHERE valid_from = $1 AND published_at = $2::timestamptz`, [c.new.validFrom, c.new.publishedAt]));
        break;
      case 'product-price': {
        // `product:<id>:<code>`, or `product:<a>+<b>:<code>` for a period priced with several products.
        const productIds = c.new?.chargeId.split(':')[1]?.split('+') ?? [];
        if (c.new === null || productIds.length === 0) unmapped++;
        else
          found(
            await ids(`SELECT event_id::text AS event_id FROM settlement.products WHERE product_id = ANY($1::text[]) AND valid_from = $2 AND published_at = $3::timestamptz`, [
              productIds,
              c.new.validFrom,
              c.new.publishedAt,
            ]),
          );
        break;
      }
      case 'fee': {
        const o = c.old;
        const n = c.new;
        // A new price row of the fee is its publication; a link (pieces, added, stopped) or VAT class has no copied event.
        const rowChanged = o !== null && n !== null && n.row !== null && (o.row === null || o.row.version !== n.row.version || o.row.publishedAt !== n.row.publishedAt);
        if (rowChanged && n.row !== null) found(await chargeRow(c.chargeId, n.row));
        if (o === null || n === null || o.pieces !== n.pieces || o.vatExempt !== n.vatExempt) unmapped++;
        break;
      }
      default:
        unmapped++;
    }
  }
  return { eventIds, unmapped };
}

/**
 * Whether every metered day of `copies` was received by `knownAt`: then the copies loaded with `meteredKnownAt`
 * (the highest version received by then of each day) hold the same days, as the highest version of each is.
 */
function meteredAllKnownBy(copies: SettlementCopies, knownAt: Date): boolean {
  const known = (days: readonly MeteredDayRecord[] | undefined) => (days ?? []).every((d) => d.receivedAt instanceof Date && d.receivedAt.getTime() <= knownAt.getTime());
  return known(copies.consumption) && known(copies.production) && known(copies.consumptionBeforePeriod) && known(copies.productionBeforePeriod);
}

/**
 * The causation of a correction note: the events of every input that changed its lines, derived from the per-line
 * causes (`withCauses`: the inputs of the invoice as last corrected, computed from what was known then, against
 * those of the recomputation), as dry runs and explanations name them. The trigger (the job's publication, the
 * input event) stays the note's `causationId` when it is among them or when a change has no known source (it may be
 * that change); otherwise — a job whose publication changed none of the note's lines because an overlapping job's
 * input was copied first — the first source found is. `causationIds` lists them all, the `causationId` first.
 *
 * Cost (the correction settled already): the inputs of the recomputation's own input (`built`, not settled again)
 * and of the invoice as last corrected (built from the same copies at its `asOf`, not settled: only its inputs are
 * compared). The copies are loaded again, with the metered data known then, only when a metered day was received
 * after the invoice was last corrected (a metered-data correction); otherwise they hold the same days.
 */
export async function noteCausation(
  deps: SettleDeps,
  db: Db,
  request: {
    triggerEventId: string;
    gsrn: string;
    period: BillingPeriod;
    customerId: string;
    /** The copies the recomputation used and the input it settled (`buildSettlementInput` of them at its prices' instant). */
    copies: SettlementCopies;
    built: BuiltInput;
    /** The invoice as last corrected and when it was (its stream's last event, business time). */
    current: Invoice;
    lastAt: Date;
    lines: readonly CorrectionLineJson[];
  },
  lookups?: SourceEventLookups,
): Promise<{ causationId: string; causationIds: string[] }> {
  const { triggerEventId, gsrn, period, customerId, copies } = request;
  const config = deps.config ?? DEFAULT_RATES_CONFIG;
  const triggerOnly = { causationId: triggerEventId, causationIds: [triggerEventId] };
  const after = computationInputsOf(gsrn, copies, request.built);
  if (after.outcome !== 'used') return triggerOnly;
  const known = meteredAllKnownBy(copies, request.lastAt) ? copies : await loadCopies(db, gsrn, period, { meteredKnownAt: request.lastAt });
  const before = computationInputsOf(gsrn, known, buildSettlementInput(gsrn, period, request.current.asOf, known, config, customerId), known === copies ? { sameMetered: after.inputs } : {});
  if (before.outcome !== 'used') return triggerOnly;
  const changes: InputChange[] = [];
  const seen = new Set<string>();
  for (const line of withCauses(request.lines, before.inputs, after.inputs)) {
    for (const c of line.causes) {
      const key = JSON.stringify(c);
      if (seen.has(key)) continue;
      seen.add(key);
      changes.push(c);
    }
  }
  const { eventIds, unmapped } = await sourceEventsOf(db, changes, lookups);
  const keepTrigger = eventIds.includes(triggerEventId) || unmapped > 0 || eventIds.length === 0;
  const causationId = keepTrigger ? triggerEventId : eventIds[0]!;
  return { causationId, causationIds: [causationId, ...eventIds.filter((id) => id !== causationId)] };
}
