import type { PoolClient } from 'pg';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, startSpotSupply, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

const MP = gsrn(61);
const CUSTOMER = 'c3c3c3c3-0000-4000-8000-000000000061';
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
const INVOICE = invoiceIdOf(MP, PERIOD, CUSTOMER);

/**
 * The race of issue 9 made to happen on purpose: a corrected RSM-012 arrives while the run's work item
 * for the metering point is in its transaction, after it read the metered data and before it committed
 * the invoice. The test holds the invoice's index row (an uncommitted INSERT of the same id) so the item
 * waits there; the correction then arrives, and only after that is the item let go.
 */
describe('settlement: an input that arrives while a run is settling the metering point still corrects its invoice', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  let blocker: PoolClient | undefined;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { send, count, all } = helpers;
  const waiting = async (sql: string): Promise<number> => count(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND ${sql}`);

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_race');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.008', reduced: '0.008' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    await startSpotSupply(helpers, MP, CUSTOMER);
    await send('RecordMeteredData', meteredPayload(MP, 'oct-v1', '2026-10-01', '2026-11-01', () => '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.tax_rates`)).toBe(1);
    }, 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await blocker?.query('ROLLBACK').catch(() => undefined);
    blocker?.release();
    await service?.stop();
  }, 60_000);

  it('the item issues the invoice from what it read, and the correction arriving meanwhile becomes a note once it commits', async () => {
    blocker = await infra.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `INSERT INTO settlement.invoices (invoice_id, gsrn, production_gsrn, customer_id, period_label, period_from, period_to, price_area, grid_area) VALUES ($1,$2,NULL,$3,'2026-10','2026-10-01','2026-11-01','DK2','791')`,
      [INVOICE, MP, CUSTOMER],
    );
    await send('StartSettlementRun', { period: PERIOD });
    // The item has read the metered data (version 1) and waits on the invoice index row.
    await eventually(async () => expect(await waiting(`query LIKE '%INSERT INTO settlement.invoices%'`)).toBe(1), 30_000, 100);
    // A corrected day arrives: 2.000 kWh every hour of 10 October (version 2, +24 kWh). Its copy commits at once
    // (the metered-data consumer), and the inputs consumer waits on the metering point's lock the item holds.
    await send('RecordMeteredData', meteredPayload(MP, 'oct-10-v2', '2026-10-10', '2026-10-11', () => '2.000'));
    await eventually(async () => expect(await waiting(`query LIKE '%pg_advisory_xact_lock%'`)).toBe(1), 30_000, 100);
    expect(await all('SettlementCorrectionIssued')).toHaveLength(0);
    await blocker.query('ROLLBACK');
    blocker.release();
    blocker = undefined;

    const note = await eventually(async () => {
      const notes = await all('SettlementCorrectionIssued');
      if (notes.length !== 1) throw new Error(`${notes.length} notes`);
      return notes[0]!.data as unknown as SettlementCorrectionIssued;
    }, 30_000, 100);
    const [issued] = await infra.eventStore.readStream(`invoice-${INVOICE}`);
    // The invoice is what the item read: 745 kWh of version 1; the note adds the 24 kWh of version 2.
    expect((issued!.data as unknown as InvoiceIssued).lines.find((l) => l.kind === 'energy')).toMatchObject({ quantityKwh: '745.000', amountExclVat: '782.25' });
    expect(note).toMatchObject({ invoiceId: INVOICE, cause: 'metered-data', noteType: 'debit' });
    expect(note.lines.find((l) => l.kind === 'energy')).toMatchObject({ quantityKwh: '24.000', amountExclVat: '25.20' });
  });
});
