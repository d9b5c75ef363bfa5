import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { correctSpotPrice, seedDisputedCustomer, seedRates, settleOctober, startBackOfficeStack, type BackOfficeStack, type DisputedCustomer } from '@dh/back-office-stack';
import { AmqpConnection, DEFAULT_EVENT_EXCHANGE, serializeEnvelope, silentMessagingLogger, startConsumer, type RunningConsumer } from '@dh/messaging';
import { bearer, issueTestJwt } from '@dh/auth/testing';
import { handleCommand } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { loadConfig, PiiVault } from '@dh/platform';
import { customerDecider, customerStreamId } from '@dh/portfolio-domain';
import { randomUUID } from 'node:crypto';
import { eventually } from '@dh/testing';

/**
 * The back office in a real browser (Debian's Chromium driven by Playwright) against the gateway,
 * portfolio, rates, settlement, projections and datahub-integration from dist/ (`npm run build`
 * first, which also builds the web application the gateway serves): a support case from sign-in to
 * the explained invoice, a product margin changed, a dead-lettered message replayed, and every main
 * page checked with axe for serious accessibility violations. Screenshots of the main pages are
 * written to <tmpdir>/back-office-screenshots (the README shows copies of them).
 */

jest.setTimeout(120_000);

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(tmpdir(), 'back-office-screenshots');
const TEST_QUEUE = 'back-office-test.read-model';

describe('back office in a browser', () => {
  let stack: BackOfficeStack;
  let anna: DisputedCustomer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let amqp: AmqpConnection;
  let consumer: RunningConsumer;
  let broken = true;
  const poisonId = '0b0ff1ce-0000-4000-8000-000000000001';
  const junkId = '0b0ff1ce-0000-4000-8000-000000000002';

  const expectAccessible = async (what: string) => {
    const result = await new AxeBuilder({ page }).analyze();
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${what}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(serious).toEqual([]);
  };
  const shoot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    stack = await startBackOfficeStack({ name: 'back_office_web' });
    await seedRates(stack);
    anna = await seedDisputedCustomer(stack);
    await settleOctober(stack, [anna]);
    await correctSpotPrice(stack, [anna]);

    // A consumer of this test whose handler fails until the cause is "fixed": its message is dead-lettered.
    amqp = new AmqpConnection({ url: stack.vhost.url, logger: silentMessagingLogger });
    await amqp.connect();
    await stack.pool.query(`CREATE TABLE IF NOT EXISTS back_office_test_applied (event_id text PRIMARY KEY)`);
    consumer = await startConsumer({
      connection: amqp,
      pool: stack.pool,
      queue: TEST_QUEUE,
      bindings: ['back-office-test.#'],
      logger: silentMessagingLogger,
      maxAttempts: 1,
      handler: async (e, tx) => {
        if (broken) throw new Error('reference data missing for this event');
        await tx.query(`INSERT INTO back_office_test_applied (event_id) VALUES ($1)`, [e.eventId]);
      },
    });
    const channel = await amqp.createConfirmChannel();
    for (const eventId of [poisonId, junkId]) {
    const envelope = {
      eventId,
      type: 'TestEventFailed',
      streamId: 'test-1',
      streamRevision: '0',
      globalPosition: '1',
      occurredAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
      data: { note: 'needs reference data' },
      metadata: { correlationId: 'corr-test', causationId: null, actor: 'test', schemaVersion: 1, context: 'back-office-test' },
    };
    channel.publish(DEFAULT_EVENT_EXCHANGE, 'back-office-test.failed', serializeEnvelope(envelope), { persistent: true, messageId: eventId, type: envelope.type, headers: {} });
    }
    await channel.waitForConfirms();
    await channel.close();

    mkdirSync(SCREENSHOTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'back-office-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      timezoneId: 'Europe/Copenhagen',
      locale: 'da-DK',
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 420_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await consumer?.stop();
    await amqp?.close();
    await stack?.stop();
  }, 90_000);

  it('signs in as staff with the staff token and a reason; a customer token is refused', async () => {
    await page.goto(`${stack.gatewayUrl}/back-office/`);
    await expect(page.getByRole('heading', { name: 'Back office sign-in' }).isVisible()).resolves.toBe(true);
    await expectAccessible('sign-in');
    await page.getByLabel('Staff token').fill('not-a-token');
    await page.getByLabel(/Reason for access/).fill('ticket 4711: invoice dispute');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('This is not a valid staff token.').waitFor();
    await page.getByLabel('Staff token').fill(await stack.staffToken('admin', 'employee-back-office'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Find a customer' }).waitFor();
  });

  it('finds the disputed customer by CPR (audited) and by name, and opens the customer', async () => {
    await page.getByLabel(/Name, GSRN, invoice number, CPR or CVR/).fill(anna.cpr);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: '1 customer found by cpr' }).waitFor();
    await eventually(async () => {
      const { rows } = await stack.pool.query<{ action: string; purpose: string }>(`SELECT action, purpose FROM audit.entries WHERE action = 'customer.search.cpr'`);
      expect(rows).toEqual([{ action: 'customer.search.cpr', purpose: 'ticket 4711: invoice dispute' }]);
    });
    await page.getByLabel(/Name, GSRN, invoice number, CPR or CVR/).fill('anna hansen');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: '1 customer found by name' }).waitFor();
    await expectAccessible('search');
    await shoot('search');
    await page.getByRole('link', { name: anna.name }).click();
    await page.getByRole('heading', { level: 1, name: anna.name }).waitFor();
    await page.getByRole('list', { name: 'Events' }).locator('li[data-type="SettlementCorrectionIssued"]').waitFor();
    await expectAccessible('customer');
    await shoot('customer');
  });

  it('steps back in time: as of before the correction the timeline has no correction note and nothing recorded later', async () => {
    const events = page.getByRole('list', { name: 'Events' });
    const countNow = await events.locator('li[data-type]').count();
    const local = await page.evaluate((iso) => {
      const d = new Date(iso);
      return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 23);
    }, anna.beforeCorrection.toISOString());
    await page.getByLabel('As of', { exact: true }).fill(local);
    await page.getByRole('heading', { name: /^Timeline as of/ }).waitFor();
    await eventually(async () => {
      const shown = await events.locator('li[data-type]').count();
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThan(countNow);
    }, 10_000, 100);
    expect(await events.locator('li[data-type="SettlementCorrectionIssued"]').count()).toBe(0);
    // The invoice as it stood then: issued, without the note.
    const invoiceThen = page.getByRole('table', { name: 'Invoices as they stood then' }).locator(`tr[data-invoice="invoice-${anna.invoiceId}"]`);
    await expect(invoiceThen.locator('td[data-notes]').innerText()).resolves.toBe('0');
    await expect(invoiceThen.getByRole('cell').nth(1).innerText()).resolves.toBe('issued');
    await expectAccessible('customer as of');
    await shoot('customer-as-of');
    const times = await events.locator('time').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('datetime') ?? ''));
    expect(times.length).toBeGreaterThan(0);
    expect(times.length).toBeLessThan(countNow);
    for (const t of times) expect(new Date(t).getTime()).toBeLessThanOrEqual(anna.beforeCorrection.getTime());
    // One event further back, then back to now.
    await page.getByRole('button', { name: 'Step back one event' }).click();
    await eventually(async () => expect(await events.locator('li[data-type]').count()).toBe(times.length - 1), 10_000, 100);
    await page.getByRole('button', { name: 'Now' }).click();
    await eventually(async () => expect(await events.locator('li[data-type]').count()).toBe(countNow), 10_000, 100);
    const invoiceNow = page.getByRole('table', { name: 'Invoices now' }).locator(`tr[data-invoice="invoice-${anna.invoiceId}"]`);
    await expect(invoiceNow.locator('td[data-notes]').innerText()).resolves.toBe('1');
  });

  it("changes the customer's contact details: sealed again, named in the timeline, shown at once", async () => {
    await page.getByText('Change contact details').click();
    const form = page.getByRole('form', { name: 'Contact details' });
    await form.getByLabel('E-mail').fill('anna.hansen@example.dk');
    await form.getByLabel('Street and number').fill('Vestergade 12');
    await form.getByLabel('Postcode').fill('8000');
    await form.getByLabel('City').fill('Aarhus C');
    await form.getByRole('button', { name: 'Save contact details' }).click();
    await page.getByRole('status').getByText('Changed: email, street, postcode, city.').waitFor();
    await page.getByText('Vestergade 12, 8000 Aarhus C').waitFor();
    await page.getByRole('list', { name: 'Events' }).locator('li[data-type="CustomerPersonalDataChanged"]').waitFor();
    const changed = (await stack.store.readStream(`customer-${anna.customerId}`)).filter((e) => e.type === 'CustomerPersonalDataChanged');
    expect(changed.map((e) => e.data.changed)).toEqual([['email', 'street', 'postcode', 'city']]);
    expect(JSON.stringify(changed[0]!.data)).not.toMatch(/Vestergade|anna\.hansen/);
  });

  it('opens the invoice explained: as issued, the correction note, as corrected and as now', async () => {
    await page.getByRole('link', { name: 'Explain invoice 2026-10' }).click();
    await page.getByRole('heading', { name: 'Invoice 2026-10 explained' }).waitFor();
    const bridge = page.getByRole('table').first();
    await expect(bridge.getByRole('rowheader', { name: 'Correction notes (1)' }).isVisible()).resolves.toBe(true);
    await expect(bridge.getByRole('rowheader', { name: 'As computed now' }).isVisible()).resolves.toBe(true);
    await page.getByText('The issued invoice plus its notes gives the corrected amount.').waitFor();
    await expect(page.getByRole('list', { name: 'Correction notes' }).locator('li').count()).resolves.toBe(1);
    await expectAccessible('invoice');
    await shoot('invoice');
  });

  it('changes the margin of a product as a new version', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rates and products' }).click();
    await page.getByRole('heading', { name: 'Rates and products' }).waitFor();
    const versions = page.getByRole('table', { name: 'Versions of standard' });
    await expect(versions.locator('tbody tr').count()).resolves.toBe(1);
    await page.getByLabel('Margin DKK/kWh').fill('0.0600');
    await page.getByRole('button', { name: 'Save new version' }).click();
    await page.getByRole('status').getByText('Saved as version 2.').waitFor();
    await eventually(async () => expect(await versions.locator('tbody tr').count()).toBe(2), 10_000, 100);
    await expect(versions.locator('tbody tr').nth(1).innerText()).resolves.toContain('0.0600');
    await expectAccessible('products');
    await shoot('products');
  });

  it('replays a dead-lettered message once its cause is fixed', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operations' }).click();
    await page.getByRole('heading', { name: 'Dead-letter queues' }).waitFor();
    await page.getByRole('heading', { name: 'Settlement runs' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: TEST_QUEUE });
    await eventually(async () => {
      await page.reload();
      await expect(row.getByRole('cell').nth(1).innerText()).resolves.toBe('2');
    }, 20_000, 250);
    await row.getByRole('button', { name: `Inspect ${TEST_QUEUE}` }).click();
    await page.getByText('Reason: reference data missing for this event').first().waitFor();
    await expectAccessible('operations');
    await shoot('operations');
    // Discarding needs a reason; the message is kept with it.
    await page.getByRole('button', { name: `Discard ${junkId}` }).click();
    await page.getByRole('alert').getByText(/reason/).waitFor();
    await page.getByLabel(`Reason for ${junkId} (required to discard)`).fill('test message of a retired integration');
    await page.getByRole('button', { name: `Discard ${junkId}` }).click();
    await page.getByRole('status').getByText(`Message ${junkId} discarded.`).waitFor();
    broken = false;
    await page.getByRole('button', { name: `Replay ${poisonId}` }).click();
    await page.getByRole('status').getByText(`Message ${poisonId} replayed.`).waitFor();
    await eventually(async () => expect((await stack.pool.query(`SELECT event_id FROM back_office_test_applied`)).rows).toEqual([{ event_id: poisonId }]), 15_000, 100);
    await page.getByText('The queue is empty.').waitFor();
    const { rows } = await stack.pool.query<{ action: string; subject_id: string; purpose: string | null }>(`SELECT action, subject_id, purpose FROM audit.entries WHERE action LIKE 'dead-letter.%' ORDER BY at`);
    expect(rows).toEqual([
      { action: 'dead-letter.discard', subject_id: `${TEST_QUEUE}/${junkId}`, purpose: 'test message of a retired integration' },
      { action: 'dead-letter.replay', subject_id: `${TEST_QUEUE}/${poisonId}`, purpose: null },
    ]);
    const kept = await stack.pool.query<{ message_id: string; reason: string }>(`SELECT message_id, reason FROM messaging.discarded_dead_letters`);
    expect(kept.rows).toEqual([{ message_id: junkId, reason: 'test message of a retired integration' }]);
  });

  it('completes a forced-switch customer, lets the customer change the profile, and export and erasure see every version', async () => {
    // A customer as the process manager writes it for BRS-044: DataHub's RSM-028 carries no CPR.
    const id = randomUUID();
    const vault = new PiiVault(stack.pool, loadConfig('back-office-test', 0, {}).piiMasterKey);
    const sealed = await vault.encrypt(id, { name: null, email: null, phone: null, cpr: null, cvr: null, source: 'datahub-brs-044' });
    const body = '57131318040099999';
    await handleCommand({
      store: stack.store,
      streamId: customerStreamId(id),
      decider: customerDecider,
      command: { type: 'OnboardForcedSwitchCustomer', data: { customerId: id, customerType: 'private', personalData: sealed, gsrn: `${body}${gsrnCheckDigit(body)}`, processId: randomUUID(), effectiveDate: '2026-11-01' } },
      metadata: { correlationId: randomUUID(), causationId: null, actor: 'process-manager', schemaVersion: 1, context: 'portfolio' },
      now: new Date(),
    });
    const http = (method: string, path: string, headers: Record<string, string>, json?: unknown) =>
      fetch(`${stack.gatewayUrl}${path}`, { method, headers: { ...headers, ...(json === undefined ? {} : { 'content-type': 'application/json' }) }, body: json === undefined ? undefined : JSON.stringify(json) });
    const customer = async () => (await (await http('GET', `/api/customers/${id}`, stack.crm)).json()) as Record<string, unknown>;
    await eventually(async () => expect(await customer()).toMatchObject({ placeholder: true, customer_name: null, cpr: null }), 20_000, 200);

    const complete = { customer_type: 'private', customer_name: 'Bo Berg', cpr: '110285-1234', phone: '+4587654321' };
    expect((await http('POST', `/api/customers/${id}/identity`, stack.crm, complete)).status).toBe(200);
    await eventually(async () => expect(await customer()).toMatchObject({ placeholder: false, customer_name: 'Bo Berg', cpr: '110285-XXXX', phone: '+4587654321' }), 20_000, 200);
    const again = await http('POST', `/api/customers/${id}/identity`, stack.crm, complete);
    expect([again.status, ((await again.json()) as { type: string }).type]).toEqual([409, 'https://datahub-core.dev/problems/not-a-placeholder']);
    const staff = await stack.staff('admin', 'employee-gdpr');
    const found = (await (await http('POST', '/api/staff/customers/search', staff, { query: '1102851234' })).json()) as { customers: { id: string }[] };
    expect(found.customers.map((c) => c.id)).toEqual([id]);

    // The customer's own profile in the portal.
    const portal = bearer(await issueTestJwt({ kind: 'customer', customerId: id }));
    const changed = await http('PATCH', '/api/portal/profile', portal, { email: 'bo@example.dk', street: 'Nørregade 2', postcode: '1165', city: 'København K' });
    expect(await changed.json()).toEqual({ id, changed: ['email', 'street', 'postcode', 'city'] });
    await eventually(async () => expect(await (await http('GET', '/api/portal/profile', portal)).json()).toMatchObject({ email: 'bo@example.dk', address: { street: 'Nørregade 2', postcode: '1165', city: 'København K' } }), 20_000, 200);
    expect((await http('PATCH', '/api/portal/profile', staff, { email: 'x@example.dk' })).status).toBe(403);

    // GDPR: the export has the latest record and every event (sealed); after erasure nothing personal can be written.
    const exported = (await (await http('GET', `/api/staff/customers/${id}/export`, staff)).json()) as { personal_data: Record<string, string | null>; events: { type: string; data: unknown }[] };
    expect(exported.personal_data).toMatchObject({ name: 'Bo Berg', email: 'bo@example.dk', street: 'Nørregade 2', cpr: '1102851234' });
    expect(exported.events.map((e) => e.type)).toEqual(['CustomerCreated', 'CustomerReceivedByForcedSwitch', 'CustomerIdentityCompleted', 'CustomerUpdated', 'CustomerPersonalDataChanged', 'CustomerUpdated']);
    expect(JSON.stringify(exported.events)).not.toMatch(/Nørregade|1102851234|Bo Berg/);
    expect((await http('POST', `/api/staff/customers/${id}/erase`, staff)).status).toBe(200);
    const refused = await http('PATCH', `/api/customers/${id}`, stack.crm, { phone: '+4511111111' });
    expect([refused.status, ((await refused.json()) as { type: string }).type]).toEqual([409, 'https://datahub-core.dev/problems/personal-data-erased']);
    const afterErasure = (await (await http('POST', '/api/staff/customers/search', staff, { query: 'Bo Berg' })).json()) as { customers: unknown[] };
    expect(afterErasure.customers).toEqual([]);
    expect(((await (await http('GET', `/api/staff/customers/${id}/export`, staff)).json()) as { personal_data: unknown }).personal_data).toBeNull();
  });
});
