import { randomUUID } from 'node:crypto';
import { handleCommand, type EventMetadata } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { customerDecider, customerStreamId, meteringPointDecider, meteringPointStreamId, processDecider, processStreamId, type SupplyTerms } from '@dh/portfolio-domain';
import { invoiceIdOf } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import type { BackOfficeStack } from './stack';

export const N1_GLN = '5790001089030';
export const GRID_AREA = '804';
export const OCTOBER = { kind: 'month', year: 2026, month: 10 } as const;

export interface DisputedCustomer {
  customerId: string;
  name: string;
  cpr: string;
  gsrn: string;
  processId: string;
  invoiceId: string;
  noteId: string;
  /** An instant after the invoice was issued and before the correction note: "as of" shows no note. */
  beforeCorrection: Date;
}

const gsrn = (n: number): string => {
  const body = `57131318040${String(n).padStart(6, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};

/** Rates as the back office sets them up: October 2026 spot prices and the price lists from Energi Data Service, tax, a product, grid area 804. */
export async function seedRates(stack: BackOfficeStack): Promise<void> {
  const c = stack.commands;
  await c.send('rates', 'IngestSpotPrices', { priceArea: 'DK1', from: '2026-10-01', to: '2026-11-01' });
  await c.send('rates', 'IngestCharges', { from: '2025-01-01', to: '2027-01-01' });
  await c.send('rates', 'SetElectricityTaxRate', { validFrom: '2026-01-01', validTo: '2028-01-01', normalDkkPerKwh: '0.008', reducedDkkPerKwh: '0.008' });
  await c.send('rates', 'DefineProduct', { productId: 'standard', name: 'Standard spot', marginDkkPerKwh: '0.0495', monthlySubscriptionDkk: '29.00', validFrom: '2026-01-01' });
  await c.send('rates', 'MapGridArea', { gridArea: GRID_AREA, priceArea: 'DK1', gridCompanyGln: N1_GLN, gridTariffChargeId: `${N1_GLN}:D03:CD`, gridSubscriptionChargeId: `${N1_GLN}:D01:CD` });
}

/**
 * A customer onboarded by CRM (through the gateway), switched to us from 2026-10-01 (the portfolio
 * streams written with the portfolio deciders, as the process manager writes them after DataHub's
 * answers), a month of hourly metered data, the October invoice, and a debit note after Energi Data
 * Service corrected one spot price: a customer with a dispute to look into.
 */
export async function seedDisputedCustomer(stack: BackOfficeStack, n = 1, name = 'Anna Hansen', cpr = '0101901234'): Promise<DisputedCustomer> {
  const created = await fetch(`${stack.gatewayUrl}/api/customers`, {
    method: 'POST',
    headers: { ...stack.crm, 'content-type': 'application/json' },
    body: JSON.stringify({ customer_name: name, email: `${name.split(' ')[0]!.toLowerCase()}@example.dk`, phone: '+4512345678', customer_type: 'private', cpr }),
  });
  if (created.status !== 201) throw new Error(`POST /api/customers -> ${created.status} ${await created.text()}`);
  const customerId = ((await created.json()) as { id: string }).id;
  const point = gsrn(n);
  const processId = randomUUID();
  const terms: SupplyTerms = { productId: 'standard', billingFrequency: 'monthly', paymentModel: 'actual' };
  const correlationId = randomUUID();
  const metadata: EventMetadata = { correlationId, causationId: null, actor: 'process-manager', schemaVersion: 1, context: 'portfolio' };
  const requested = new Date('2026-09-20T10:00:00Z');
  const effective = new Date('2026-10-01T06:00:00Z');
  const store = stack.store;
  const process = (command: Parameters<typeof processDecider.decide>[0], now: Date) => handleCommand({ store, streamId: processStreamId(processId), decider: processDecider, command, metadata, now });
  await process({ type: 'RequestChangeOfSupplier', data: { processId, gsrn: point, customerId, effectiveDate: '2026-10-01', now: requested, supplyTerms: terms } }, requested);
  await process({ type: 'MarkRequestSent', data: { processId, messageId: `rsm-001-${n}`, now: requested } }, requested);
  await process({ type: 'RecordDataHubAcceptance', data: { processId, dataHubMessageId: `rsm-009-${n}`, now: requested } }, requested);
  await handleCommand({
    store,
    streamId: meteringPointStreamId(point),
    decider: meteringPointDecider,
    command: { type: 'RegisterMeteringPoint', data: { gsrn: point, type: 'E17', settlementMethod: 'D01', gridArea: GRID_AREA, priceArea: 'DK1', linkedProductionGsrn: null, source: 'eloverblik', now: requested } },
    metadata,
    now: requested,
  });
  await process({ type: 'ConfirmEffective', data: { processId, now: effective } }, effective);
  await handleCommand({
    store,
    streamId: meteringPointStreamId(point),
    decider: meteringPointDecider,
    command: { type: 'StartSupply', data: { gsrn: point, processId, customerId, startDate: '2026-10-01', now: effective, terms } },
    metadata,
    now: effective,
  });
  await handleCommand({ store, streamId: customerStreamId(customerId), decider: customerDecider, command: { type: 'ActivateCustomer', data: { customerId, gsrn: point, effectiveDate: '2026-10-01' } }, metadata, now: effective });

  // A month of hourly data from DataHub: 0.5 kWh an hour, one hour estimated (A03).
  const start = new Date('2026-09-30T22:00:00Z');
  const hours = (new Date('2026-10-31T23:00:00Z').getTime() - start.getTime()) / 3_600_000;
  await stack.commands.send('settlement', 'RecordMeteredData', {
    gsrn: point,
    documentId: `rsm-012-${n}-2026-10`,
    receivedAt: '2026-11-01T08:00:00Z',
    resolution: 'PT1H',
    start: start.toISOString(),
    end: '2026-10-31T23:00:00.000Z',
    points: Array.from({ length: hours }, (_, i) => ({ position: i + 1, quantityKwh: '0.500', quality: i === 200 ? 'A03' : 'A04' })),
  });
  await eventually(async () => {
    const { rows } = await stack.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM settlement.metered_data WHERE gsrn = $1`, [point]);
    const supplies = await stack.pool.query(`SELECT 1 FROM settlement.supplies WHERE gsrn = $1`, [point]);
    expectTrue(rows[0]!.n === '31' && supplies.rowCount === 1, `settlement has not copied ${point} yet`);
  }, 60_000, 200);
  return { customerId, name, cpr, gsrn: point, processId, invoiceId: invoiceIdOf(point, OCTOBER, customerId), noteId: '', beforeCorrection: new Date(0) };
}

function expectTrue(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Settles October 2026 (through the gateway, as an operator) and waits for the invoices of the given customers. */
export async function settleOctober(stack: BackOfficeStack, customers: DisputedCustomer[]): Promise<void> {
  const res = await fetch(`${stack.gatewayUrl}/api/settlement/runs`, { method: 'POST', headers: { ...(await stack.staff('admin')), 'content-type': 'application/json' }, body: JSON.stringify({ period: '2026-10' }) });
  if (res.status !== 202) throw new Error(`POST /api/settlement/runs -> ${res.status} ${await res.text()}`);
  await eventually(async () => {
    const { rowCount } = await stack.pool.query(`SELECT 1 FROM read_models.settlement_invoices WHERE invoice_id = ANY($1)`, [customers.map((c) => c.invoiceId)]);
    expectTrue(rowCount === customers.length, 'invoices not projected yet');
  }, 90_000, 250);
  // The rates seeded before the run left correction jobs (one per publication) that may still be paging when the
  // invoices are issued. A job recomputes an invoice from every input known at that moment, so one still pending
  // when the spot price is corrected would issue the note under its own cause. Scenes that trace a note to its cause
  // start once those jobs are done.
  await eventually(async () => {
    const { rows } = await stack.pool.query<{ waiting: number }>(`SELECT count(*)::int AS waiting FROM settlement.correction_jobs WHERE NOT done`);
    expectTrue(rows[0]!.waiting === 0, 'correction jobs of the seeded rates still waiting');
  }, 60_000, 250);
}

/** Energi Data Service corrects one DK1 price of 2026-10-10; rates ingests the new version and settlement issues debit notes. */
export async function correctSpotPrice(stack: BackOfficeStack, customers: DisputedCustomer[]): Promise<void> {
  const before = new Date();
  await new Promise((resolve) => setTimeout(resolve, 50));
  stack.eds.control.publishCorrection({ dataset: 'DayAheadPrices', priceArea: 'DK1', timeUtc: '2026-10-10T16:00', priceDkk: '2999.990000' });
  await stack.commands.send('rates', 'IngestSpotPrices', { priceArea: 'DK1', from: '2026-10-10', to: '2026-10-11' });
  await eventually(async () => {
    const { rows } = await stack.pool.query<{ invoice_id: string; note_id: string }>(`SELECT invoice_id, note_id FROM read_models.settlement_notes WHERE invoice_id = ANY($1)`, [customers.map((c) => c.invoiceId)]);
    expectTrue(rows.length === customers.length, 'correction notes not projected yet');
    for (const c of customers) {
      c.noteId = rows.find((r) => r.invoice_id === c.invoiceId)!.note_id;
      c.beforeCorrection = before;
    }
  }, 60_000, 250);
}
