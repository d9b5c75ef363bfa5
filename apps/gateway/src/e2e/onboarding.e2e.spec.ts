import request from 'supertest';
import { byRole } from '@dh/demo-world';
import { eventually } from '@dh/testing';
import { startMarketStack, type MarketStack } from '../testing/e2e-support';

/**
 * CRM onboarding through every process and both market simulators: lookup in Eloverblik, BRS-001
 * to DataHub, its answer, and on the effective date master data and metered data, until
 * `customer.activated` reaches a subscriber. Also the rejection, cancellation and forced-switch
 * paths, and a run with the simulator's fault modes on.
 */
describe('CRM onboarding against the DataHub and Eloverblik simulators', () => {
  let stack: MarketStack;
  let pool: MarketStack['pool'];
  let dataHub: MarketStack['dataHub'];
  let crm: Record<string, string>;

  const api = () => request(stack.gateway.url);
  /** Customers made by one test and checked by a later one (the tests share one simulated clock, in order). */
  const made: { solar?: { customerId: string; processId: string; gsrn: string; productionGsrn: string }; moveIn?: { customerId: string; processId: string; gsrn: string } } = {};
  const eventsWithKey = (key: string) => stack.bus.withKey(key);
  const advanceTo = (instant: string) => stack.advanceTo(instant);
  const process = async (id: string) => (await api().get(`/api/processes/${id}`).set(crm).expect(200)).body as { status: string; detailed_status: string; history: { status: string }[]; rejection: { reason_code: string } | null };
  /** A private customer without a supply yet (POST /api/customers without a GSRN): a switch or move-in follows. */
  const createCustomer = async (idempotencyKey: string, customer: { customer_name: string; email: string; cpr: string }): Promise<string> => {
    const created = await api().post('/api/customers').set(crm).set('Idempotency-Key', idempotencyKey).send({ ...customer, customer_type: 'private' }).expect(201);
    return created.body.id as string;
  };
  const onboard = (gsrn: string, name: string, cpr: string, startDate: string) =>
    api()
      .post('/api/customers')
      .set(crm)
      .set('Idempotency-Key', `onboard-${gsrn}-${startDate}`)
      .send({ customer_name: name, email: `${name.split(' ')[0].toLowerCase()}@example.dk`, customer_type: 'private', cpr, gsrn, product_id: 'standard', desired_start_date: startDate, billing_frequency: 'monthly', payment_model: 'actual' })
      .expect(201);

  beforeAll(async () => {
    stack = await startMarketStack({ name: 'onboarding', forcedSwitchDate: '2026-03-26' });
    ({ pool, dataHub, crm } = stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('looks a GSRN up in Eloverblik before we supply it', async () => {
    const { gsrn } = byRole('switch-accepted');
    const res = await api().get(`/api/metering-points/${gsrn}/lookup`).set(crm).expect(200);
    expect(res.body).toMatchObject({ gsrn, gridArea: '804', priceArea: 'DK1', type: 'E17', currentSupplier: { gln: '5791111111116' } });
    expect(res.body.history.months.length).toBeGreaterThanOrEqual(12);
    expect(res.body.expectedAnnualConsumption.kwh).toMatch(/^\d+\.\d{3}$/);
    await api().get('/api/metering-points/571313180400000019/lookup').set(crm).expect(400);
  });

  it('refuses a product that is not in the catalogue, creating nothing', async () => {
    const before = Number((await pool.query(`SELECT count(*)::int AS n FROM event_store.events WHERE type = 'CustomerCreated'`)).rows[0].n);
    const res = await api()
      .post('/api/customers')
      .set(crm)
      .send({ customer_name: 'Eva Ek', email: 'eva@example.dk', customer_type: 'private', cpr: '0505551234', gsrn: byRole('switch-accepted').gsrn, product_id: 'gold-plated', desired_start_date: '2026-03-22', billing_frequency: 'monthly', payment_model: 'actual' })
      .expect(400);
    expect(res.body.errors).toEqual([{ field: 'product_id', messages: ['product_id "gold-plated" is not in the product catalogue'] }]);
    expect(Number((await pool.query(`SELECT count(*)::int AS n FROM event_store.events WHERE type = 'CustomerCreated'`)).rows[0].n)).toBe(before);
  });

  it('refuses what it can check before it writes anything: unknown GSRN, impossible or far dates, control characters, an unknown customer', async () => {
    const count = async (type: string) => Number((await pool.query(`SELECT count(*)::int AS n FROM event_store.events WHERE type = $1`, [type])).rows[0].n);
    const before = [await count('CustomerCreated'), await count('MeteringPointRegistered')];
    const base = { customer_name: 'Eva Ek', email: 'eva@example.dk', customer_type: 'private', cpr: '0505551234', gsrn: byRole('switch-accepted').gsrn, product_id: 'standard', desired_start_date: '2026-03-22', billing_frequency: 'monthly', payment_model: 'actual' };
    const cases: [string, object, number, string][] = [
      ['GSRN unknown to Eloverblik', { ...base, gsrn: '571313180400000100' }, 404, 'metering-point-not-found'],
      ['a date that does not exist', { ...base, desired_start_date: '2027-02-31' }, 400, 'validation'],
      ['the year 9999', { ...base, desired_start_date: '9999-12-31' }, 400, 'validation'],
      ['a start in the past', { ...base, desired_start_date: '2026-01-05' }, 422, 'lead-time'],
      ['a start more than a year ahead', { ...base, desired_start_date: '2027-06-01' }, 422, 'lead-time'],
      ['NUL, ESC and BEL in the name sent to DataHub', { ...base, customer_name: 'Anna\u0000\u001b[31m\u0007Hansen' }, 400, 'validation'],
      ['a name longer than DataHub takes', { ...base, customer_name: 'A'.repeat(71) }, 400, 'validation'],
    ];
    for (const [what, body, status, type] of cases) {
      const res = await api().post('/api/customers').set(crm).set('Idempotency-Key', `refused-${type}-${status}-${cases.findIndex((c) => c[1] === body)}`).send(body);
      expect([what, res.status, res.body.type]).toEqual([what, status, `https://datahub-core.dev/problems/${type}`]);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const unknownCustomer = await api()
      .post('/api/customers/7d1e3a52-6b0f-4f5e-9a51-0c2b9d3e4f10/switch')
      .set(crm)
      .send({ gsrn: byRole('incorrect-switch').gsrn, product_id: 'standard', desired_start_date: '2026-03-22', billing_frequency: 'monthly', payment_model: 'actual' });
    expect([unknownCustomer.status, unknownCustomer.body.type]).toEqual([404, 'https://datahub-core.dev/problems/customer-not-found']);
    expect([await count('CustomerCreated'), await count('MeteringPointRegistered')]).toEqual(before);
  });

  it('resumes an onboarding whose gateway died before recording the answer: the retry with the same key creates no second customer', async () => {
    const { gsrn } = byRole('incorrect-switch');
    const body = { customer_name: 'Frida Fog', email: 'frida@example.dk', customer_type: 'private', cpr: '0606661234', gsrn, product_id: 'standard', desired_start_date: '2026-03-31', billing_frequency: 'monthly', payment_model: 'actual' };
    const first = await api().post('/api/customers').set(crm).set('Idempotency-Key', 'resume-after-crash').send(body).expect(201);
    // As if the gateway had died after all its commands and before storing the answer; its lease has run out.
    await pool.query(`UPDATE gateway.idempotency_keys SET status = NULL, body = NULL, completed_at = NULL, locked_until = now() - interval '1 second' WHERE key = 'resume-after-crash'`);
    const retried = await api().post('/api/customers').set(crm).set('Idempotency-Key', 'resume-after-crash').send(body).expect(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(retried.body).toMatchObject({ id: first.body.id, process_id: first.body.process_id });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM event_store.events WHERE type = 'CustomerCreated' AND data->>'customerId' = $1`, [first.body.id]);
    expect(rows[0].n).toBe(1);
    const processes = await pool.query(`SELECT count(*)::int AS n FROM event_store.events WHERE type = 'DataHubRequestSent' AND data->>'processId' = $1`, [first.body.process_id]);
    expect(processes.rows[0].n).toBeLessThanOrEqual(1);
  });

  it('switches a customer: accepted, then active on the effective date with master data and metered data', async () => {
    const { gsrn } = byRole('switch-accepted');
    const created = await onboard(gsrn, 'Anna Hansen', '0101901234', '2026-03-22');
    const processId = created.body.process_id as string;
    expect(created.body).toMatchObject({ gsrn, metering_point: { gridArea: '804' } });

    await eventually(async () => expect((await process(processId)).detailed_status).toBe('pending'), 30_000, 200);
    // The CRM contract's words: DataHub's acceptance is `accepted`, not `pending`.
    expect((await process(processId)).status).toBe('accepted');
    await advanceTo('2026-03-22T23:30:00Z');
    await eventually(() => expect(eventsWithKey('customer.activated').map((e) => e.data.gsrn)).toContain(gsrn), 30_000, 200);

    // The read models follow the bus: wait for them rather than assume they are already there.
    await eventually(async () => {
      const final = await process(processId);
      expect([final.status, final.detailed_status]).toEqual(['accepted', 'active']);
      expect(final.history.map((h) => h.status)).toEqual(['created', 'requested', 'pending', 'active']);
    }, 20_000, 200);
    await eventually(async () => expect((await api().get(`/api/customers/${created.body.id}`).set(crm).expect(200)).body.status).toBe('active'), 20_000, 200);
    await eventually(async () => {
      const { rows } = await pool.query(`SELECT 1 FROM event_store.events WHERE type = 'ValidatedMeasureDataReceived' AND data->>'gsrn' = $1`, [gsrn]);
      expect(rows.length).toBeGreaterThanOrEqual(1);
    }, 20_000);
    expect(eventsWithKey('process.status_changed').filter((e) => e.data.processId === processId).map((e) => e.data.to)).toEqual(['created', 'requested', 'pending', 'active']);
  });

  it('shows a rejection with DataHub’s reason code', async () => {
    const { gsrn } = byRole('switch-rejected');
    const created = await onboard(gsrn, 'Bo Berg', '0202851234', '2026-03-25');
    const processId = created.body.process_id as string;
    const rejected = await eventually(async () => {
      const p = await process(processId);
      expect([p.status, p.detailed_status]).toEqual(['rejected', 'rejected']);
      return p;
    }, 30_000, 200);
    expect(rejected.rejection?.reason_code).toBe('D16');
  });

  it('cancels a pending switch before its effective date: nothing is activated afterwards', async () => {
    const { gsrn } = byRole('switch-cancelled');
    const created = await onboard(gsrn, 'Carl Clausen', '0303751234', '2026-03-27');
    const processId = created.body.process_id as string;
    await eventually(async () => expect((await process(processId)).detailed_status).toBe('pending'), 30_000, 200);
    await api().post(`/api/processes/${processId}/cancel`).set(crm).send({ reason: 'customer-withdrew' }).expect(202);
    await eventually(async () => expect([(await process(processId)).status, (await process(processId)).detailed_status]).toEqual(['cancelled', 'cancelled']), 30_000, 200);
    await eventually(async () => {
      const { rows } = await pool.query(`SELECT data->>'action' AS action FROM event_store.events WHERE type = 'DataHubRequestSent' AND data->>'processId' = $1 ORDER BY transaction_id, global_position`, [processId]);
      expect(rows.map((r) => r.action)).toEqual(['change-of-supplier', 'cancel']);
    }, 20_000);
  });

  it('onboards a customer DataHub hands us through a forced switch (BRS-044)', async () => {
    const { gsrn } = byRole('forced-switch');
    await advanceTo('2026-03-26T23:30:00Z');
    await eventually(() => expect(eventsWithKey('customer.activated').map((e) => e.data.gsrn)).toContain(gsrn), 30_000, 200);
    await eventually(async () => expect((await api().get('/api/portfolio/summary').set(crm).expect(200)).body.metering_points.supplied).toBe(2), 20_000, 200);
    // The cancelled switch's date has passed: still not ours.
    expect(eventsWithKey('customer.activated').map((e) => e.data.gsrn)).not.toContain(byRole('switch-cancelled').gsrn);
  });

  it('ends in the same state with the simulator’s fault modes on (expired token, 429/503 bursts, duplicates)', async () => {
    const { gsrn } = byRole('second-switch');
    dataHub.control.setFaults({ expiredToken: 1, tooManyRequests: 3, retryAfterSeconds: 1, unavailable: 3, duplicateDelivery: 20 });
    const created = await onboard(gsrn, 'Dorte Dahl', '0404651234', '2026-03-28');
    const processId = created.body.process_id as string;
    await eventually(async () => expect((await process(processId)).detailed_status).toBe('pending'), 60_000, 200);
    await advanceTo('2026-03-28T23:30:00Z');
    await eventually(() => expect(eventsWithKey('customer.activated').filter((e) => e.data.gsrn === gsrn)).toHaveLength(1), 60_000, 200);
    await eventually(async () => expect((await process(processId)).history.map((h) => h.status)).toEqual(['created', 'requested', 'pending', 'active']), 20_000, 200);
    expect(dataHub.control.stats()).toMatchObject({ throttled: 3 });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM event_store.events WHERE type = 'CustomerActivated' AND data->>'gsrn' = $1`, [gsrn]);
    expect(rows[0].n).toBe(1);
    // Nothing was quarantined or lost on the way.
    const quarantine = await pool.query(`SELECT count(*)::int AS n FROM datahub.quarantine`);
    expect(quarantine.rows[0].n).toBe(0);
  });

  it('switches an existing customer with own solar (POST /switch): Eloverblik names the production point, onboarding links it, CRM sees the supply period with it', async () => {
    const { gsrn, productionGsrn } = byRole('solar-switch');
    const lookup = await api().get(`/api/metering-points/${gsrn}/lookup`).set(crm).expect(200);
    expect(lookup.body).toMatchObject({ gsrn, type: 'E17', linkedProductionGsrn: productionGsrn });

    const customerId = await createCustomer('solar-customer', { customer_name: 'Gitte Sol', email: 'gitte@example.dk', cpr: '0707771234' });
    const terms = { gsrn, product_id: 'standard', desired_start_date: '2026-04-02', billing_frequency: 'monthly', payment_model: 'actual' };
    const started = await api().post(`/api/customers/${customerId}/switch`).set(crm).set('Idempotency-Key', 'solar-switch').send(terms).expect(202);
    const processId = started.body.process_id as string;
    // A retry with the key starts nothing new.
    expect((await api().post(`/api/customers/${customerId}/switch`).set(crm).set('Idempotency-Key', 'solar-switch').send(terms).expect(202)).body.process_id).toBe(processId);

    const registered = await pool.query(`SELECT data->>'linkedProductionGsrn' AS linked FROM event_store.events WHERE type = 'MeteringPointRegistered' AND data->>'gsrn' = $1`, [gsrn]);
    expect(registered.rows.map((r) => r.linked)).toEqual([productionGsrn]);
    await eventually(async () => expect([(await process(processId)).status, (await process(processId)).detailed_status]).toEqual(['accepted', 'pending']), 30_000, 200);
    const sent = await pool.query(`SELECT data->>'action' AS action FROM event_store.events WHERE type = 'DataHubRequestSent' AND data->>'processId' = $1`, [processId]);
    expect(sent.rows.map((r) => r.action)).toEqual(['change-of-supplier']);
    made.solar = { customerId, processId, gsrn, productionGsrn: productionGsrn! };
  });

  it('moves an existing customer in (POST /move-in, BRS-009 with E65) and DataHub accepts it', async () => {
    const { gsrn } = byRole('move-in');
    const customerId = await createCustomer('move-in-customer', { customer_name: 'Hans Hus', email: 'hans@example.dk', cpr: '0808881234' });
    const started = await api()
      .post(`/api/customers/${customerId}/move-in`)
      .set(crm)
      .set('Idempotency-Key', 'move-in')
      .send({ gsrn, product_id: 'standard', desired_start_date: '2026-04-03', billing_frequency: 'monthly', payment_model: 'actual' })
      .expect(202);
    const processId = started.body.process_id as string;
    await eventually(async () => {
      const p = await process(processId);
      expect([p.status, p.detailed_status]).toEqual(['accepted', 'pending']);
    }, 30_000, 200);
    const sent = await pool.query(`SELECT data->>'action' AS action FROM event_store.events WHERE type = 'DataHubRequestSent' AND data->>'processId' = $1`, [processId]);
    expect(sent.rows.map((r) => r.action)).toEqual(['move-in']);
    made.moveIn = { customerId, processId, gsrn };
  });

  it('activates both on their dates; CRM lists the customers and metering points a page at a time and each customer\'s supply periods', async () => {
    const solar = made.solar!;
    const moveIn = made.moveIn!;
    await advanceTo('2026-04-03T23:30:00Z');
    await eventually(() => expect(eventsWithKey('customer.activated').map((e) => e.data.gsrn)).toEqual(expect.arrayContaining([solar.gsrn, moveIn.gsrn])), 30_000, 200);
    for (const c of [solar, moveIn]) {
      await eventually(async () => {
        const p = await process(c.processId);
        expect([p.status, p.detailed_status, p.history.map((h) => h.status)]).toEqual(['accepted', 'active', ['created', 'requested', 'pending', 'active']]);
      }, 20_000, 200);
    }
    const mine = await eventually(async () => {
      const res = await api().get(`/api/customers/${solar.customerId}/metering-points`).set(crm).expect(200);
      expect(res.body.metering_points[0]?.supply_periods).toHaveLength(1);
      return res.body;
    }, 20_000, 200);
    expect(mine).toEqual({
      customer_id: solar.customerId,
      metering_points: [
        {
          gsrn: solar.gsrn,
          type: 'E17',
          settlement_method: 'D01',
          grid_area: '804',
          price_area: 'DK1',
          supply_periods: [
            {
              supply_id: solar.processId,
              start_date: '2026-04-02',
              end_date: null,
              status: 'active',
              end_reason: null,
              product_id: 'standard',
              product_changes: [],
              billing_frequency: 'monthly',
              payment_model: 'actual',
              production_gsrn: solar.productionGsrn,
            },
          ],
          processes: [{ process_id: solar.processId, kind: 'change-of-supplier', status: 'accepted', detailed_status: 'active', effective_date: '2026-04-02' }],
        },
      ],
    });
    await api().get('/api/customers/7d1e3a52-6b0f-4f5e-9a51-0c2b9d3e4f10/metering-points').set(crm).expect(404);

    // Every active customer, two at a time, following `next` to the end: each exactly once, with its metering points.
    const seen: { id: string; metering_points: { gsrn: string; supply_status: string }[] }[] = [];
    let after: string | null = null;
    do {
      const res: request.Response = await api().get(`/api/portfolio/customers?status=active&limit=2${after === null ? '' : `&after=${after}`}`).set(crm).expect(200);
      expect(res.body.customers.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.customers);
      after = res.body.next;
    } while (after !== null);
    expect(new Set(seen.map((c) => c.id)).size).toBe(seen.length);
    expect(seen.find((c) => c.id === moveIn.customerId)?.metering_points.map((m) => [m.gsrn, m.supply_status])).toEqual([[moveIn.gsrn, 'active']]);
    const summary = (await api().get('/api/portfolio/summary').set(crm).expect(200)).body;
    expect(seen).toHaveLength(summary.customers.active);

    const points: string[] = [];
    after = null;
    do {
      const res: request.Response = await api().get(`/api/portfolio/metering-points?supply_status=active&limit=3${after === null ? '' : `&after=${after}`}`).set(crm).expect(200);
      points.push(...res.body.metering_points.map((m: { gsrn: string }) => m.gsrn));
      after = res.body.next;
    } while (after !== null);
    expect(points).toEqual([...points].sort());
    expect(points).toHaveLength(summary.metering_points.supplied);
    expect(points).toEqual(expect.arrayContaining([solar.gsrn, moveIn.gsrn]));
    await api().get('/api/portfolio/customers?limit=0').set(crm).expect(400);
    await api().get('/api/portfolio/metering-points?after=12345').set(crm).expect(400);
  });
});
