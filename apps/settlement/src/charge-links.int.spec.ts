import { localDayStart } from '@dh/dk-time';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCompleted, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, RADIUS, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, startSpotSupply, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

/** No charge links: the grid area's mapping (C tariff) is the fallback. */
const UNLINKED = gsrn(41);
/** Linked to the C tariff until 16 October 2026, to B-low from then (a link that ends mid-month), and to a B subscription. */
const LINKED = gsrn(42);
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
const B_LOW = `${RADIUS}:D03:DT_B_02`;
const C_TARIFF = `${RADIUS}:D03:DT_C_01`;
const B_SUBSCRIPTION = `${RADIUS}:D01:DA_B_F_02`;

describe('settlement: the tariffs and subscriptions DataHub links to a metering point (RSM-031), end to end', () => {
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
  const grid = (invoice: InvoiceIssued) => invoice.lines.filter((l) => l.kind.startsWith('grid-')).map((l) => [l.kind, l.chargeId, l.amountExclVat]);

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_charge_links');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await helpers.charge(RADIUS, 'D03', 'DT_B_02', 'Nettarif B lav', 'PT1H', Array.from({ length: 24 }, (_, h) => (h >= 17 && h < 21 ? '0.20' : '0.10')));
    await helpers.charge(RADIUS, 'D01', 'DA_B_F_02', 'Netabonnement B', 'P1M', ['200.00']);
    await seedTaxAndSpotProduct(helpers, { normal: '0.008', reduced: '0.008' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    for (const g of [UNLINKED, LINKED]) {
      await startSpotSupply(helpers, g, `customer-${g}`);
      await send('RecordMeteredData', meteredPayload(g, `oct-${g}`, '2026-10-01', '2026-11-01', () => '1.000'));
    }
    // Rates records DataHub's RSM-031 as ChargeLinksRecorded (stream charge-links-<gsrn>): the C tariff's link is stopped at 16 October.
    const source = { documentId: 'rsm031-test', recordId: '1', receivedAt: '2026-09-01T08:00:00.000Z', processType: 'D17' };
    const link = (chargeId: string, from: string, to: string | null, factor = '1') => {
      const [owner, chargeType, code] = chargeId.split(':');
      return { chargeId, owner: owner!, chargeType: chargeType!, code: code!, factor, from: localDayStart(from).toISOString(), to: to === null ? null : localDayStart(to).toISOString() };
    };
    await append(`charge-links-${LINKED}`, 'rates', 'ChargeLinksRecorded', { gsrn: LINKED, links: [link(C_TARIFF, '2026-01-01', null), link(B_SUBSCRIPTION, '2026-01-01', null)], source });
    await append(`charge-links-${LINKED}`, 'rates', 'ChargeLinksRecorded', { gsrn: LINKED, links: [link(C_TARIFF, '2026-01-01', '2026-10-16'), link(B_LOW, '2026-10-16', null)], source });

    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(62);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(7);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.tax_rates`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.datahub_charge_links WHERE link_to IS NOT NULL`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.datahub_charge_links`)).toBe(3);
    }, 30_000, 100);

    const started = await send<{ runId: string; items: number }>('StartSettlementRun', { period: PERIOD });
    expect(started.items).toBe(2);
    await eventually(async () => expect(await all('SettlementCompleted')).toHaveLength(1), 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('both metering points are invoiced', async () => {
    const [completed] = await all('SettlementCompleted');
    const data = completed!.data as unknown as SettlementCompleted;
    expect(data).toMatchObject({ items: 2, invoiced: 2, halted: 0 });
    const outcomes = await service.infra.pool.query<{ gsrn: string; outcome: string }>(`SELECT gsrn, outcome FROM settlement.run_items ORDER BY gsrn`);
    expect(outcomes.rows).toEqual([UNLINKED, LINKED].sort().map((gsrn) => ({ gsrn, outcome: 'invoiced' })));
  });

  it('without links: the grid area\'s C tariff and subscription (745 h × 0.30 = 223.50; 30.00)', async () => {
    expect(grid(await invoiceOf(UNLINKED))).toEqual([
      ['grid-tariff', C_TARIFF, '223.50'],
      ['grid-subscription', `${RADIUS}:D01:DA_C_F_01`, '30.00'],
    ]);
  });

  it('with links: the C tariff to 15 October, B-low from the 16th (a tariff other than the area\'s C tariff), and the linked B subscription', async () => {
    // C: 15 days × 24 h × 0.30 = 108.00. B-low, 16 days = 385 h (25 October has 25): 64 h (17–21) × 0.20 = 12.80, 321 h × 0.10 = 32.10.
    // 108.00 + 12.80 + 32.10 = 152.90. Subscription B: 200.00 for the whole month.
    expect(grid(await invoiceOf(LINKED))).toEqual([
      ['grid-tariff', `${C_TARIFF}+${B_LOW}`, '152.90'],
      ['grid-subscription', B_SUBSCRIPTION, '200.00'],
    ]);
  });

  const notes = async () => (await all('SettlementCorrectionIssued')).map((e) => e.data as unknown as SettlementCorrectionIssued);

  it("new prices of the B-low tariff correct only the invoice of the metering point linked to it, not the grid area's others", async () => {
    // Version 2: every hour 0.10 higher than version 1 (0.20/0.30), from 1 October.
    await append(`charge-${B_LOW}`, 'rates', 'ChargePricesPublished', {
      chargeId: B_LOW,
      owner: RADIUS,
      gln: RADIUS,
      chargeType: 'D03',
      code: 'DT_B_02',
      description: 'Nettarif B lav',
      version: 2,
      publishedAt: new Date().toISOString(),
      rows: [{ validFrom: '2026-10-01', validTo: null, resolution: 'PT1H', prices: Array.from({ length: 24 }, (_, h) => (h >= 17 && h < 21 ? '0.30' : '0.20')) }],
    });
    const [note] = await eventually(async () => {
      const n = await notes();
      if (n.length !== 1) throw new Error(`${n.length} notes`);
      return n;
    }, 20_000, 100);
    // B-low's 385 hours (16–31 October) × 0.10 more = 38.50; the C days and the other metering point are untouched.
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(LINKED, PERIOD, `customer-${LINKED}`), cause: 'price', noteType: 'debit' });
    expect(note!.lines.map((l) => [l.kind, l.quantityKwh, l.amountExclVat])).toEqual([['grid-tariff', '0.000', '38.50']]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await notes()).toHaveLength(1);
  });

  it('a link stopped after invoicing (DataHub ends the B subscription on 16 October) corrects that invoice', async () => {
    const source = { documentId: 'rsm031-test-2', recordId: '1', receivedAt: '2026-11-10T08:00:00.000Z', processType: 'D17' };
    const [owner, chargeType, code] = B_SUBSCRIPTION.split(':');
    await append(`charge-links-${LINKED}`, 'rates', 'ChargeLinksRecorded', {
      gsrn: LINKED,
      links: [{ chargeId: B_SUBSCRIPTION, owner: owner!, chargeType: chargeType!, code: code!, factor: '1', from: localDayStart('2026-01-01').toISOString(), to: localDayStart('2026-10-16').toISOString() }],
      source,
    });
    const note = await eventually(async () => {
      const n = await notes();
      if (n.length !== 2) throw new Error(`${n.length} notes`);
      return n[1]!;
    }, 20_000, 100);
    // 200.00 × 15/31 = 96.774… → 96.77 instead of 200.00: −103.23.
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(LINKED, PERIOD, `customer-${LINKED}`), noteType: 'credit' });
    expect(note.lines.map((l) => [l.kind, l.amountExclVat])).toEqual([['grid-subscription', '-103.23']]);
  });
});
