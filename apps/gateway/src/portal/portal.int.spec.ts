import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import request from 'supertest';
import { AuditLog, AuthModule } from '@dh/auth';
import { bearer, issueTestJwt, testAuthConfig } from '@dh/auth/testing';
import { addDays, localDayStart, localLabel } from '@dh/dk-time';
import { BytesReplyExpressAdapter, ProblemDetailsFilter } from '@dh/platform';
import {
  CONSUMPTION_DAILY_TABLE,
  CONSUMPTION_HOURS_TABLE,
  consumptionProjection,
  ENERGINET_GLN,
  fillHourParts,
  METERING_POINTS_TABLE,
  meteringPointsProjection,
  migrateReadModels,
  paymentsProjection,
  rateNotificationsProjection,
  SETTLEMENT_READ_MODEL_ENTITIES,
  settlementProjection,
  type Projection,
} from '@dh/read-models';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { PORTAL_CLOCK, PORTAL_POOL } from './portal-access';
import { readConsumption, readCustomerConsumption, totalOf } from './consumption.query';
import { sumDecimalText } from './local-time';
import { PortalController } from './portal.controller';

const CUSTOMER_A = '11111111-1111-4111-8111-111111111111';
const CUSTOMER_B = '22222222-2222-4222-8222-222222222222';
const GSRN_A = '571313180400000028';
const GSRN_B = '571313180400000035';
const GSRN_UNKNOWN = '571313180400000042';
const ACONTO_2027Q1_A = 'a0000000-0000-4000-8000-000000002027';
const projections = [meteringPointsProjection, settlementProjection, paymentsProjection, consumptionProjection, rateNotificationsProjection];

describe('portal API (Nest app, Postgres read models)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let app: INestApplication;
  let dataSource: DataSource;
  let http: ReturnType<typeof request>;
  let seq = 0;

  const project = async (projection: Projection, type: string, data: Record<string, unknown>) => {
    seq += 1;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await projection.apply({ eventId: randomUUID(), type, streamId: `test-${seq}`, streamRevision: 0n, checkpoint: `1:${seq}`, recordedAt: new Date('2026-11-01T08:00:00Z'), data }, client);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
  /** One local day of hourly values (23/24/25 of them), each `quantity`. */
  const day = (gsrn: string, date: string, quantity: string, quality: string | null = null) => {
    const start = localDayStart(date);
    const end = localDayStart(addDays(date, 1));
    const hours = (end.getTime() - start.getTime()) / 3_600_000;
    return project(consumptionProjection, 'ValidatedMeasureDataReceived', {
      documentId: `doc-${gsrn}-${date}-${seq}`,
      seriesId: 's',
      gsrn,
      meteringPointType: 'E17',
      resolution: 'PT1H',
      start: start.toISOString(),
      end: end.toISOString(),
      points: Array.from({ length: hours }, (_, i) => ({ position: i + 1, quantity, quality })),
    });
  };
  const supply = (gsrn: string, customerId: string, startDate: string, gridArea: string, productId: string) =>
    project(meteringPointsProjection, 'SupplyStarted', { gsrn, customerId, startDate, productId, billingFrequency: 'quarterly', paymentModel: 'aconto', gridArea });
  const invoice = (customerId: string, gsrn: string) => {
    const invoiceId = randomUUID();
    return project(settlementProjection, 'InvoiceIssued', {
      invoiceId,
      runId: null,
      customerId,
      gsrn,
      periodLabel: '2026-10',
      periodStart: '2026-10-01',
      periodEnd: '2026-10-31',
      paymentModel: 'aconto',
      lines: [{ key: 'energy', kind: 'energy', description: 'Energy', chargeId: null, month: '2026-10', quantityKwh: '100.000', daysSupplied: null, amountExclVat: '100.00', vat: '25.00', amountInclVat: '125.00' }],
      totals: { exclVat: '100.00', vat: '25.00', inclVat: '125.00' },
      aconto: { paid: '300.00', difference: '-175.00', netAmountDue: '-175.00' },
      estimated: false,
      asOf: '2026-11-01T00:00:00Z',
    }).then(() => invoiceId);
  };
  const charge = (chargeId: string, gln: string, version: number, prices: string[]) =>
    project(rateNotificationsProjection, 'ChargePricesPublished', {
      chargeId,
      owner: chargeId,
      gln,
      chargeType: 'D03',
      code: chargeId,
      description: `Tariff ${chargeId}`,
      version,
      publishedAt: '2026-11-01T00:00:00Z',
      rows: prices.map((p, i) => ({ validFrom: i === 0 ? '2026-01-01' : '2027-01-01', validTo: i === 0 && prices.length > 1 ? '2027-01-01' : null, resolution: 'PT1H', prices: Array(24).fill(p) })),
    });

  let invoiceA = '';
  let invoiceB = '';

  beforeAll(async () => {
    db = await createTestDatabase('portal_api');
    pool = new Pool({ connectionString: db.url });
    await migrateReadModels(pool, projections);
    dataSource = await new DataSource({ type: 'postgres', url: db.url, entities: SETTLEMENT_READ_MODEL_ENTITIES, synchronize: false }).initialize();
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuthModule.forRoot({ pool, config: testAuthConfig() }),
      ],
      controllers: [PortalController],
      providers: [{ provide: DataSource, useValue: dataSource }, { provide: PORTAL_POOL, useValue: pool }, { provide: PORTAL_CLOCK, useValue: { now: () => new Date('2026-11-10T12:00:00Z') } }],
    }).compile();
    // As the services run (libs/platform bootstrap): answers made as bytes are sent as they are.
    app = moduleRef.createNestApplication(new BytesReplyExpressAdapter());
    app.useGlobalFilters(new ProblemDetailsFilter());
    await app.init();
    http = request(app.getHttpServer());

    await project(meteringPointsProjection, 'MeteringPointRegistered', { gsrn: GSRN_A, type: 'E17', settlementMethod: 'D01', gridArea: '791', priceArea: 'DK1' });
    await project(meteringPointsProjection, 'MeteringPointRegistered', { gsrn: GSRN_B, type: 'E17', settlementMethod: 'D01', gridArea: '131', priceArea: 'DK2' });
    await supply(GSRN_A, CUSTOMER_A, '2026-10-01', '791', 'flex');
    await supply(GSRN_B, CUSTOMER_B, '2026-09-01', '131', 'fixed');
    // A previous occupant's day on GSRN A (before A's supply), then A's October: 0.400 kWh/h, a spike on the 21st.
    await day(GSRN_A, '2026-09-30', '9.000');
    for (let d = '2026-10-01'; d <= '2026-10-31'; d = addDays(d, 1)) await day(GSRN_A, d, d === '2026-10-21' ? '2.000' : '0.400', d === '2026-10-31' ? 'A03' : null);
    for (let d = '2026-10-01'; d <= '2026-10-25'; d = addDays(d, 1)) await day(GSRN_B, d, d === '2026-10-22' ? '5.000' : '0.500');
    invoiceA = await invoice(CUSTOMER_A, GSRN_A);
    invoiceB = await invoice(CUSTOMER_B, GSRN_B);
    await project(settlementProjection, 'AcontoPaymentRecorded', { paymentId: 'pay-a', customerId: CUSTOMER_A, gsrn: GSRN_A, amount: '300.00', paidAt: '2026-10-05T10:00:00Z' });
    await project(settlementProjection, 'AcontoPaymentRecorded', { paymentId: 'pay-b', customerId: CUSTOMER_B, gsrn: GSRN_B, amount: '450.00', paidAt: '2026-10-05T10:00:00Z' });
    const acontoInvoice = (customerId: string, gsrn: string, quarter: string, periodStart: string, periodEnd: string, amountInclVat: string, amountExclVat: string, vat: string, acontoInvoiceId = randomUUID()) =>
      project(settlementProjection, 'AcontoInvoiceIssued', {
        acontoInvoiceId,
        customerId,
        gsrn,
        quarter,
        periodStart,
        periodEnd,
        amountInclVat,
        amountExclVat,
        vat,
        dueDate: periodStart,
        trigger: quarter === '2026-Q4' ? 'supply-started' : 'settlement',
        settledPeriod: quarter === '2026-Q4' ? null : '2026-Q4',
        basis: { expectedAnnualKwh: '1000', pricePerKwh: '2.000000', priceSource: 'prices', referenceMonth: '2026-09', monthlySubscriptions: '84.00', quarterShare: '0.25', daysSupplied: 92, daysInQuarter: 92 },
      });
    await acontoInvoice(CUSTOMER_A, GSRN_A, '2026-Q4', '2026-10-01', '2026-12-31', '940.00', '752.00', '188.00');
    await acontoInvoice(CUSTOMER_A, GSRN_A, '2027-Q1', '2027-01-01', '2027-03-31', '941.25', '753.00', '188.25', ACONTO_2027Q1_A);
    // Paid by Betalingsservice, matched to the aconto invoice (payment.received); and a payment on A's ordinary invoice.
    await project(paymentsProjection, 'PaymentReceived', { paymentId: 'bs-1', customerId: CUSTOMER_A, invoiceId: ACONTO_2027Q1_A, amount: '941.25', paidAt: '2026-12-01T06:00:00Z', method: 'betalingsservice' });
    await project(paymentsProjection, 'PaymentReceived', { paymentId: 'fi-1', customerId: CUSTOMER_A, invoiceId: invoiceA, amount: '10.00', paidAt: '2026-11-20T12:00:00Z', method: 'bank-transfer' });
    await acontoInvoice(CUSTOMER_B, GSRN_B, '2026-Q4', '2026-10-01', '2026-12-31', '777.77', '622.22', '155.55');
    await project(rateNotificationsProjection, 'GridAreaMapped', { gridArea: '791', priceArea: 'DK1', gridCompanyGln: '5790000000001', gridTariffChargeId: 'grid-791', gridSubscriptionChargeId: 'sub-791' });
    await project(rateNotificationsProjection, 'GridAreaMapped', { gridArea: '131', priceArea: 'DK2', gridCompanyGln: '5790000000002', gridTariffChargeId: 'grid-131', gridSubscriptionChargeId: 'sub-131' });
    for (const [id, gln] of [
      ['grid-791', '5790000000001'],
      ['grid-131', '5790000000002'],
      ['system', ENERGINET_GLN],
    ]) {
      await charge(id, gln, 1, ['0.100000']);
      await charge(id, gln, 2, ['0.100000', '0.150000']);
    }
    await project(rateNotificationsProjection, 'ProductDefined', { productId: 'flex', name: 'Flex', marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '29.00', validFrom: '2026-01-01' });
    await project(rateNotificationsProjection, 'ProductDefined', { productId: 'flex', name: 'Flex', marginDkkPerKwh: '0.07', monthlySubscriptionDkk: '29.00', validFrom: '2026-12-01' });
    await project(rateNotificationsProjection, 'ProductDefined', { productId: 'fixed', name: 'Fixed', marginDkkPerKwh: '0.10', monthlySubscriptionDkk: '0.00', validFrom: '2026-01-01' });
    await project(rateNotificationsProjection, 'ProductDefined', { productId: 'fixed', name: 'Fixed', marginDkkPerKwh: '0.20', monthlySubscriptionDkk: '0.00', validFrom: '2026-12-01' });
  });
  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
    await pool?.end();
    await db?.drop();
  });

  const asA = async () => bearer(await issueTestJwt({ kind: 'customer', customerId: CUSTOMER_A }));
  const consumption = async (query: string, status: number) => http.get(`/api/portal/consumption?${query}`).set(await asA()).expect(status);

  describe('consumption of the customer\'s own metering point', () => {
    it('by hour on the 25-hour day: both 02:00 hours, labelled with their offsets; total exact', async () => {
      const res = await consumption(`gsrn=${GSRN_A}&from=2026-10-25&to=2026-10-25&resolution=hour`, 200);
      expect(res.body.values).toHaveLength(25);
      const starts = res.body.values.map((v: { start: string }) => v.start);
      expect(starts.slice(0, 4)).toEqual(['2026-10-25T00:00+02:00', '2026-10-25T01:00+02:00', '2026-10-25T02:00+02:00', '2026-10-25T02:00+01:00']);
      expect(starts[24]).toBe('2026-10-25T23:00+01:00');
      expect(res.body.values[2]).toEqual({ start: '2026-10-25T02:00+02:00', end: '2026-10-25T02:00+01:00', quantity_kwh: '0.400', estimated: false, missing: false });
      expect(res.body.total_kwh).toBe('10.000');
      expect(res.body).toMatchObject({ gsrn: GSRN_A, resolution: 'hour', time_zone: 'Europe/Copenhagen', unit: 'kWh', supply: { start: '2026-10-01', end: null } });
    });

    it('by day: 23/24/25-hour days, and nothing from before the customer\'s supply started', async () => {
      const res = await consumption(`gsrn=${GSRN_A}&from=2026-09-29&to=2026-10-03&resolution=day`, 200);
      expect(res.body.values.map((v: { date: string }) => v.date)).toEqual(['2026-10-01', '2026-10-02', '2026-10-03']);
      expect(res.body.values[0]).toEqual({ date: '2026-10-01', start: '2026-10-01T00:00+02:00', end: '2026-10-02T00:00+02:00', hours: 24, quantity_kwh: '9.600', estimated: false, missing: false });
      expect(res.body.total_kwh).toBe('28.800');
      const long = await consumption(`gsrn=${GSRN_A}&from=2026-10-25&to=2026-10-25&resolution=day`, 200);
      expect(long.body.values[0]).toMatchObject({ hours: 25, quantity_kwh: '10.000', start: '2026-10-25T00:00+02:00', end: '2026-10-26T00:00+01:00' });
    });

    it('by month: the month total equals the sum of its days; a month cut by the range is summed from its days', async () => {
      const days = await consumption(`gsrn=${GSRN_A}&from=2026-10-01&to=2026-10-31&resolution=day`, 200);
      const month = await consumption(`gsrn=${GSRN_A}&from=2026-09-01&to=2026-11-30&resolution=month`, 200);
      // 29 × 9.600 + 10.000 (the 25-hour day) + 48.000 (the spike) = 336.400
      expect(days.body.total_kwh).toBe('336.400');
      expect(month.body.values).toEqual([{ month: '2026-10', start: '2026-10-01T00:00+02:00', end: '2026-11-01T00:00+01:00', quantity_kwh: '336.400', estimated: true, missing: false }]);
      const part = await consumption(`gsrn=${GSRN_A}&from=2026-10-20&to=2026-10-22&resolution=month`, 200);
      expect(part.body.values).toEqual([{ month: '2026-10', start: '2026-10-20T00:00+02:00', end: '2026-10-23T00:00+02:00', quantity_kwh: '67.200', estimated: false, missing: false }]);
    });
  });

  describe('values assembled as JSON text by PostgreSQL', () => {
    it('equal value for value what the gateway shapes itself, for hours and days, estimated and partial included', async () => {
      for (const [resolution, from, to, cutFrom] of [
        ['hour', '2026-10-24', '2026-10-26', '2026-10-24'],
        ['day', '2026-10-01', '2026-10-31', '2026-10-01'],
        ['hour', '2026-10-31', '2026-10-31', '2026-10-31'],
        ['day', '2026-11-01', '2026-11-30', '2026-11-01'],
        // Across the start of A's supply: the previous occupant's 30 September is not A's.
        ['hour', '2026-09-29', '2026-10-02', '2026-10-01'],
        ['day', '2026-09-29', '2026-10-02', '2026-10-01'],
      ] as const) {
        const read = await readCustomerConsumption(pool, GSRN_A, CUSTOMER_A, from, to, resolution);
        expect(read?.cut).toEqual({ from: cutFrom, to });
        const shaped = await readConsumption(dataSource, GSRN_A, cutFrom, to, resolution);
        expect(read?.json).not.toBeNull();
        expect(JSON.parse(`[${read!.json!.valuesJson}]`)).toEqual(shaped);
        expect(read!.json).toMatchObject({ total: totalOf(shaped), estimated: shaped.some((v) => v.estimated), missing: shaped.some((v) => v.missing) });
      }
    });

    it('cuts the range to the customer\'s supply in the statement: before, across, after its start and end, and no supply at all', async () => {
      const cut = async (client: Pick<Pool, 'query'>, from: string, to: string) =>
        Promise.all((['hour', 'day', 'month'] as const).map(async (resolution) => {
          const read = await readCustomerConsumption(client, GSRN_A, CUSTOMER_A, from, to, resolution);
          return read && { supply: read.supply, cut: read.cut, json: read.json === null ? null : (read.json.valuesJson ?? '').length > 0 };
        }));
      const all = (value: unknown) => [value, value, value];
      const open = { start: '2026-10-01', end: null };
      expect(await cut(pool, '2026-09-01', '2026-09-30')).toEqual(all({ supply: open, cut: null, json: null }));
      expect(await cut(pool, '2026-09-30', '2026-10-01')).toEqual([
        { supply: open, cut: { from: '2026-10-01', to: '2026-10-01' }, json: true },
        { supply: open, cut: { from: '2026-10-01', to: '2026-10-01' }, json: true },
        { supply: open, cut: { from: '2026-10-01', to: '2026-10-01' }, json: null },
      ]);
      // Another customer's supply on the same GSRN, and a customer without any: nothing.
      expect(await readCustomerConsumption(pool, GSRN_A, CUSTOMER_B, '2026-10-01', '2026-10-31', 'day')).toBeUndefined();
      expect(await readCustomerConsumption(pool, GSRN_UNKNOWN, CUSTOMER_A, '2026-10-01', '2026-10-31', 'hour')).toBeUndefined();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        try {
          // The supply ends on 20 October (exclusive): the 19th is its last day.
          await client.query(`UPDATE ${METERING_POINTS_TABLE} SET supply_end = '2026-10-20' WHERE gsrn = $1`, [GSRN_A]);
          const ended = { start: '2026-10-01', end: '2026-10-20' };
          const cutTo19 = { supply: ended, cut: { from: '2026-10-18', to: '2026-10-19' } };
          expect(await cut(client, '2026-10-18', '2026-10-25')).toEqual([{ ...cutTo19, json: true }, { ...cutTo19, json: true }, { ...cutTo19, json: null }]);
          expect(await cut(client, '2026-10-20', '2026-10-25')).toEqual(all({ supply: ended, cut: null, json: null }));
          const wide = await readCustomerConsumption(client, GSRN_A, CUSTOMER_A, '2026-09-01', '2026-12-31', 'day');
          expect(wide?.cut).toEqual({ from: '2026-10-01', to: '2026-10-19' });
          expect(JSON.parse(`[${wide!.json!.valuesJson}]`).map((v: { date: string }) => v.date)).toEqual(Array.from({ length: 19 }, (_, i) => addDays('2026-10-01', i)));
          // A metering point row of the customer without a supply start: nothing is supplied.
          await client.query(`UPDATE ${METERING_POINTS_TABLE} SET supply_start = NULL, supply_end = NULL WHERE gsrn = $1`, [GSRN_A]);
          expect(await cut(client, '2026-10-01', '2026-10-31')).toEqual(all({ supply: { start: null, end: null }, cut: null, json: null }));
        } finally {
          await client.query('ROLLBACK');
        }
      } finally {
        client.release();
      }
    });

    it('answers from named statements prepared before the tables changed their column types (as a rebuild into a new layout swaps them)', async () => {
      const client = await pool.connect();
      try {
        const reads = () =>
          Promise.all([
            readCustomerConsumption(client, GSRN_A, CUSTOMER_A, '2026-10-24', '2026-10-26', 'hour'),
            // The gzip answer's statement (its parts are not made yet here: it answers as the text read).
            readCustomerConsumption(client, GSRN_A, CUSTOMER_A, '2026-10-24', '2026-10-26', 'hour', true),
            readCustomerConsumption(client, GSRN_A, CUSTOMER_A, '2026-10-01', '2026-10-31', 'day'),
            readCustomerConsumption(client, GSRN_A, CUSTOMER_A, '2026-10-01', '2026-10-31', 'month'),
          ]);
        const before = await reads();
        expect(before[0]?.json?.valuesJson).toContain('"quantity_kwh"');
        expect(before[1]).toEqual(before[0]);
        expect(before[3]).toEqual({ supply: { start: '2026-10-01', end: null }, cut: { from: '2026-10-01', to: '2026-10-31' }, json: null });
        await client.query('BEGIN');
        try {
          // The statements are prepared on this connection; PostgreSQL analyses them again against the changed tables.
          await client.query(`ALTER TABLE ${CONSUMPTION_HOURS_TABLE} ALTER COLUMN hours_json TYPE varchar, ALTER COLUMN total TYPE numeric(20, 3), ALTER COLUMN any_estimated TYPE text`);
          await client.query(`ALTER TABLE ${CONSUMPTION_DAILY_TABLE} ALTER COLUMN quantity TYPE numeric(20, 3)`);
          await client.query(`ALTER TABLE ${METERING_POINTS_TABLE} ALTER COLUMN supply_start TYPE timestamp, ALTER COLUMN supply_end TYPE timestamp`);
          expect(await reads()).toEqual(before);
        } finally {
          await client.query('ROLLBACK');
        }
      } finally {
        client.release();
      }
    });

    it('sums the hours\' day rows exactly as PostgreSQL sums them, with the scale of the most precise', async () => {
      const totals = ['0.100', '1.2340', '-0.125', '9007199254740993.001', '25.000'];
      const { rows } = await pool.query<{ sum: string }>('SELECT sum(x)::text AS sum FROM unnest($1::numeric[]) AS x', [totals]);
      expect(sumDecimalText(totals)).toBe(rows[0]!.sum);
    });

    it('falls back to shaping in the gateway for rows written before the labels were stored', async () => {
      // Day rows (hours rows always carry their labels: that table came with them).
      const query = `gsrn=${GSRN_A}&from=2026-10-24&to=2026-10-26&resolution=day`;
      const before = (await consumption(query, 200)).body;
      await pool.query(`UPDATE ${CONSUMPTION_DAILY_TABLE} SET start_label = NULL WHERE gsrn = $1 AND day = '2026-10-25' RETURNING start_label`, [GSRN_A]);
      try {
        expect((await readCustomerConsumption(pool, GSRN_A, CUSTOMER_A, '2026-10-24', '2026-10-26', 'day'))?.json).toBeNull();
        expect((await consumption(query, 200)).body).toEqual(before);
      } finally {
        await pool.query(`UPDATE ${CONSUMPTION_DAILY_TABLE} SET start_label = '2026-10-25T00:00+02:00' WHERE gsrn = $1 AND day = '2026-10-25'`, [GSRN_A]);
      }
    });

    it('builds a day\'s JSON from its columns and labels for daily rows written before the projection stored it (days-v5)', async () => {
      const query = `gsrn=${GSRN_A}&from=2026-10-24&to=2026-10-26&resolution=day`;
      const before = (await consumption(query, 200)).body;
      expect(before.values).toHaveLength(3);
      const saved = await pool.query<{ day_json: string }>(
        `UPDATE ${CONSUMPTION_DAILY_TABLE} d SET day_json = NULL FROM ${CONSUMPTION_DAILY_TABLE} o
          WHERE d.gsrn = $1 AND d.day = '2026-10-25' AND o.gsrn = d.gsrn AND o.day = d.day RETURNING o.day_json`,
        [GSRN_A],
      );
      expect(saved.rows).toHaveLength(1);
      expect(saved.rows[0].day_json).toContain('"hours":25');
      try {
        expect((await readCustomerConsumption(pool, GSRN_A, CUSTOMER_A, '2026-10-24', '2026-10-26', 'day'))?.json).not.toBeNull();
        expect((await consumption(query, 200)).body).toEqual(before);
      } finally {
        await pool.query(`UPDATE ${CONSUMPTION_DAILY_TABLE} SET day_json = $2 WHERE gsrn = $1 AND day = '2026-10-25'`, [GSRN_A, saved.rows[0].day_json]);
      }
    });

    it('reads the hours one by one from the day rows\' JSON (days-v6: their only copy), each labelled as dk-time labels its instant', async () => {
      const hours = await readConsumption(dataSource, GSRN_A, '2026-10-24', '2026-10-26', 'hour');
      // 24 + 25 + 24 hours, in time order, both 02:00 hours of 2026-10-25 apart.
      expect(hours).toHaveLength(73);
      const first = localDayStart('2026-10-24').getTime();
      expect(hours.map((h) => [h.start, h.end])).toEqual(
        Array.from({ length: 73 }, (_, i) => [localLabel(new Date(first + i * 3_600_000)), localLabel(new Date(first + (i + 1) * 3_600_000))]),
      );
      expect(hours.every((h) => /^-?\d+\.\d{3,}$/.test(h.quantity_kwh))).toBe(true);
    });
  });

  describe('another customer\'s data', () => {
    it('their GSRN answers exactly like an unknown GSRN (404)', async () => {
      const other = await consumption(`gsrn=${GSRN_B}&from=2026-10-01&to=2026-10-31&resolution=day`, 404);
      const unknown = await consumption(`gsrn=${GSRN_UNKNOWN}&from=2026-10-01&to=2026-10-31&resolution=day`, 404);
      expect(other.headers['content-type']).toBe(unknown.headers['content-type']);
      expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(other.body).toEqual(unknown.body);
      expect(JSON.stringify(other.body)).not.toContain('0.500');
    });

    it('naming the other customer in customer_id answers 404 too, on every endpoint', async () => {
      const own = await consumption(`gsrn=${GSRN_B}&from=2026-10-01&to=2026-10-31&customer_id=${CUSTOMER_B}`, 404);
      expect(own.body.type).toContain('metering-point-not-found');
      for (const path of ['invoices', 'contract', 'aconto', 'notifications']) {
        const res = await http.get(`/api/portal/${path}?customer_id=${CUSTOMER_B}`).set(await asA()).expect(404);
        expect(JSON.stringify(res.body)).not.toContain(GSRN_B);
      }
    });

    it('lists never include the other customer\'s data', async () => {
      const auth = await asA();
      const bodies: Record<string, string> = {};
      for (const path of ['invoices', 'contract', 'aconto', 'notifications']) {
        const res = await http.get(`/api/portal/${path}`).set(auth).expect(200);
        expect(res.body.customer_id).toBe(CUSTOMER_A);
        bodies[path] = JSON.stringify(res.body);
        expect(bodies[path]).not.toContain(GSRN_B);
        expect(bodies[path]).not.toContain(CUSTOMER_B);
      }
      const invoices = JSON.parse(bodies.invoices);
      expect(invoices.invoices.map((i: { invoice_id: string }) => i.invoice_id)).toEqual([invoiceA]);
      expect(bodies.invoices).not.toContain(invoiceB);
      expect(invoices.invoices[0].lines[0]).toMatchObject({ kind: 'energy', amount_incl_vat: '125.00' });

      const contract = JSON.parse(bodies.contract);
      expect(contract.contracts).toEqual([
        {
          gsrn: GSRN_A,
          product: { product_id: 'flex', name: 'Flex', margin_dkk_per_kwh: '0.05', monthly_subscription_dkk: '29.00', prices_valid_from: '2026-01-01' },
          billing_frequency: 'quarterly',
          payment_model: 'aconto',
          supply: { status: 'active', start: '2026-10-01', end: null },
          metering_point: { gsrn: GSRN_A, type: 'E17', settlement_method: 'D01', grid_area: '791', price_area: 'DK1', supply_start: '2026-10-01' },
        },
      ]);

      const aconto = JSON.parse(bodies.aconto);
      // Payments from every source: matched to an aconto invoice (here Betalingsservice) and recorded on the metering point.
      expect(aconto.payments).toEqual([
        { payment_id: 'bs-1', gsrn: GSRN_A, amount: '941.25', paid_at: '2026-12-01T06:00:00.000Z', method: 'betalingsservice', aconto_invoice_id: ACONTO_2027Q1_A },
        { payment_id: 'pay-a', gsrn: GSRN_A, amount: '300.00', paid_at: '2026-10-05T10:00:00.000Z', method: 'aconto-payment', aconto_invoice_id: null },
      ]);
      expect(invoices.invoices[0]).toMatchObject({ paid: '10.00', payments: [{ payment_id: 'fi-1', amount: '10.00', paid_at: '2026-11-20T12:00:00.000Z', method: 'bank-transfer' }] });
      // The current amount is the latest quarter's aconto invoice; the history lists the customer's own only.
      expect(aconto.metering_points[0]).toMatchObject({ gsrn: GSRN_A, current_amount: { amount_incl_vat: '941.25', quarter: '2027-Q1', due_date: '2027-01-01' }, next_settlement_date: '2027-01-01', last_payment: { amount: '941.25' } });
      expect(aconto.aconto_invoices.map((a: { quarter: string; amount_incl_vat: string }) => [a.quarter, a.amount_incl_vat])).toEqual([
        ['2027-Q1', '941.25'],
        ['2026-Q4', '940.00'],
      ]);
      expect(bodies.aconto).not.toContain('777.77');
      expect(aconto.settlements).toEqual([expect.objectContaining({ invoice_id: invoiceA, aconto_paid: '300.00', aconto_difference: '-175.00' })]);
      expect(bodies.aconto).not.toContain('450.00');

      const notifications = JSON.parse(bodies.notifications).notifications as { id: string; kind: string; date: string; detail: Record<string, unknown> }[];
      expect(notifications.filter((n) => n.kind === 'unusual-consumption').map((n) => n.date)).toEqual(['2026-10-21']);
      // Their grid area's tariff and Energinet's, and their own product; not B's grid area or product.
      const rates = notifications.filter((n) => n.kind !== 'unusual-consumption').map((n) => `${n.kind}:${String(n.detail.charge_id ?? n.detail.product_id)}:${n.date}`);
      expect(rates.sort()).toEqual(['charge-prices-changed:grid-791:2027-01-01', 'charge-prices-changed:system:2027-01-01', 'product-prices-changed:flex:2026-12-01']);
    });
  });

  it('refuses a range over two years with a 400 problem naming the field', async () => {
    const res = await consumption(`gsrn=${GSRN_A}&from=2024-01-01&to=2026-01-01&resolution=month`, 400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual([{ field: 'to', messages: [expect.stringContaining('2 years')] }]);
    await consumption(`gsrn=${GSRN_A}&from=2024-01-01&to=2025-12-31&resolution=month`, 200);
    const bad = await consumption(`gsrn=${GSRN_A}&from=2026-10-01&to=2026-10-02&resolution=week`, 400);
    expect(bad.body.errors[0].field).toBe('resolution');
  });

  describe('hours gzip-encoded from the read model\'s deflate parts', () => {
    const hours = `gsrn=${GSRN_A}&from=2026-10-20&to=2026-10-31&resolution=hour`;
    const get = async (query: string, acceptEncoding: string | null, extra: Record<string, string> = {}) => {
      const req = http.get(`/api/portal/consumption?${query}`).set(await asA());
      for (const [k, v] of Object.entries(extra)) req.set(k, v);
      // superagent asks for gzip itself and inflates what comes (checking gzip's CRC-32 and length): `text` is the JSON.
      return (acceptEncoding === null ? req : req.set('Accept-Encoding', acceptEncoding)).expect(200);
    };

    it('answers as text until the parts are made, then as gzip that inflates to exactly the same text; only when asked', async () => {
      const plain = await get(hours, 'identity');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toMatch(/Accept-Encoding/i);
      expect(plain.body.values).toHaveLength(12 * 24 + 1);
      // No part made yet (the filler runs in the projections service): text, whatever the client accepts.
      const before = await get(hours, 'gzip');
      expect(before.headers['content-encoding']).toBeUndefined();
      expect(before.text).toBe(plain.text);

      while ((await fillHourParts(pool)) > 0);
      const zipped = await get(hours, 'gzip, deflate, br');
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers['content-type']).toMatch(/^application\/json; charset=utf-8/);
      expect(zipped.headers.vary).toMatch(/Accept-Encoding/i);
      expect(zipped.text).toBe(plain.text);
      expect(Number(zipped.headers['content-length'])).toBeLessThan(Buffer.byteLength(plain.text) / 5);
      // Refused or not asked for: text. Days and months: text (only hours are stored as parts).
      for (const accept of ['gzip;q=0, identity', 'identity', 'br']) expect((await get(hours, accept)).headers['content-encoding']).toBeUndefined();
      const days = await get(`gsrn=${GSRN_A}&from=2026-10-01&to=2026-10-31&resolution=day`, 'gzip');
      expect(days.headers['content-encoding']).toBeUndefined();
      // A range with no day rows, one day, and the cut at the supply's start: the same text either way.
      for (const query of [`gsrn=${GSRN_A}&from=2026-11-05&to=2026-11-06&resolution=hour`, `gsrn=${GSRN_A}&from=2026-10-25&to=2026-10-25&resolution=hour`, `gsrn=${GSRN_A}&from=2026-09-29&to=2026-10-02&resolution=hour`]) {
        expect((await get(query, 'gzip')).text).toBe((await get(query, 'identity')).text);
      }
    });

    it('answers a range with a day whose part is not made yet as text; staff reads of gzip answers are audited', async () => {
      while ((await fillHourParts(pool)) > 0);
      const plain = await get(hours, 'identity');
      // A later document for 26 October (a new day row, no part yet).
      await day(GSRN_A, '2026-10-26', '0.500');
      const mixed = await get(hours, 'gzip');
      expect(mixed.headers['content-encoding']).toBeUndefined();
      expect(mixed.body.values.find((v: { start: string }) => v.start === '2026-10-26T05:00+01:00')).toMatchObject({ quantity_kwh: '0.500' });
      expect(mixed.text).not.toBe(plain.text);
      expect((await get(`gsrn=${GSRN_A}&from=2026-10-20&to=2026-10-25&resolution=hour`, 'gzip')).headers['content-encoding']).toBe('gzip');
      expect(await fillHourParts(pool)).toBe(1);
      const zipped = await get(hours, 'gzip');
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.text).toBe(mixed.text);

      const staff = bearer(await issueTestJwt({ kind: 'staff', roles: ['support'], subject: 'emp-gz' }));
      const read = await http.get(`/api/portal/consumption?${hours}&customer_id=${CUSTOMER_A}`).set(staff).set('X-Access-Reason', 'ticket 9').set('Accept-Encoding', 'gzip').expect(200);
      expect(read.headers['content-encoding']).toBe('gzip');
      expect(read.text).toBe(zipped.text);
      const entries = await app.get(AuditLog).query({ actorId: 'emp-gz', action: 'portal.consumption.read' });
      expect(entries.map((e) => [e.subjectId, e.outcome, e.purpose])).toEqual([[CUSTOMER_A, 'success', 'ticket 9']]);
    });
  });

  describe('staff', () => {
    const asStaff = async () => bearer(await issueTestJwt({ kind: 'staff', roles: ['support'], subject: 'emp-7' }));

    it('read a customer\'s consumption with customer_id and an access reason, and the read is audited', async () => {
      const auth = await asStaff();
      await http.get(`/api/portal/consumption?gsrn=${GSRN_A}&from=2026-10-01&to=2026-10-01&customer_id=${CUSTOMER_A}`).set(auth).expect(400);
      const res = await http
        .get(`/api/portal/consumption?gsrn=${GSRN_A}&from=2026-10-01&to=2026-10-01&customer_id=${CUSTOMER_A}`)
        .set(auth)
        .set('X-Access-Reason', 'ticket 4711')
        .expect(200);
      expect(res.body.total_kwh).toBe('9.600');
      // Staff asking for the wrong customer's GSRN get the same 404 and the attempt is audited too.
      await http.get(`/api/portal/consumption?gsrn=${GSRN_B}&from=2026-10-01&to=2026-10-01&customer_id=${CUSTOMER_A}`).set(auth).set('X-Access-Reason', 'ticket 4711').expect(404);
      const entries = await app.get(AuditLog).query({ actorId: 'emp-7', action: 'portal.consumption.read' });
      expect(entries.map((e) => [e.subjectId, e.outcome, e.purpose])).toEqual([
        [CUSTOMER_A, 'refused', null],
        [CUSTOMER_A, 'success', 'ticket 4711'],
        [CUSTOMER_A, 'not-found', 'ticket 4711'],
      ]);
    });

    it('must name the customer; a customer token cannot use staff-only paths and a system without the scopes is refused', async () => {
      const res = await http.get('/api/portal/invoices').set(await asStaff()).set('X-Access-Reason', 'ticket 1').expect(400);
      expect(res.body.errors[0].field).toBe('customer_id');
      await http
        .get(`/api/portal/invoices?customer_id=${CUSTOMER_B}`)
        .set(bearer(await issueTestJwt({ kind: 'client', consumer: 'crm' })))
        .expect(403);
      const staffB = await http.get(`/api/portal/invoices?customer_id=${CUSTOMER_B}`).set(await asStaff()).set('X-Access-Reason', 'ticket 2').expect(200);
      expect(staffB.body.invoices.map((i: { invoice_id: string }) => i.invoice_id)).toEqual([invoiceB]);
    });
  });
});
