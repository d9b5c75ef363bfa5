import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { bearer, issueTestJwt, testAuthIssuersEnv } from '@dh/auth/testing';
import { addDays, localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { CommandClient } from '@dh/messaging';
import { loadConfig, openInfrastructure, startServiceProcess, type Infrastructure, type ServiceProcess } from '@dh/platform';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';

const gsrn = (n: number): string => {
  const body = `57131317400000${String(n).padStart(3, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};
const MP1 = gsrn(11);
const MP2 = gsrn(12);
const MP3 = gsrn(13);
/** Customer ids are UUIDs at the API (a non-UUID id is refused with 400). */
const CUSTOMER_1 = '00000000-0000-4000-8000-0000000e2e01';
const CUSTOMER_2 = '00000000-0000-4000-8000-0000000e2e02';
const CUSTOMER_3 = '00000000-0000-4000-8000-0000000e2e03';
const ENERGINET = '5790000432752';
const RADIUS = '5790000705689';
const PUBLISHED = '2025-06-01T00:00:00.000Z';

function days(from: LocalDate, toExclusive: LocalDate): LocalDate[] {
  const out: LocalDate[] = [];
  for (let d = from; d < toExclusive; d = addDays(d, 1)) out.push(d);
  return out;
}

function metered(g: string, documentId: string, from: LocalDate, toExclusive: LocalDate, kwh: (hour: Date) => string): JsonObject {
  const hours = days(from, toExclusive).flatMap((d) => localDayIntervals(d, 'PT1H'));
  return {
    gsrn: g,
    documentId,
    receivedAt: '2026-11-02T08:00:00Z',
    resolution: 'PT1H',
    start: localDayStart(from).toISOString(),
    end: localDayStart(toExclusive).toISOString(),
    points: hours.map((h, i) => ({ position: i + 1, quantityKwh: kwh(h), quality: 'A04' })),
  };
}

/** The ERP flow across real processes: inputs → settlement → projections → gateway API. */
describe('settlement ERP API end to end', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let commands: CommandClient;
  const services: ServiceProcess[] = [];
  let gateway: ServiceProcess;

  const append = (streamId: string, context: string, type: string, data: JsonObject) =>
    infra.eventStore.appendToStream(
      streamId,
      [{ eventId: randomUUID(), type, data, metadata: { correlationId: randomUUID(), causationId: null, actor: 'e2e', schemaVersion: 1, context }, occurredAt: new Date() }],
      { expectedRevision: 'any' },
    );

  beforeAll(async () => {
    db = await createTestDatabase('settlement_e2e');
    vhost = await createTestVhost('settlement_e2e');
    const env = { DATABASE_URL: db.url, AMQP_URL: vhost.url, COMMAND_TIMEOUT_MS: '10000', AUTH_ISSUERS: testAuthIssuersEnv(), SETTLEMENT_HALT_RETRY_INTERVAL_MS: '500', SETTLEMENT_SCHEDULE_INTERVAL_MS: '0' };
    for (const name of ['settlement', 'projections', 'gateway']) services.push(await startServiceProcess(name, env));
    gateway = services[2]!;
    infra = await openInfrastructure(loadConfig('settlement-e2e', 0, env));
    commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();

    await append('grid-area-791', 'rates', 'GridAreaMapped', {
      gridArea: '791',
      priceArea: 'DK2',
      gridCompanyGln: RADIUS,
      gridTariffChargeId: `${RADIUS}:D03:DT_C_01`,
      gridSubscriptionChargeId: `${RADIUS}:D01:DA_C_F_01`,
    });
    const charge = (owner: string, chargeType: string, code: string, resolution: string, prices: string[]) =>
      append(`charge-${owner}:${chargeType}:${code}`, 'rates', 'ChargePricesPublished', {
        chargeId: `${owner}:${chargeType}:${code}`,
        owner,
        gln: owner,
        chargeType,
        code,
        description: code,
        version: 1,
        publishedAt: PUBLISHED,
        rows: [{ validFrom: '2026-01-01', validTo: null, resolution, prices }],
      });
    await charge(RADIUS, 'D03', 'DT_C_01', 'PT1H', Array.from({ length: 24 }, () => '0.30'));
    await charge(RADIUS, 'D01', 'DA_C_F_01', 'P1M', ['30.00']);
    await charge(ENERGINET, 'D03', '41000', 'P1D', ['0.07']);
    await charge(ENERGINET, 'D03', '40000', 'P1D', ['0.04']);
    await charge(ENERGINET, 'D01', '41004', 'P1M', ['15.00']);
    await append('electricity-tax', 'rates', 'ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: '0.01', reducedDkkPerKwh: '0.01' });
    await append('product-spot', 'rates', 'ProductDefined', { productId: 'spot', name: 'Spot', marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '39.00', validFrom: '2026-01-01' });
    for (const day of days('2026-10-01', '2026-11-01')) {
      await append(`spot-prices-DK2-${day}`, 'rates', 'SpotPricesPublished', {
        priceArea: 'DK2',
        deliveryDate: day,
        resolution: 'PT1H',
        source: 'e2e',
        version: 1,
        publishedAt: PUBLISHED,
        prices: localDayIntervals(day, 'PT1H').map((h) => ({ start: h.toISOString(), dkkPerMwh: '1000', dkkPerKwh: '1.00' })),
      });
    }
    for (const [g, customerId, paymentModel] of [
      [MP1, CUSTOMER_1, 'actual'],
      [MP2, CUSTOMER_2, 'aconto'],
    ] as const) {
      await append(`supply-${g}`, 'portfolio', 'SupplyStarted', { gsrn: g, customerId, startDate: '2026-01-01', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'monthly', paymentModel });
      await commands.send('settlement', 'RecordMeteredData', metered(g, `doc-${g}`, '2026-10-01', '2026-11-01', () => '1.000'), { actor: 'e2e' });
    }
    await commands.send('settlement', 'RecordAcontoPayment', { customerId: CUSTOMER_2, gsrn: MP2, amount: '1000.00', paidAt: '2026-10-05T10:00:00Z' }, { actor: 'e2e' });
    await eventually(async () => {
      const n = await infra.pool.query<{ md: string; sp: string; pay: string; sup: string }>(
        `SELECT (SELECT count(*) FROM settlement.metered_data) AS md, (SELECT count(*) FROM settlement.spot_prices) AS sp,
                (SELECT count(*) FROM settlement.aconto_payments) AS pay, (SELECT count(*) FROM settlement.supplies) AS sup`,
      );
      expect(n.rows[0]).toEqual({ md: '62', sp: '745', pay: '1', sup: '2' });
    }, 30_000, 200);
  }, 180_000);

  afterAll(async () => {
    await commands?.close();
    await Promise.all(services.map((s) => s.stop()));
    await infra?.close();
    await vhost?.drop();
    await db?.drop();
  }, 60_000);

  it('POST /api/settlement/runs settles the month; progress, export (JSON and CSV), lines, balance and credit notes follow', async () => {
    const erp = bearer(await issueTestJwt({ kind: 'client', consumer: 'erp' }));
    const staff = bearer(await issueTestJwt({ kind: 'staff', roles: ['admin'] }));
    const api = {
      get: (path: string) => request(gateway.url).get(path).set(erp),
      post: (path: string) => request(gateway.url).post(path).set(staff),
      acknowledge: (path: string) => request(gateway.url).post(path).set(erp),
    };
    const started = await api.post('/api/settlement/runs').send({ period: '2026-10' }).expect(202);
    const runId = started.body.runId as string;
    expect(started.body).toMatchObject({ period: '2026-10', items: 2, alreadyStarted: false });

    const run = await eventually(async () => {
      const r = await api.get(`/api/settlement/runs/${runId}`).expect(200);
      expect(r.body.status).toBe('completed');
      return r.body;
    }, 30_000, 200);
    expect(run.items).toEqual({ total: 2, done: 2, invoiced: 2, halted: 0 });

    const exported = await api.get('/api/settlement/export?period=2026-10').expect(200);
    const invoices = exported.body.invoices as { invoice_id: string; gsrn: string; total_incl_vat: string; aconto_paid: string; aconto_difference: string; net_amount_due: string }[];
    expect(invoices.map((i) => [i.gsrn, i.total_incl_vat, i.aconto_paid, i.aconto_difference, i.net_amount_due])).toEqual([
      [MP1, '1473.94', '0.00', '0.00', '1473.94'],
      [MP2, '1473.94', '1000.00', '473.94', '473.94'],
    ]);
    const again = await api.get('/api/settlement/export?period=2026-10').expect(200);
    expect((again.body.invoices as { invoice_id: string }[]).map((i) => i.invoice_id)).toEqual(invoices.map((i) => i.invoice_id));

    const csv = await api.get('/api/settlement/export?period=2026-10').set('Accept', 'text/csv').expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')).toHaveLength(1 + 2 * 8 + 1);

    const byRun = await api.get(`/api/settlement/${runId}/lines`).expect(200);
    expect(byRun.body.kind).toBe('run');
    expect(byRun.body.invoices).toHaveLength(2);
    const byInvoice = await api.get(`/api/settlement/${invoices[0]!.invoice_id}/lines`).expect(200);
    expect(byInvoice.body.invoices[0].lines).toHaveLength(8);

    expect((await api.get(`/api/customers/${CUSTOMER_2}/balance`).expect(200)).body.balance).toBe('473.94');

    await commands.send(
      'settlement',
      'RecordMeteredData',
      metered(MP1, 'doc-v2', '2026-10-10', '2026-10-11', (h) => (h.getTime() === localDayIntervals('2026-10-10', 'PT1H')[10]!.getTime() ? '2.000' : '1.000')),
      { actor: 'e2e' },
    );
    const notes = await eventually(async () => {
      const r = await api.get('/api/settlement/credit-notes').expect(200);
      expect(r.body.notes).toHaveLength(1);
      return r.body.notes as { note_type: string; invoice_id: string; total_excl_vat: string; total_vat: string; total_incl_vat: string }[];
    }, 30_000, 200);
    expect(notes[0]).toMatchObject({ note_type: 'debit', invoice_id: invoices[0]!.invoice_id, total_excl_vat: '1.47', total_vat: '0.38', total_incl_vat: '1.85' });

    // ERP books the note and acknowledges it: it leaves the pending export; a retry answers the same, another reference is refused.
    const noteId = (notes[0] as unknown as { note_id: string }).note_id;
    expect(notes[0]).toMatchObject({ export: { state: 'pending', acknowledged_at: null, erp_reference: null } });
    expect((await api.get('/api/settlement/credit-notes?export_state=pending').expect(200)).body.notes.map((n: { note_id: string }) => n.note_id)).toEqual([noteId]);
    const ack = await api.acknowledge(`/api/settlement/credit-notes/${noteId}/acknowledge`).send({ erp_reference: 'ERP-CN-4711' }).expect(200);
    expect(ack.body).toMatchObject({ note_id: noteId, export: { state: 'acknowledged', erp_reference: 'ERP-CN-4711' }, already_acknowledged: false });
    const retried = await api.acknowledge(`/api/settlement/credit-notes/${noteId}/acknowledge`).send({ erp_reference: 'ERP-CN-4711' }).expect(200);
    expect(retried.body).toEqual({ ...ack.body, already_acknowledged: true });
    const other = await api.acknowledge(`/api/settlement/credit-notes/${noteId}/acknowledge`).send({ erp_reference: 'ERP-CN-9999' }).expect(409);
    expect(other.body.type).toBe('https://datahub-core.dev/problems/already-acknowledged');
    await api.acknowledge(`/api/settlement/credit-notes/${noteId}/acknowledge`).send({ erp_reference: 'bad\u0000ref' }).expect(400);
    await api.acknowledge('/api/settlement/credit-notes/7d1e3a52-6b0f-4f5e-9a51-0c2b9d3e4f10/acknowledge').send({}).expect(404);
    await eventually(async () => {
      expect((await api.get('/api/settlement/credit-notes?export_state=pending').expect(200)).body.notes).toEqual([]);
      const booked = (await api.get('/api/settlement/credit-notes?export_state=acknowledged').expect(200)).body.notes;
      expect(booked.map((n: { note_id: string; export: { erp_reference: string } }) => [n.note_id, n.export.erp_reference])).toEqual([[noteId, 'ERP-CN-4711']]);
    }, 20_000, 200);
    await api.get('/api/settlement/credit-notes?export_state=booked').expect(400);
    expect((await api.get(`/api/customers/${CUSTOMER_1}/balance`).expect(200)).body.balance).toBe('1475.79');

    // Scopes: ERP may not start runs; a portal customer reads only their own balance.
    await request(gateway.url).post('/api/settlement/runs').set(erp).send({ period: '2026-10' }).expect(403);
    await request(gateway.url).get('/api/settlement/export?period=2026-10').expect(401);
    const portal = bearer(await issueTestJwt({ kind: 'customer', customerId: CUSTOMER_1 }));
    expect((await request(gateway.url).get(`/api/customers/${CUSTOMER_1}/balance`).set(portal).expect(200)).body.balance).toBe('1475.79');
    await request(gateway.url).get(`/api/customers/${CUSTOMER_2}/balance`).set(portal).expect(404);

    const second = await api.post('/api/settlement/runs').send({ period: '2026-10' }).expect(202);
    expect(second.body).toMatchObject({ runId, alreadyStarted: true, completed: true });
  });

  it('a supply registered after the run is settled by a later run; halted, it is listed at GET /api/settlement/halted and retried automatically when its day arrives', async () => {
    const erp = bearer(await issueTestJwt({ kind: 'client', consumer: 'erp' }));
    const staff = bearer(await issueTestJwt({ kind: 'staff', roles: ['admin'] }));
    const get = (path: string) => request(gateway.url).get(path).set(erp);
    // A late move-in, its October data without the 20th.
    await append(`supply-${MP3}`, 'portfolio', 'SupplyStarted', { gsrn: MP3, customerId: CUSTOMER_3, startDate: '2026-10-10', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'monthly', paymentModel: 'actual' });
    await commands.send('settlement', 'RecordMeteredData', metered(MP3, 'doc-mp3a', '2026-10-10', '2026-10-20', () => '1.000'), { actor: 'e2e' });
    await commands.send('settlement', 'RecordMeteredData', metered(MP3, 'doc-mp3b', '2026-10-21', '2026-11-01', () => '1.000'), { actor: 'e2e' });
    await eventually(async () => expect((await infra.pool.query(`SELECT count(*)::int AS n FROM settlement.metered_data WHERE gsrn = $1`, [MP3])).rows[0]).toEqual({ n: 21 }), 30_000, 200);

    const later = await request(gateway.url).post('/api/settlement/runs').set(staff).send({ period: '2026-10' }).expect(202);
    expect(later.body).toMatchObject({ period: '2026-10', seq: 2, items: 1, alreadyStarted: false });
    await eventually(async () => expect((await get(`/api/settlement/runs/${later.body.runId as string}`).expect(200)).body).toMatchObject({ status: 'completed', items: { total: 1, done: 1, invoiced: 0, halted: 1 } }), 30_000, 200);

    const halted = await eventually(async () => {
      const r = await get('/api/settlement/halted?period=2026-10').expect(200);
      expect(r.body.halted).toHaveLength(1);
      return r.body as { halted: { gsrn: string; period: string; reason: string; detail: { seriesGsrn: string; interval: { start: string } }; runId: string; since: string }[]; next: string | null };
    }, 20_000, 200);
    expect(halted.next).toBeNull();
    expect(halted.halted[0]).toMatchObject({ gsrn: MP3, period: '2026-10', reason: 'missing-metered-data', runId: later.body.runId, detail: { seriesGsrn: MP3, interval: { start: localDayStart('2026-10-20').toISOString() } } });
    expect((await get('/api/settlement/halted?reason=missing-price').expect(200)).body).toEqual({ halted: [], next: null });
    expect((await get('/api/settlement/halted?period=2026-09').expect(200)).body).toEqual({ halted: [], next: null });
    const page = (await get('/api/settlement/halted?limit=1').expect(200)).body as { halted: { gsrn: string }[]; next: string | null };
    expect(page.halted.map((h) => h.gsrn)).toEqual([MP3]);
    expect((await get(`/api/settlement/halted?after=${encodeURIComponent(`2026-10/${MP3}`)}`).expect(200)).body).toEqual({ halted: [], next: null });
    await get('/api/settlement/halted?period=2026-13').expect(400);
    await get('/api/settlement/halted?reason=bored').expect(400);
    await get('/api/settlement/halted?after=x').expect(400);
    await get('/api/settlement/halted?limit=0').expect(400);
    await request(gateway.url).get('/api/settlement/halted').expect(401);
    await request(gateway.url).get('/api/settlement/halted').set(bearer(await issueTestJwt({ kind: 'customer', customerId: CUSTOMER_3 }))).expect(403);

    // The 20th arrives: the retry pass (SETTLEMENT_HALT_RETRY_INTERVAL_MS) settles MP3 in a retry run, once.
    await commands.send('settlement', 'RecordMeteredData', metered(MP3, 'doc-mp3c', '2026-10-20', '2026-10-21', () => '1.000'), { actor: 'e2e' });
    await eventually(async () => expect((await get('/api/settlement/halted?period=2026-10').expect(200)).body).toEqual({ halted: [], next: null }), 30_000, 200);
    const exported = (await get('/api/settlement/export?period=2026-10').expect(200)).body as { invoices: { gsrn: string }[] };
    expect(exported.invoices.map((i) => i.gsrn).sort()).toEqual([MP1, MP2, MP3].sort());
    const runs = await infra.pool.query(`SELECT seq, scope, items_total, invoiced, halted, completed FROM settlement.runs ORDER BY seq`);
    expect(runs.rows).toEqual([
      { seq: 1, scope: 'all', items_total: 2, invoiced: 2, halted: 0, completed: true },
      { seq: 2, scope: 'all', items_total: 1, invoiced: 0, halted: 1, completed: true },
      { seq: 3, scope: 'retry', items_total: 1, invoiced: 1, halted: 0, completed: true },
    ]);
    // Nothing left: a further start answers the last run.
    expect((await request(gateway.url).post('/api/settlement/runs').set(staff).send({ period: '2026-10' }).expect(202)).body).toMatchObject({ seq: 3, alreadyStarted: true, completed: true });
  });
});
