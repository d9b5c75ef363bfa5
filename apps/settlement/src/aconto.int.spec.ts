import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';
import type { CommandClient } from '@dh/messaging';
import { gsrnCheckDigit } from '@dh/market-ids';
import type { Infrastructure } from '@dh/platform';
import { projectionChecksum, rebuildProjection, settlementProjection } from '@dh/read-models';
import { acontoInvoiceIdOf, invoiceIdOf, type AcontoInvoiceIssued, type InvoiceIssued } from '@dh/settlement-application';
import type { SettlementRuntime } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import { days, PUBLISHED, seedRadiusGridArea, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

const gsrn = (n: number): string => {
  const body = `57131317400001${String(n).padStart(3, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};
const MP1 = gsrn(1);
const MP2 = gsrn(2);
const Q1 = { kind: 'quarter', year: 2027, quarter: 1 } as const;

function meteredPayload(g: string, documentId: string, from: LocalDate, toExclusive: LocalDate, kwh: string): JsonObject {
  const hours = days(from, toExclusive).flatMap((d) => localDayIntervals(d, 'PT1H'));
  return {
    gsrn: g,
    documentId,
    receivedAt: '2027-04-02T08:00:00Z',
    resolution: 'PT1H',
    start: localDayStart(from).toISOString(),
    end: localDayStart(toExclusive).toISOString(),
    points: hours.map((_, i) => ({ position: i + 1, quantityKwh: kwh, quality: 'A04' })),
  };
}

describe('aconto end to end: expected consumption → quarterly estimate → payments → settlement of the difference → next estimate', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let runtime: SettlementRuntime;
  let commands: CommandClient;

  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const acontoOf = async (g: string, quarter: string): Promise<AcontoInvoiceIssued> => {
    const stream = await infra.eventStore.readStream(`aconto-invoice-${acontoInvoiceIdOf(g, quarter)}`);
    if (stream.length !== 1) throw new Error(`${stream.length} events on the aconto invoice stream of ${g} ${quarter}`);
    return stream[0]!.data as unknown as AcontoInvoiceIssued;
  };

  beforeAll(async () => {
    service = await startSettlementTestService('aconto', { projectReadModel: true });
    ({ infra, runtime, commands } = service);

    // Flat prices with at most 2 decimals: spot 1.00 DKK/kWh in December 2026, January and February 2027, 1.20 in March 2027.
    await seedRadiusGridArea(helpers);
    await append('electricity-tax', 'rates', 'ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: '0.01', reducedDkkPerKwh: '0.01' });
    await append('product-spot', 'rates', 'ProductDefined', { productId: 'spot', name: 'Spot', marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '39.00', validFrom: '2026-01-01' });
    for (const day of days('2026-12-01', '2027-04-01')) {
      const price = day >= '2027-03-01' ? '1.20' : '1.00';
      await append(`spot-prices-DK2-${day}`, 'rates', 'SpotPricesPublished', {
        priceArea: 'DK2',
        deliveryDate: day,
        resolution: 'PT1H',
        source: 'test',
        version: 1,
        publishedAt: PUBLISHED,
        prices: localDayIntervals(day, 'PT1H').map((h) => ({ start: h.toISOString(), dkkPerMwh: String(Number(price) * 1000), dkkPerKwh: price })),
      });
    }
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(31 * 24 + 2159);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
    }, 30_000, 100);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('issues the first quarterly estimate once the supply has started and the expected consumption is known, exactly as computed by hand', async () => {
    // The gateway's onboarding sends this after the switch request (Eloverblik's 12-month history).
    const set = await send<{ alreadySet: boolean }>('SetExpectedConsumption', { gsrn: MP1, customerId: 'customer-1', expectedAnnualKwh: '3650.5', source: 'eloverblik', basis: 'measured-12-months' });
    expect(set.alreadySet).toBe(false);
    expect((await send<{ alreadySet: boolean }>('SetExpectedConsumption', { gsrn: MP1, customerId: 'customer-1', expectedAnnualKwh: '3650.5', source: 'eloverblik', basis: 'measured-12-months' })).alreadySet).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await all('AcontoInvoiceIssued')).toHaveLength(0); // no supply yet

    await append(`supply-${MP1}`, 'portfolio', 'SupplyStarted', {
      gsrn: MP1, customerId: 'customer-1', startDate: '2027-01-01', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'quarterly', paymentModel: 'aconto',
    });
    const first = await eventually(() => acontoOf(MP1, '2027-Q1'), 20_000, 100);
    // Reference month 2026-12 (the last complete month before the start), every hour:
    //   spot 1.00 + margin 0.05 + grid tariff 0.30 + system 0.07 + transmission 0.04 + tax 0.01 = 1.47 DKK/kWh
    // subscriptions 30 (grid) + 15 (system) + 39 (product) = 84 DKK/month
    // (3,650.5 × 1.47 + 12 × 84) × 1.25 ÷ 4 = (5,366.235 + 1,008) × 0.3125 = 6,374.235 × 0.3125 = 1,991.9484375 → 1,991.95
    // VAT inside: 1,991.95 ÷ 5 = 398.39; excl. VAT 1,593.56
    expect(first).toEqual({
      acontoInvoiceId: acontoInvoiceIdOf(MP1, '2027-Q1'),
      customerId: 'customer-1',
      gsrn: MP1,
      quarter: '2027-Q1',
      periodStart: '2027-01-01',
      periodEnd: '2027-03-31',
      amountInclVat: '1991.95',
      amountExclVat: '1593.56',
      vat: '398.39',
      dueDate: '2027-01-01',
      trigger: 'supply-started',
      settledPeriod: null,
      basis: { expectedAnnualKwh: '3650.5', pricePerKwh: '1.470000', priceSource: 'prices', referenceMonth: '2026-12', monthlySubscriptions: '84.00', quarterShare: '0.25', daysSupplied: 90, daysInQuarter: 90 },
    });
  });

  it('a supply starting mid-quarter pays its days only, rounded once', async () => {
    await append(`supply-${MP2}`, 'portfolio', 'SupplyStarted', {
      gsrn: MP2, customerId: 'customer-2', startDate: '2027-02-15', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'quarterly', paymentModel: 'aconto',
    });
    await send('SetExpectedConsumption', { gsrn: MP2, customerId: 'customer-2', expectedAnnualKwh: '2000', source: 'estimate', basis: 'estimated-annual-volume' });
    const mid = await eventually(() => acontoOf(MP2, '2027-Q1'), 20_000, 100);
    // Reference month 2027-01: 1.47 DKK/kWh again; 15 Feb – 31 Mar = 14 + 31 = 45 of 90 days
    // (2,000 × 1.47 + 1,008) × 1.25 × 0.25 × 45 ÷ 90 = 3,948 × 0.15625 = 616.875 → 616.88 (half away from zero)
    // VAT inside 616.88 ÷ 5 = 123.376 → 123.38; excl. 493.50
    expect(mid).toMatchObject({ amountInclVat: '616.88', amountExclVat: '493.50', vat: '123.38', dueDate: '2027-02-15', basis: { referenceMonth: '2027-01', daysSupplied: 45, daysInQuarter: 90, pricePerKwh: '1.470000' } });
  });

  it('settles the quarter against the payments (exact difference) and recalculates the next quarter’s estimate', async () => {
    // The aconto invoice paid by its id before the quarter started: it counts because it is matched to the
    // quarter's aconto invoice, not because of its date. A payment on the metering point without an invoice
    // reference (RecordAcontoPayment) counts by its date inside the period, as before.
    const q1Aconto = acontoInvoiceIdOf(MP1, '2027-Q1');
    expect(await send('RecordPayment', { paymentId: 'pbs-1', reference: q1Aconto, amount: '1991.95', paidAt: '2026-12-28T09:00:00Z', method: 'betalingsservice' })).toMatchObject({ status: 'matched', invoiceId: q1Aconto });
    await send('RecordAcontoPayment', { customerId: 'customer-1', gsrn: MP1, amount: '1000.00', paidAt: '2027-03-15T09:00:00Z', paymentId: 'pbs-2' });
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.receivables WHERE invoice_id = '${q1Aconto}' AND paid = 1991.95`)).toBe(1), 20_000, 100);
    // 1.000 kWh every hour of Q1 2027: 744 + 672 + 743 (28 March 2027 has 23 hours) = 2,159 hours.
    await send('RecordMeteredData', meteredPayload(MP1, 'doc-mp1-q1', '2027-01-01', '2027-04-01', '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${MP1}'`)).toBe(90);
      expect(await count(`SELECT count(*) AS n FROM settlement.aconto_payments`)).toBe(1);
    }, 20_000, 100);

    await send('StartSettlementRun', { period: '2027-Q1' });
    const issued = await eventually(async () => {
      const [e] = await infra.eventStore.readStream(`invoice-${invoiceIdOf(MP1, Q1, 'customer-1')}`);
      if (!e) throw new Error('no invoice yet');
      return e.data as unknown as InvoiceIssued;
    }, 30_000, 100);
    // energy 1,416 h × (1.00 + 0.05) + 743 h × (1.20 + 0.05) = 1,486.80 + 928.75 = 2,415.55 (VAT 603.8875 → 603.89)
    // grid 2,159 × 0.30 = 647.70 (161.925 → 161.93); system × 0.07 = 151.13 (37.7825 → 37.78);
    // transmission × 0.04 = 86.36 (21.59); tax × 0.01 = 21.59 (5.3975 → 5.40); subscriptions 3 × 84 = 252.00 (VAT 63.00)
    // excl. 3,574.33, VAT 893.59, incl. 4,467.92; paid 1,991.95 + 1,000.00 = 2,991.95; difference 4,467.92 − 2,991.95 = 1,475.97
    expect(issued.totals).toEqual({ exclVat: '3574.33', vat: '893.59', inclVat: '4467.92' });
    expect(issued.aconto).toEqual({ paid: '2991.95', difference: '1475.97', netAmountDue: '1475.97' });
    // The settlement invoice settled the aconto invoice: its claim is now what was paid on it (nothing owed twice).
    // (The worker commits this with its inbox, just after the invoice event is appended.)
    await eventually(async () =>
      expect((await infra.pool.query(`SELECT amount_due::text, paid::text, aconto_counted::text, aconto_settled_by FROM settlement.receivables WHERE invoice_id = $1`, [q1Aconto])).rows).toEqual([
        { amount_due: '1991.95', paid: '1991.95', aconto_counted: '1991.95', aconto_settled_by: invoiceIdOf(MP1, Q1, 'customer-1') },
      ]), 20_000, 100);

    const next = await eventually(() => acontoOf(MP1, '2027-Q2'), 20_000, 100);
    // Reference month 2027-03 (the settled quarter's last month): 1.20 + 0.05 + 0.30 + 0.07 + 0.04 + 0.01 = 1.67 DKK/kWh
    // (3,650.5 × 1.67 + 1,008) × 0.3125 = (6,096.335 + 1,008) × 0.3125 = 7,104.335 × 0.3125 = 2,220.1046875 → 2,220.10
    // VAT inside 2,220.10 ÷ 5 = 444.02; excl. 1,776.08
    expect(next).toEqual({
      acontoInvoiceId: acontoInvoiceIdOf(MP1, '2027-Q2'),
      customerId: 'customer-1',
      gsrn: MP1,
      quarter: '2027-Q2',
      periodStart: '2027-04-01',
      periodEnd: '2027-06-30',
      amountInclVat: '2220.10',
      amountExclVat: '1776.08',
      vat: '444.02',
      dueDate: '2027-04-01',
      trigger: 'settlement',
      settledPeriod: '2027-Q1',
      basis: { expectedAnnualKwh: '3650.5', pricePerKwh: '1.670000', priceSource: 'prices', referenceMonth: '2027-03', monthlySubscriptions: '84.00', quarterShare: '0.25', daysSupplied: 91, daysInQuarter: 91 },
    });
    // MP2 has no metered data: it halts, so no invoice and no next estimate for it.
    await eventually(async () => expect(await all('SettlementCompleted')).toHaveLength(1), 20_000, 100);
    expect(await all('AcontoInvoiceIssued')).toHaveLength(3);
  });

  it('re-runs issue nothing new: the same expected consumption, a redelivered start, a later run of the quarter (only the halted point)', async () => {
    const before = (await infra.eventStore.readAll()).length;
    expect((await send<{ alreadySet: boolean }>('SetExpectedConsumption', { gsrn: MP1, customerId: 'customer-1', expectedAnnualKwh: '3650.5', source: 'eloverblik', basis: 'measured-12-months' })).alreadySet).toBe(true);
    // A later run of the quarter takes only MP2, not invoiced (still no metered data): it halts again, nothing is issued.
    const later = await send<{ runId: string }>('StartSettlementRun', { period: '2027-Q1', runId: randomUUID() });
    expect(later).toMatchObject({ seq: 2, items: 1, alreadyStarted: false });
    await eventually(async () => expect((await all('SettlementCompleted')).map((e) => e.data.runId)).toContain(later.runId), 20_000, 100);
    const afterLaterRun = before + 6; // its run stream (3), its item and batch completion (2), MP2's halt (1)
    // A second SupplyStarted for the same supply (a redelivery from portfolio as a new event): the quarter's aconto exists.
    const applied = runtime.inputs.stats().applied;
    await append(`supply-${MP1}`, 'portfolio', 'SupplyStarted', {
      gsrn: MP1, customerId: 'customer-1', startDate: '2027-01-01', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'quarterly', paymentModel: 'aconto',
    });
    await eventually(async () => expect(runtime.inputs.stats().applied).toBeGreaterThan(applied), 10_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await infra.eventStore.readAll()).length).toBe(afterLaterRun + 1);
    expect(await all('AcontoInvoiceIssued')).toHaveLength(3);
  });

  it('rebuilding the settlement read model reproduces the aconto invoices (checksum)', async () => {
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM read_models.aconto_invoices`)).toBe(3), 20_000, 100);
    const rows = (await infra.pool.query(`SELECT quarter, gsrn, amount_incl_vat::text, amount_excl_vat::text, vat::text, due_date, trigger FROM read_models.aconto_invoices ORDER BY quarter, gsrn`)).rows;
    expect(rows).toEqual([
      { quarter: '2027-Q1', gsrn: MP1, amount_incl_vat: '1991.95', amount_excl_vat: '1593.56', vat: '398.39', due_date: '2027-01-01', trigger: 'supply-started' },
      { quarter: '2027-Q1', gsrn: MP2, amount_incl_vat: '616.88', amount_excl_vat: '493.50', vat: '123.38', due_date: '2027-02-15', trigger: 'supply-started' },
      { quarter: '2027-Q2', gsrn: MP1, amount_incl_vat: '2220.10', amount_excl_vat: '1776.08', vat: '444.02', due_date: '2027-04-01', trigger: 'settlement' },
    ]);
    const checksum = async (): Promise<string> => {
      const client: PoolClient = await infra.pool.connect();
      try {
        return await projectionChecksum(settlementProjection, client);
      } finally {
        client.release();
      }
    };
    const before = await checksum();
    await infra.pool.query(`UPDATE read_models.aconto_invoices SET amount_incl_vat = 0`);
    expect(await checksum()).not.toBe(before);
    await rebuildProjection(infra.pool, infra.eventStore, settlementProjection);
    expect(await checksum()).toBe(before);
  });
});
