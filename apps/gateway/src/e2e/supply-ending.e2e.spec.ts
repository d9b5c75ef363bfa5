import { randomUUID } from 'node:crypto';
import { createPostgresEventStore } from '@dh/event-store';
import request from 'supertest';
import { byRole, OUR_GLN } from '@dh/demo-world';
import { eventually } from '@dh/testing';
import { startMarketStack, type MarketStack } from '../testing/e2e-support';

/**
 * Ending a supply through every process and the DataHub simulator: three customers switch to us on
 * 2026-03-22; one moves out (BRS-010) and is offboarded on the date, one gets an end of supply
 * (BRS-002) that is withdrawn because the customer paid (RSM-002 inside BRS-002) and stays supplied,
 * and one switch is declared incorrect (BRS-003): the supply is reversed and the customer offboarded.
 * The portfolio's effective-date scheduler runs every second on the simulated clock (`simulatorEnv`).
 */
describe('ending a supply against the DataHub simulator (BRS-010, BRS-002 cancelled, BRS-003)', () => {
  let stack: MarketStack;
  let pool: MarketStack['pool'];
  let dataHub: MarketStack['dataHub'];
  let crm: Record<string, string>;
  const customers: Record<'moveOut' | 'endOfSupply' | 'incorrect', { id: string; switchId: string; gsrn: string }> = {
    moveOut: { id: '', switchId: '', gsrn: byRole('move-out').gsrn },
    endOfSupply: { id: '', switchId: '', gsrn: byRole('end-of-supply-cancelled').gsrn },
    incorrect: { id: '', switchId: '', gsrn: byRole('incorrect-switch').gsrn },
  };

  const api = () => request(stack.gateway.url);
  const eventsWithKey = (key: string) => stack.bus.withKey(key);
  const advanceTo = (instant: string) => stack.advanceTo(instant);
  const process = async (id: string) => (await api().get(`/api/processes/${id}`).set(crm).expect(200)).body as { status: string; detailed_status: string; kind: string; history: { status: string }[] };
  const customerStatus = async (id: string) => ((await api().get(`/api/customers/${id}`).set(crm).expect(200)).body as { status: string }).status;
  const storedEvents = async (type: string, gsrn: string) =>
    (await pool.query<{ data: Record<string, unknown> }>(`SELECT data FROM event_store.events WHERE type = $1 AND data->>'gsrn' = $2 ORDER BY global_position`, [type, gsrn])).rows.map((r) => r.data);

  beforeAll(async () => {
    stack = await startMarketStack({ name: 'supply_ending', forcedSwitchDate: '2026-09-01' });
    ({ pool, dataHub, crm } = stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('three customers switch to us and are active from 2026-03-22', async () => {
    const people = [
      ['moveOut', 'Emma Eriksen', '0505801234'],
      ['endOfSupply', 'Frank Friis', '0606701234'],
      ['incorrect', 'Gitte Gade', '0707601234'],
    ] as const;
    for (const [key, name, cpr] of people) {
      const c = customers[key];
      const created = await api()
        .post('/api/customers')
        .set(crm)
        .set('Idempotency-Key', `supply-ending-${c.gsrn}`)
        .send({ customer_name: name, email: `${name.split(' ')[0].toLowerCase()}@example.dk`, customer_type: 'private', cpr, gsrn: c.gsrn, product_id: 'standard', desired_start_date: '2026-03-22', billing_frequency: 'monthly', payment_model: 'actual' })
        .expect(201);
      c.id = created.body.id as string;
      c.switchId = created.body.process_id as string;
    }
    for (const c of Object.values(customers)) await eventually(async () => expect((await process(c.switchId)).detailed_status).toBe('pending'), 30_000, 200);
    await advanceTo('2026-03-21T23:30:00Z');
    await eventually(() => expect(eventsWithKey('customer.activated').map((e) => e.data.gsrn)).toEqual(expect.arrayContaining(Object.values(customers).map((c) => c.gsrn))), 30_000, 200);
    for (const c of Object.values(customers)) await eventually(async () => expect((await process(c.switchId)).detailed_status).toBe('active'), 20_000, 200);
  });

  it('move-out (BRS-010): accepted, and on its date the customer is offboarded with reason move-out', async () => {
    const c = customers.moveOut;
    const body = { gsrn: c.gsrn, effective_date: '2026-03-24' };
    const first = await api().post(`/api/customers/${c.id}/move-out`).set(crm).set('Idempotency-Key', 'move-out-1').send(body).expect(202);
    const processId = first.body.process_id as string;
    // A retry with the same key is the same case.
    const again = await api().post(`/api/customers/${c.id}/move-out`).set(crm).set('Idempotency-Key', 'move-out-1').send(body).expect(202);
    expect(again.body.process_id).toBe(processId);
    await api().post(`/api/customers/${c.id}/move-out`).set(crm).send({ gsrn: c.gsrn, effective_date: '24-03-2026' }).expect(400).expect('content-type', /application\/problem\+json/);

    await eventually(async () => expect((await process(processId)).detailed_status).toBe('pending'), 30_000, 200);
    expect(eventsWithKey('customer.offboarded').filter((e) => e.data.gsrn === c.gsrn)).toHaveLength(0);
    await advanceTo('2026-03-23T23:30:00Z');
    await eventually(
      () => expect(eventsWithKey('customer.offboarded').map((e) => e.data)).toContainEqual({ customerId: c.id, gsrn: c.gsrn, endDate: '2026-03-24', reason: 'move-out' }),
      30_000,
      200,
    );
    await eventually(async () => {
      const p = await process(processId);
      expect(p).toMatchObject({ kind: 'move-out', status: 'accepted', detailed_status: 'completed' });
      expect(p.history.map((h) => h.status)).toEqual(['created', 'requested', 'pending', 'active', 'completed']);
    }, 20_000, 200);
    await eventually(async () => expect(await customerStatus(c.id)).toBe('offboarded'), 20_000, 200);
    expect((await storedEvents('SupplyEnded', c.gsrn)).map((d) => d.reason)).toEqual(['move-out']);
  });

  it('end of supply (BRS-002) for non-payment withdrawn by itself when the customer pays before its date: RSM-002 is sent, the process is cancelled, the customer stays supplied', async () => {
    const c = customers.endOfSupply;
    // Not before the customer has had the reminders (the last one warns of further steps, its deadline passed).
    const early = await api().post(`/api/customers/${c.id}/end-of-supply`).set(crm).send({ gsrn: c.gsrn, effective_date: '2026-03-30', reason: 'non-payment' }).expect(409);
    expect(early.body.type).toMatch(/reminders-not-sent/);
    await pool.query(
      `INSERT INTO read_models.reminders (reminder_id, invoice_id, invoice_kind, customer_id, number, sent_on, due_date, deadline, principal, fee, interest, interest_from,
         interest_through, annual_interest_rates, amount_due, payment_reference, warns_of_collection, recorded_at)
       VALUES ($1, $2, 'invoice', $3, 3, '2026-03-09', '2026-02-16', '2026-03-19', 500.00, 100.00, 2.00, '2026-02-27', '2026-03-09', '["9.75"]', 800.00, '+71<000000000000018', true, now())`,
      [randomUUID(), randomUUID(), c.id],
    );
    // Today is 2026-03-24 in Copenhagen: three business days ahead is the earliest.
    const late = await api().post(`/api/customers/${c.id}/end-of-supply`).set(crm).send({ gsrn: c.gsrn, effective_date: '2026-03-26', reason: 'non-payment' }).expect(422);
    expect(late.body.type).toMatch(/lead-time/);
    await api().post(`/api/customers/${c.id}/end-of-supply`).set(crm).send({ gsrn: c.gsrn, effective_date: '2026-03-30', reason: 'unpaid' }).expect(400);

    const started = await api().post(`/api/customers/${c.id}/end-of-supply`).set(crm).set('Idempotency-Key', 'eos-1').send({ gsrn: c.gsrn, effective_date: '2026-03-30', reason: 'non-payment' }).expect(202);
    const processId = started.body.process_id as string;
    await eventually(async () => expect((await process(processId)).detailed_status).toBe('pending'), 30_000, 200);

    // The customer pays everything overdue: settlement announces it (as its payments consumer writes it), and
    // portfolio withdraws the end of supply by itself, with reason customer-paid; nobody calls the cancel route.
    const paymentId = `fi-${randomUUID()}`;
    const store = await createPostgresEventStore({ pool });
    await store.appendToStream(
      `customer-claims-${c.id}`,
      [
        {
          eventId: randomUUID(),
          type: 'CustomerOverdueClaimsSettled',
          data: { customerId: c.id, paymentId, settledOn: '2026-03-24' },
          metadata: { correlationId: paymentId, causationId: null, actor: 'settlement-payments', schemaVersion: 1, context: 'payments' },
          occurredAt: new Date('2026-03-24T10:00:00Z'),
        },
      ],
      { expectedRevision: 'any' },
    );
    await store.close();
    await eventually(async () => {
      const p = await process(processId);
      expect(p).toMatchObject({ kind: 'end-of-supply', status: 'cancelled', detailed_status: 'cancelled' });
      expect(p.history.map((h) => h.status)).toEqual(['created', 'requested', 'pending', 'cancelled']);
      expect(p.history[3]).toMatchObject({ reason: 'customer-paid' });
    }, 30_000, 200);
    const { rows: decided } = await pool.query(`SELECT outcome FROM portfolio.non_payment_ends WHERE process_id = $1`, [processId]);
    expect(decided).toEqual([{ outcome: 'withdrawn' }]);
    await eventually(async () => {
      const { rows } = await pool.query(`SELECT data->>'action' AS action FROM event_store.events WHERE type = 'DataHubRequestSent' AND data->>'processId' = $1 ORDER BY global_position`, [processId]);
      expect(rows.map((r) => r.action)).toEqual(['end-of-supply', 'cancel']);
    }, 20_000);
    const { rows: outbound } = await pool.query(`SELECT action, business_reason FROM datahub.outbound_requests WHERE process_id = $1 ORDER BY action`, [processId]);
    expect(outbound).toEqual([
      { action: 'cancel', business_reason: 'E20' },
      { action: 'end-of-supply', business_reason: 'E20' },
    ]);

    // The date passes (CEST from 2026-03-29): DataHub keeps us as supplier and delivers the day's metered data.
    await advanceTo('2026-03-30T22:30:00Z');
    await eventually(async () => {
      const { rows } = await pool.query(`SELECT 1 FROM event_store.events WHERE type = 'ValidatedMeasureDataReceived' AND data->>'gsrn' = $1`, [c.gsrn]);
      expect(rows.length).toBeGreaterThanOrEqual(9); // 2026-03-22 … 2026-03-30
    }, 30_000, 200);
    expect(dataHub.control.supplierAt(c.gsrn, new Date('2026-03-30T12:00:00Z'))).toBe(OUR_GLN);
    expect(await storedEvents('SupplyEnded', c.gsrn)).toHaveLength(0);
    expect(eventsWithKey('customer.offboarded').filter((e) => e.data.gsrn === c.gsrn)).toHaveLength(0);
    expect(await customerStatus(c.id)).toBe('active');
    expect((await process(processId)).detailed_status).toBe('cancelled');
  });

  it('incorrect switch (BRS-003) after activation: accepted, the supply is reversed and the customer offboarded with reason incorrect-switch', async () => {
    const c = customers.incorrect;
    // A supply that has already ended (moved out) cannot be declared an incorrect switch.
    const ended = await api().post(`/api/processes/${customers.moveOut.switchId}/incorrect-switch`).set(crm).expect(409);
    expect(ended.body.type).toMatch(/supply-ended/);

    const res = await api().post(`/api/processes/${c.switchId}/incorrect-switch`).set(crm).set('Idempotency-Key', 'brs-003-1').expect(202);
    const processId = res.body.process_id as string;
    expect(res.body.reversed_process_id).toBe(c.switchId);
    expect(processId).not.toBe(c.switchId);

    await eventually(async () => expect(await storedEvents('SupplyReversed', c.gsrn)).toEqual([expect.objectContaining({ processId: c.switchId, customerId: c.id, startDate: '2026-03-22', incorrectSwitchProcessId: processId })]), 30_000, 200);
    await eventually(
      () => expect(eventsWithKey('customer.offboarded').map((e) => e.data)).toContainEqual({ customerId: c.id, gsrn: c.gsrn, endDate: '2026-03-22', reason: 'incorrect-switch' }),
      30_000,
      200,
    );
    expect(eventsWithKey('portfolio.supply-reversed').map((e) => e.data.gsrn)).toContain(c.gsrn);
    await eventually(async () => {
      const brs003 = await process(processId);
      expect(brs003).toMatchObject({ kind: 'incorrect-switch', status: 'accepted', detailed_status: 'completed' });
      expect(brs003.history.map((h) => h.status)).toEqual(['created', 'requested', 'pending', 'active', 'completed']);
      expect((await process(c.switchId)).detailed_status).toBe('reversed');
    }, 20_000, 200);
    const { rows } = await pool.query(`SELECT data->>'action' AS action FROM event_store.events WHERE type = 'DataHubRequestSent' AND data->>'processId' = $1`, [processId]);
    expect(rows.map((r) => r.action)).toEqual(['incorrect-switch']);
    // Nothing the process manager refused along the way.
    const anomalies = await pool.query(`SELECT data FROM event_store.events WHERE type = 'ProcessAnomalyRecorded'`);
    expect(anomalies.rows).toEqual([]);
  });
});
