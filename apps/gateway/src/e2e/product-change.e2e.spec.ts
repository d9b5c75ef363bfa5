import request from 'supertest';
import { bearer, issueTestJwt } from '@dh/auth/testing';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { byRole } from '@dh/demo-world';
import { eventually } from '@dh/testing';
import { defineProduct, startMarketStack, type MarketStack } from '../testing/e2e-support';

/**
 * Issue 9 ("product change from a date" corrects issued invoices): the gateway's route for portfolio's `ChangeProduct`.
 * A customer switched to us from 2026-03-22 changes to the "green" product from 2026-04-01 through
 * `POST /api/customers/{id}/metering-points/{gsrn}/product-changes`: portfolio records `ProductChanged` (with the
 * customer, the product and the day; settlement's copy and corrections take it from there, apps/settlement
 * product-change.int.spec.ts), it goes out on the bus, and the supply periods of the customer show it. Refused: a day
 * before the supply, a product not in the catalogue, another customer's metering point, an unknown customer; a staff
 * change needs a reason and is audited.
 */
describe('changing the product of a customer supply from a date through the gateway', () => {
  let stack: MarketStack;
  let pool: MarketStack['pool'];
  let crm: Record<string, string>;
  const gsrn = byRole('switch-accepted').gsrn;
  let customerA = '';
  let customerB = '';
  let settlement: ServiceProcess | undefined;
  const api = () => request(stack.gateway.url);
  const path = (customerId: string, g = gsrn) => `/api/customers/${customerId}/metering-points/${g}/product-changes`;
  const productChanges = async () =>
    (await pool.query<{ data: Record<string, unknown>; actor: string }>(`SELECT data, metadata->>'actor' AS actor FROM event_store.events WHERE type = 'ProductChanged' ORDER BY global_position`)).rows;
  const supplyPeriods = async (customerId: string) =>
    (
      (await api().get(`/api/customers/${customerId}/metering-points`).set(crm).expect(200)).body as {
        metering_points: { gsrn: string; supply_periods: { start_date: string; product_id: string | null; product_changes: { product_id: string; from: string }[] }[] }[];
      }
    ).metering_points.find((m) => m.gsrn === gsrn)?.supply_periods ?? [];

  beforeAll(async () => {
    stack = await startMarketStack({ name: 'product_change', forcedSwitchDate: '2026-09-01' });
    ({ pool, crm } = stack);
    await defineProduct(stack.vhost.url, pool, 'green');
  }, 120_000);

  afterAll(async () => {
    await settlement?.stop();
    await stack?.stop();
  }, 60_000);

  it('customer A is supplied from 2026-03-22 on the standard product; customer B has no supply', async () => {
    const created = await api()
      .post('/api/customers')
      .set(crm)
      .set('Idempotency-Key', 'product-change-a')
      .send({ customer_name: 'Hanne Holm', email: 'hanne@example.dk', customer_type: 'private', cpr: '0808801234', gsrn, product_id: 'standard', desired_start_date: '2026-03-22', billing_frequency: 'monthly', payment_model: 'actual' })
      .expect(201);
    customerA = created.body.id as string;
    const processId = created.body.process_id as string;
    customerB = ((await api().post('/api/customers').set(crm).send({ customer_name: 'Ib Iversen', email: 'ib@example.dk', customer_type: 'private', cpr: '0909701234' }).expect(201)).body as { id: string }).id;
    const process = async () => ((await api().get(`/api/processes/${processId}`).set(crm).expect(200)).body as { detailed_status: string }).detailed_status;
    await eventually(async () => expect(await process()).toBe('pending'), 30_000, 200);
    await stack.advanceTo('2026-03-21T23:30:00Z');
    await eventually(async () => expect(await process()).toBe('active'), 30_000, 200);
    await eventually(async () => expect(await supplyPeriods(customerA)).toEqual([expect.objectContaining({ start_date: '2026-03-22', product_id: 'standard', product_changes: [] })]), 20_000, 200);
  });

  it('CRM changes A’s product to green from 2026-04-01: ProductChanged once (a retry with the same key is the same change), on the bus, in the supply period', async () => {
    const body = { product_id: 'green', effective_date: '2026-04-01' };
    const first = await api().post(path(customerA)).set(crm).set('Idempotency-Key', 'green-from-april').send(body).expect(200);
    expect(first.body).toEqual({ customer_id: customerA, gsrn, product_id: 'green', effective_date: '2026-04-01', changed: true });
    const retried = await api().post(path(customerA)).set(crm).set('Idempotency-Key', 'green-from-april').send(body).expect(200);
    expect(retried.body).toEqual(first.body);
    // The same change again without a key: nothing new to record.
    expect((await api().post(path(customerA)).set(crm).send(body).expect(200)).body).toMatchObject({ changed: false });

    const changes = await productChanges();
    expect(changes.map((c) => c.data)).toEqual([{ gsrn, customerId: customerA, productId: 'green', from: '2026-04-01', at: expect.any(String) }]);
    expect(changes[0]!.actor).toMatch(/^api-key:/);
    await eventually(() => expect(stack.bus.withKey('portfolio.product-changed').map((e) => e.data)).toEqual([expect.objectContaining({ gsrn, customerId: customerA, productId: 'green', from: '2026-04-01' })]), 20_000, 200);
    await eventually(async () => expect(await supplyPeriods(customerA)).toEqual([expect.objectContaining({ start_date: '2026-03-22', product_id: 'standard', product_changes: [{ product_id: 'green', from: '2026-04-01' }] })]), 20_000, 200);
  });

  it('refused: a day before the supply (422 no-supply), a product not in the catalogue (400), a bad GSRN or date (400), another customer’s point (404), an unknown customer (404)', async () => {
    const before = await api().post(path(customerA)).set(crm).send({ product_id: 'green', effective_date: '2026-03-01' }).expect(422).expect('content-type', /application\/problem\+json/);
    expect(before.body.type).toMatch(/no-supply/);
    const unknown = await api().post(path(customerA)).set(crm).send({ product_id: 'no-such-product', effective_date: '2026-04-15' }).expect(400).expect('content-type', /application\/problem\+json/);
    expect(unknown.body.errors).toEqual([{ field: 'product_id', messages: ['product_id "no-such-product" is not in the product catalogue'] }]);
    await api().post(path(customerA, '12345')).set(crm).send({ product_id: 'green', effective_date: '2026-04-15' }).expect(400);
    await api().post(path(customerA)).set(crm).send({ product_id: 'green', effective_date: '15-04-2026' }).expect(400);
    await api().post(path(customerA)).set(crm).send({ effective_date: '2026-04-15' }).expect(400);
    const otherCustomer = await api().post(path(customerB)).set(crm).send({ product_id: 'green', effective_date: '2026-04-15' }).expect(404);
    expect(otherCustomer.body.type).toMatch(/supply-not-found/);
    const nobody = await api().post(path('00000000-0000-4000-8000-000000000000')).set(crm).send({ product_id: 'green', effective_date: '2026-04-15' }).expect(404);
    expect(nobody.body.type).toMatch(/customer-not-found/);
    // A customer (portal login) may not change it, not even their own.
    const portalA = bearer(await issueTestJwt({ kind: 'customer', customerId: customerA }));
    await api().post(path(customerA)).set(portalA).send({ product_id: 'green', effective_date: '2026-04-15' }).expect(403);
    expect(await productChanges()).toHaveLength(1);
  });

  it('an admin changes it back from 2026-05-01 with a reason: recorded with the staff member as actor and written to the audit log; without a reason refused', async () => {
    const admin = bearer(await issueTestJwt({ kind: 'staff', roles: ['admin'], subject: 'employee-42' }));
    await api().post(path(customerA)).set(admin).send({ product_id: 'standard', effective_date: '2026-05-01' }).expect(400);
    const changed = await api().post(path(customerA)).set(admin).set('X-Access-Reason', 'customer asked by phone, case 1234').send({ product_id: 'standard', effective_date: '2026-05-01' }).expect(200);
    expect(changed.body).toMatchObject({ changed: true, product_id: 'standard', effective_date: '2026-05-01' });
    const changes = await productChanges();
    expect(changes).toHaveLength(2);
    expect(changes[1]).toMatchObject({ data: { customerId: customerA, productId: 'standard', from: '2026-05-01' }, actor: 'staff:employee-42' });
    const audit = await api().get('/api/staff/audit').query({ action: 'customer.change-product', subject_id: customerA }).set(admin).set('X-Access-Reason', 'test').expect(200);
    // Newest first: the change, and the attempt without a reason before it.
    expect((audit.body as { entries: { action: string; subject_id: string; actor_id: string; outcome: string; status: number }[] }).entries).toEqual([
      expect.objectContaining({ action: 'customer.change-product', subject_id: customerA, actor_id: 'employee-42', outcome: 'success', status: 200 }),
      expect.objectContaining({ action: 'customer.change-product', subject_id: customerA, actor_id: 'employee-42', outcome: 'refused', status: 400 }),
    ]);
    await eventually(
      async () =>
        expect((await supplyPeriods(customerA))[0]!.product_changes).toEqual([
          { product_id: 'green', from: '2026-04-01' },
          { product_id: 'standard', from: '2026-05-01' },
        ]),
      20_000,
      200,
    );
  });

  it('settlement takes both changes into its copy (what prices the supplied days and corrects issued invoices, apps/settlement product-change.int.spec.ts)', async () => {
    // The settlement service beside the stack (runs by hand only), catching up on portfolio's events from the event store.
    settlement = await startServiceProcess('settlement', { DATABASE_URL: stack.db.url, AMQP_URL: stack.vhost.url, COMMAND_TIMEOUT_MS: '15000', SETTLEMENT_SCHEDULE_INTERVAL_MS: '0', SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0' });
    await eventually(async () => {
      const { rows } = await pool.query(`SELECT gsrn, valid_from, product_id FROM settlement.product_changes ORDER BY valid_from`);
      expect(rows).toEqual([
        { gsrn, valid_from: '2026-04-01', product_id: 'green' },
        { gsrn, valid_from: '2026-05-01', product_id: 'standard' },
      ]);
      expect((await pool.query(`SELECT customer_id, start_date, product_id FROM settlement.supplies WHERE gsrn = $1`, [gsrn])).rows).toEqual([{ customer_id: customerA, start_date: '2026-03-22', product_id: 'standard' }]);
    }, 60_000, 250);
  });
});
