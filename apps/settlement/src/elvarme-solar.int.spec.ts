import { randomUUID } from 'node:crypto';
import { localDayIntervals, localDayStart } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCompleted, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

/** Electric heating registered on SupplyStarted (CRM `electric_heating`). */
const HEATING = gsrn(11);
/** Electric heating registered later by portfolio's ElectricHeatingSet (from the supply's first day). */
const HEATING_SET_LATER = gsrn(12);
/** Own solar: production point linked by portfolio's ProductionMeteringPointLinked. */
const SOLAR = gsrn(21);
const SOLAR_PRODUCTION = gsrn(22);
/** Own solar with a day of production data missing. */
const SOLAR_GAP = gsrn(31);
const SOLAR_GAP_PRODUCTION = gsrn(32);
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;

const lineRows = (invoice: InvoiceIssued) => invoice.lines.map((l) => [l.kind, l.quantityKwh, l.amountExclVat, l.vat]);

describe('settlement: electric heating (reduced tax above the prorated threshold) and own production (hourly netting), end to end', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;

  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const invoiceOf = async (g: string): Promise<InvoiceIssued> => {
    const [issued] = await infra.eventStore.readStream(`invoice-${invoiceIdOf(g, PERIOD, `customer-${g}`)}`);
    if (issued === undefined) throw new Error(`no invoice for ${g}`);
    return issued.data as unknown as InvoiceIssued;
  };

  // Production on 10 October 2026 (local hours 10–13); 0.000 in every other hour.
  const productionHours = new Map(localDayIntervals('2026-10-10', 'PT1H').slice(10, 14).map((h, i) => [h.getTime(), ['3.000', '1.000', '0.400', '2.500'][i]!]));

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_eh_pv');
    ({ infra, commands } = service);

    await seedRadiusGridArea(helpers);
    // A test tax rate with different normal and reduced rates, so the split shows in money (2026's real rates are both 0.008).
    await seedTaxAndSpotProduct(helpers, { normal: '0.90', reduced: '0.01' });
    await append('product-solar', 'rates', 'ProductDefined', {
      productId: 'solar',
      name: 'Sol',
      marginDkkPerKwh: '0.05',
      monthlySubscriptionDkk: '39.00',
      exportFeeDkkPerKwh: '0.02',
      validFrom: '2026-01-01',
    });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');

    // Portfolio (context `portfolio`), as its metering-point stream writes them.
    const supply = (g: string, startDate: string, productId: string, facts: JsonObject) =>
      append(`metering-point-${g}`, 'portfolio', 'SupplyStarted', {
        gsrn: g,
        processId: randomUUID(),
        customerId: `customer-${g}`,
        startDate,
        productId,
        gridArea: '791',
        priceArea: 'DK2',
        billingFrequency: 'monthly',
        paymentModel: 'actual',
        at: '2026-08-01T10:00:00.000Z',
        ...facts,
      });
    await supply(HEATING, '2026-09-01', 'spot', { electricHeating: true, productionGsrn: null });
    await supply(HEATING_SET_LATER, '2026-09-01', 'spot', { electricHeating: false, productionGsrn: null });
    await append(`metering-point-${HEATING_SET_LATER}`, 'portfolio', 'ElectricHeatingSet', { gsrn: HEATING_SET_LATER, electricHeating: true, from: '2026-09-01', at: '2026-09-05T10:00:00.000Z' });
    await supply(SOLAR, '2026-01-01', 'solar', { electricHeating: false, productionGsrn: null });
    await append(`metering-point-${SOLAR}`, 'portfolio', 'ProductionMeteringPointLinked', { gsrn: SOLAR, productionGsrn: SOLAR_PRODUCTION, from: '2026-10-01', at: '2026-09-20T10:00:00.000Z' });
    await supply(SOLAR_GAP, '2026-01-01', 'solar', { electricHeating: false, productionGsrn: SOLAR_GAP_PRODUCTION });

    // Metered data through the command bus. Elvarme points: 1.500 kWh every hour of September (720 h = 1,080 kWh
    // year to date), 1.000 kWh every hour of October (745 h: 25 October has 25).
    for (const g of [HEATING, HEATING_SET_LATER]) {
      await send('RecordMeteredData', meteredPayload(g, `sep-${g}`, '2026-09-01', '2026-10-01', () => '1.500'));
      await send('RecordMeteredData', meteredPayload(g, `oct-${g}`, '2026-10-01', '2026-11-01', () => '1.000'));
    }
    // Solar points: 1.000 kWh consumed every hour; production as RSM-012 for the production GSRN like any metered data.
    await send('RecordMeteredData', meteredPayload(SOLAR, 'oct-solar', '2026-10-01', '2026-11-01', () => '1.000'));
    await send('RecordMeteredData', meteredPayload(SOLAR_PRODUCTION, 'oct-solar-production', '2026-10-01', '2026-11-01', (h) => productionHours.get(h.getTime()) ?? '0.000'));
    await send('RecordMeteredData', meteredPayload(SOLAR_GAP, 'oct-solar-gap', '2026-10-01', '2026-11-01', () => '1.000'));
    // No production data for 20 October.
    await send('RecordMeteredData', meteredPayload(SOLAR_GAP_PRODUCTION, 'oct-solar-gap-production-a', '2026-10-01', '2026-10-20', () => '0.000'));
    await send('RecordMeteredData', meteredPayload(SOLAR_GAP_PRODUCTION, 'oct-solar-gap-production-b', '2026-10-21', '2026-11-01', () => '0.000'));

    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(2 * (30 + 31) + 31 + 31 + 31 + 30);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(4);
      expect(await count(`SELECT count(*) AS n FROM settlement.electric_heating_changes`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.production_links`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.tax_rates`)).toBe(1);
    }, 30_000, 100);

    const started = await send<{ runId: string; items: number }>('StartSettlementRun', { period: PERIOD });
    expect(started.items).toBe(4);
    await eventually(async () => expect(await all('SettlementCompleted')).toHaveLength(1), 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('the run invoices three points and halts the one with a production gap', async () => {
    const [completed] = await all('SettlementCompleted');
    const data = completed!.data as unknown as SettlementCompleted;
    expect(data).toMatchObject({ items: 4, invoiced: 3, halted: 1 });
    const outcomes = await service.infra.pool.query<{ gsrn: string; outcome: string; reason: string | null }>(`SELECT gsrn, outcome, reason FROM settlement.run_items ORDER BY gsrn`);
    expect(outcomes.rows.filter((r) => r.outcome === 'invoiced').map((r) => r.gsrn)).toEqual([HEATING, HEATING_SET_LATER, SOLAR].sort());
    expect(outcomes.rows.filter((r) => r.outcome === 'halted')).toEqual([{ gsrn: SOLAR_GAP, outcome: 'halted', reason: 'missing-metered-data' }]);
  });

  it('elvarme: the interval in which the year-to-date consumption crosses the prorated threshold is split exactly between normal and reduced tax', async () => {
    // Threshold: supply from 1 September, open-ended → 122 days of 2026's 365: 4,000 kWh × 122 ÷ 365 = 1,336.986301… → 1,336.986 kWh.
    // Year to date before October: 720 h × 1.500 = 1,080.000 kWh → room 256.986 kWh. October, 1.000 kWh an hour: the first 256
    // hours stay below; hour 257 crosses: 0.986 at the normal rate, 0.014 at the reduced one; the other 488 hours are reduced.
    // Normal 256.986 × 0.90 = 231.2874 → 231.29 (VAT 57.8225 → 57.82); reduced 488.014 × 0.01 = 4.88014 → 4.88 (VAT 1.22).
    const expected = [
      ['energy', '745.000', '782.25', '195.56'],
      ['grid-tariff', '745.000', '223.50', '55.88'],
      ['system-tariff', '745.000', '52.15', '13.04'],
      ['transmission-tariff', '745.000', '29.80', '7.45'],
      ['electricity-tax', '256.986', '231.29', '57.82'],
      ['electricity-tax-reduced', '488.014', '4.88', '1.22'],
      ['grid-subscription', null, '30.00', '7.50'],
      ['system-subscription', null, '15.00', '3.75'],
      ['product-subscription', null, '39.00', '9.75'],
    ];
    const invoice = await invoiceOf(HEATING);
    expect(lineRows(invoice)).toEqual(expected);
    expect(invoice.lines.find((l) => l.kind === 'electricity-tax')!.unitPrice).toBe('0.90');
    expect(invoice.lines.find((l) => l.kind === 'electricity-tax-reduced')!.unitPrice).toBe('0.01');
    expect(invoice.totals).toEqual({ exclVat: '1407.87', vat: '351.97', inclVat: '1759.84' });
    // The registration copied from portfolio's ElectricHeatingSet (from the supply's first day) settles the same way.
    expect(lineRows(await invoiceOf(HEATING_SET_LATER))).toEqual(expected);
  });

  it('own production: per hour consumption − production; a net import is settled as usual, a net export is bought at spot less the fee on its own lines', async () => {
    // 10 October, hours 10–13: consumption 1.000 each, production 3.000 / 1.000 / 0.400 / 2.500 →
    // export 2.000, nothing, import 0.600, export 1.500. Import = 741 h × 1.000 + 0.600 = 741.600 kWh; export 3.500 kWh; gross production 6.900.
    // energy 741.6 × 1.05 = 778.68; grid 741.6 × 0.30 = 222.48; system 741.6 × 0.07 = 51.912 → 51.91; transmission 741.6 × 0.04 = 29.664 → 29.66;
    // tax 741.6 × 0.90 = 667.44; export −3.5 × 1.00 = −3.50 (VAT −0.875 → −0.88); fee 3.5 × 0.02 = 0.07 (VAT 0.0175 → 0.02).
    const invoice = await invoiceOf(SOLAR);
    expect(lineRows(invoice)).toEqual([
      ['energy', '741.600', '778.68', '194.67'],
      ['grid-tariff', '741.600', '222.48', '55.62'],
      ['system-tariff', '741.600', '51.91', '12.98'],
      ['transmission-tariff', '741.600', '29.66', '7.42'],
      ['electricity-tax', '741.600', '667.44', '166.86'],
      ['production', '6.900', '0.00', '0.00'],
      ['export-energy', '3.500', '-3.50', '-0.88'],
      ['export-fee', '3.500', '0.07', '0.02'],
      ['grid-subscription', null, '30.00', '7.50'],
      ['system-subscription', null, '15.00', '3.75'],
      ['product-subscription', null, '39.00', '9.75'],
    ]);
    expect(invoice.totals).toEqual({ exclVat: '1830.74', vat: '457.69', inclVat: '2288.43' });
    // The invoice index knows the production point, so a corrected production RSM-012 finds this invoice.
    expect((await infra.pool.query(`SELECT production_gsrn FROM settlement.invoices WHERE gsrn = $1`, [SOLAR])).rows).toEqual([{ production_gsrn: SOLAR_PRODUCTION }]);
  });

  it('a missing production interval halts the consumption point with the production GSRN and the interval, and no invoice', async () => {
    const halts = (await all('SettlementHaltedForMeteringPoint')).filter((e) => e.data.gsrn === SOLAR_GAP);
    expect(halts).toHaveLength(1);
    expect(halts[0]!.data).toMatchObject({
      gsrn: SOLAR_GAP,
      reason: 'missing-metered-data',
      detail: { seriesGsrn: SOLAR_GAP_PRODUCTION, interval: { start: localDayStart('2026-10-20').toISOString() } },
    });
    expect(await infra.eventStore.readStream(`invoice-${invoiceIdOf(SOLAR_GAP, PERIOD, `customer-${SOLAR_GAP}`)}`)).toHaveLength(0);
  });

  it('electric heating deregistered from 10 October after invoicing: October loses the reduced rate, one note (cause master-data)', async () => {
    await append(`metering-point-${HEATING}`, 'portfolio', 'ElectricHeatingSet', { gsrn: HEATING, electricHeating: false, from: '2026-10-10', at: '2026-11-10T10:00:00.000Z' });
    const note = await eventually(async () => {
      const notes = (await all('SettlementCorrectionIssued')).map((e) => e.data as unknown as SettlementCorrectionIssued);
      if (notes.length !== 1) throw new Error(`${notes.length} notes`);
      return notes[0]!;
    }, 20_000, 100);
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(HEATING, PERIOD, `customer-${HEATING}`), cause: 'master-data', noteType: 'debit' });
    // All 745 kWh at the normal rate: 745 × 0.90 = 670.50 (was 231.29: +439.21 for 488.014 kWh more); the reduced line (4.88) is credited.
    expect(note.lines.map((l) => [l.kind, l.quantityKwh, l.amountExclVat])).toEqual([
      ['electricity-tax', '488.014', '439.21'],
      ['electricity-tax-reduced', '-488.014', '-4.88'],
    ]);
  });

  it('own solar relinked from 1 October to another production point (no production) after invoicing: one note (cause master-data)', async () => {
    const other = gsrn(23);
    await send('RecordMeteredData', meteredPayload(other, 'oct-other-production', '2026-10-01', '2026-11-01', () => '0.000'));
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${other}'`)).toBe(31), 20_000, 100);
    await append(`metering-point-${SOLAR}`, 'portfolio', 'ProductionMeteringPointLinked', { gsrn: SOLAR, productionGsrn: other, from: '2026-10-01', at: '2026-11-10T10:00:00.000Z' });
    const note = await eventually(async () => {
      const notes = (await all('SettlementCorrectionIssued')).map((e) => e.data as unknown as SettlementCorrectionIssued).filter((n) => n.gsrn === SOLAR);
      if (notes.length !== 1) throw new Error(`${notes.length} notes`);
      return notes[0]!;
    }, 20_000, 100);
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(SOLAR, PERIOD, `customer-${SOLAR}`), cause: 'master-data' });
    // Nothing produced now: net import 745 kWh instead of 741.6 (+3.4): energy 3.4 × 1.05 = 3.57, grid 1.02; system 745 × 0.07 = 52.15
    // (was 51.91: +0.24), transmission 29.80 (29.66: +0.14), tax 670.50 (667.44: +3.06); production 6.9 kWh, export 3.5 kWh
    // (−3.50) and its fee (0.07) are taken back.
    expect(note.lines.map((l) => [l.kind, l.quantityKwh, l.amountExclVat])).toEqual([
      ['energy', '3.400', '3.57'],
      ['grid-tariff', '3.400', '1.02'],
      ['system-tariff', '3.400', '0.24'],
      ['transmission-tariff', '3.400', '0.14'],
      ['electricity-tax', '3.400', '3.06'],
      ['production', '-6.900', '0.00'],
      ['export-energy', '-3.500', '3.50'],
      ['export-fee', '-3.500', '-0.07'],
    ]);
  });
});
