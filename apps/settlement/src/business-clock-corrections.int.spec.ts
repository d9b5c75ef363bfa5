import { localDayIntervals } from '@dh/dk-time';
import type { CommandClient } from '@dh/messaging';
import type { Clock, Infrastructure } from '@dh/platform';
import { invoiceIdOf, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import {
  gsrn,
  meteredPayload,
  OCTOBER_2026,
  seedFlatSpotPrices,
  seedRadiusGridArea,
  seedTaxAndSpotProduct,
  settlementTestHelpers,
  startSettlementTestService,
  startSpotSupply,
  type SettlementTestService,
} from './testing/settlement-test-support';

const YEAR_MS = 365 * 24 * 3600 * 1000;
/** A simulator's clock a year ahead of the wall clock (a demo world whose dates are still to come). */
const aheadOfTheWallClock: Clock = { now: () => new Date(Date.now() + YEAR_MS), close: () => undefined };
const POINT = gsrn(71);

/**
 * A correction is computed as the prices are known now on the business clock: rates publishes on it, so a price
 * published at the business instant is seen by the correction it triggers even when that instant is ahead of the
 * wall clock (a demo or simulator stack whose world lies in the future).
 */
describe('corrections on a business clock ahead of the wall clock', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  const helpers = settlementTestHelpers(() => infra, () => commands, { now: () => aheadOfTheWallClock.now() });
  const { append, send, count, all } = helpers;

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_business_clock', { clock: aheadOfTheWallClock });
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.008', reduced: '0.008' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    await startSpotSupply(helpers, POINT, 'customer-71');
    await send('RecordMeteredData', meteredPayload(POINT, 'oct-71', '2026-10-01', '2026-11-01', () => '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(1);
    }, 30_000, 100);
    await send('StartSettlementRun', { period: OCTOBER_2026 });
    await eventually(async () => expect(await all('SettlementCompleted')).toHaveLength(1), 60_000, 100);
    expect(await all('InvoiceIssued')).toHaveLength(1);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('a spot price published now (business time) corrects the invoice that used the version before', async () => {
    const hour5 = localDayIntervals('2026-10-10', 'PT1H')[5]!.getTime();
    await append('spot-prices-DK2-2026-10-10', 'rates', 'SpotPricesPublished', {
      priceArea: 'DK2',
      deliveryDate: '2026-10-10',
      resolution: 'PT1H',
      source: 'test',
      version: 2,
      publishedAt: aheadOfTheWallClock.now().toISOString(),
      prices: localDayIntervals('2026-10-10', 'PT1H').map((h) => (h.getTime() === hour5 ? { start: h.toISOString(), dkkPerMwh: '2000', dkkPerKwh: '2.00' } : { start: h.toISOString(), dkkPerMwh: '1000', dkkPerKwh: '1.00' })),
    });
    const note = await eventually(async () => {
      const notes = (await all('SettlementCorrectionIssued')).map((e) => e.data as unknown as SettlementCorrectionIssued);
      expect(notes).toHaveLength(1);
      return notes[0]!;
    }, 20_000, 100);
    // 1 kWh in that hour, spot +1.00 DKK/kWh: energy +1.00 excl. VAT.
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(POINT, OCTOBER_2026, 'customer-71'), cause: 'price', noteType: 'debit', totals: { exclVat: '1.00' } });
    expect(Date.parse(note.correctedInvoice.asOf)).toBeGreaterThan(Date.now());
  });
});
