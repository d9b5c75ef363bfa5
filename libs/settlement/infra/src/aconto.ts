import type { PoolClient } from 'pg';
import { localDateOf, compareLocalDates } from '@dh/dk-time';
import { WrongExpectedRevisionError, type EventMetadata, type EventStore } from '@dh/event-store';
import type { EventEnvelope } from '@dh/messaging';
import {
  acontoInvoiceIdOf,
  acontoInvoiceStreamId,
  closesQuarter,
  dataOf,
  lastMonthOf,
  monthBefore,
  nameBasedUuid,
  nextQuarterOf,
  periodLabel,
  planAcontoInvoice,
  quarterContaining,
  quarterOf,
  settlementMetadata,
  toJsonObject,
  type AcontoInvoiceIssued,
  type Month,
  type Quarter,
  type SettlementRatesConfig,
  type SupplyRecord,
} from '@dh/settlement-application';
import type { BillingPeriod } from '@dh/settlement-domain';
import { isCopyable, loadCopies, loadExpectedConsumption, loadSupplies } from './copies';

type Db = Pick<PoolClient, 'query'>;

export interface AcontoDeps {
  store: EventStore;
  config?: SettlementRatesConfig;
}

export type AcontoOutcome = { outcome: 'issued'; invoice: AcontoInvoiceIssued } | { outcome: 'exists'; acontoInvoiceId: string } | { outcome: 'skipped'; reason: string };

/** The aconto supply of a metering point: the latest one not reversed, if its payment model is aconto. */
export function acontoSupplyOf(supplies: readonly SupplyRecord[]): SupplyRecord | null {
  const latest = supplies.filter((s) => !s.reversed).sort((a, b) => compareLocalDates(b.startDate, a.startDate))[0];
  return latest !== undefined && latest.paymentModel === 'aconto' ? latest : null;
}

/**
 * Issues the aconto invoice of one quarter on its own stream `aconto-invoice-<id>` (id stable per GSRN
 * and quarter; the first append wins, so a redelivery or a second trigger issues nothing).
 */
export async function issueAcontoInvoice(
  deps: AcontoDeps,
  db: Db,
  a: { gsrn: string; supply: SupplyRecord; quarter: Quarter; referenceMonth: Month; asOf: Date; trigger: AcontoInvoiceIssued['trigger']; settledPeriod: string | null; metadata: EventMetadata; now: Date },
): Promise<AcontoOutcome> {
  const acontoInvoiceId = acontoInvoiceIdOf(a.gsrn, periodLabel(a.quarter));
  const streamId = acontoInvoiceStreamId(acontoInvoiceId);
  if ((await deps.store.readStream(streamId)).some((e) => e.type === 'AcontoInvoiceIssued')) return { outcome: 'exists', acontoInvoiceId };
  const expectedAnnualKwh = await loadExpectedConsumption(db, a.gsrn);
  if (expectedAnnualKwh === null) return { outcome: 'skipped', reason: `no expected annual consumption for ${a.gsrn}` };
  const copies = await loadCopies(db, a.gsrn, a.referenceMonth);
  const plan = planAcontoInvoice({
    gsrn: a.gsrn,
    quarter: a.quarter,
    referenceMonth: a.referenceMonth,
    supply: a.supply,
    expectedAnnualKwh,
    copies,
    asOf: a.asOf,
    trigger: a.trigger,
    settledPeriod: a.settledPeriod,
    ...(deps.config ? { config: deps.config } : {}),
  });
  if (!plan.ok) return { outcome: 'skipped', reason: plan.problem };
  try {
    await deps.store.appendToStream(
      streamId,
      [{ eventId: nameBasedUuid('aconto-invoice-issued', acontoInvoiceId), type: 'AcontoInvoiceIssued', data: toJsonObject(plan.invoice), metadata: a.metadata, occurredAt: a.now }],
      { expectedRevision: 'no_stream' },
    );
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError) return { outcome: 'exists', acontoInvoiceId };
    throw error;
  }
  return { outcome: 'issued', invoice: plan.invoice };
}

/**
 * The first aconto invoice: when an aconto supply's `SupplyStarted` or the metering point's
 * `ExpectedConsumptionSet` arrives (whichever comes second completes the basis), for the quarter
 * containing the later of the supply start and the event's business date; reference month = the
 * month before that date. Prices as known when the event occurred.
 */
export async function onAcontoInput(deps: AcontoDeps, envelope: EventEnvelope, tx: Db): Promise<AcontoOutcome | null> {
  if (envelope.type !== 'SupplyStarted' && envelope.type !== 'ExpectedConsumptionSet') return null;
  if (!isCopyable(envelope)) return null;
  const gsrn = dataOf<{ gsrn: string }>(envelope.data).gsrn;
  const supply = acontoSupplyOf(await loadSupplies(tx, gsrn));
  if (supply === null) return null;
  const occurred = localDateOf(new Date(envelope.occurredAt));
  if (supply.endDate !== null && compareLocalDates(supply.endDate, occurred) <= 0) return null;
  const basisDate = compareLocalDates(supply.startDate, occurred) >= 0 ? supply.startDate : occurred;
  return issueAcontoInvoice(deps, tx, {
    gsrn,
    supply,
    quarter: quarterOf(basisDate),
    referenceMonth: monthBefore(basisDate),
    asOf: new Date(envelope.occurredAt),
    trigger: 'supply-started',
    settledPeriod: null,
    metadata: settlementMetadata({ correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, actor: 'settlement-aconto' }),
    now: new Date(envelope.occurredAt),
  });
}

/**
 * After the invoice that closes a quarter (a quarterly invoice, or a monthly one for the quarter's
 * last month) of an aconto supply: the next quarter's estimate, recalculated with the settled
 * period's last month as the reference month and the latest expected annual consumption.
 */
export async function afterAcontoSettlement(
  deps: AcontoDeps,
  tx: Db,
  a: { gsrn: string; period: BillingPeriod; asOf: Date; metadata: EventMetadata; now: Date },
): Promise<AcontoOutcome | null> {
  if (!closesQuarter(a.period)) return null;
  const supply = acontoSupplyOf(await loadSupplies(tx, a.gsrn));
  if (supply === null) return null;
  return issueAcontoInvoice(deps, tx, {
    gsrn: a.gsrn,
    supply,
    quarter: nextQuarterOf(quarterContaining(a.period)),
    referenceMonth: lastMonthOf(a.period),
    asOf: a.asOf,
    trigger: 'settlement',
    settledPeriod: periodLabel(a.period),
    metadata: a.metadata,
    now: a.now,
  });
}
