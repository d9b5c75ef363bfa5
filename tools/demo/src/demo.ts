import { connect, type ConsumeMessage } from 'amqplib';
import { Pool } from 'pg';
import { startDataHubSimulator } from '@dh/datahub-sim';
import { startEdsSimulator } from '@dh/eds-sim';
import { startEloverblikSimulator } from '@dh/eloverblik-sim';
import type { JsonObject } from '@dh/event-store';
import { AmqpConnection, CommandClient, silentMessagingLogger } from '@dh/messaging';
import { startPbsSimulator } from '@dh/pbs-sim';
import { demoCredentials } from './demo-credentials';
import { moneyIn, moneyInEnv, registerAgreements } from './money-in';
import { provisionStack, startStack, type Stack } from './stack';
import { byRole, dataHubScenario, eloverblikScenario, PLANTED_FROM, simulatorEnv } from './world';
import { reconcileOctober } from './reconciliation';

export interface DemoOutput {
  line(text: string): void;
}

export interface DemoSummary {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
  invoices: number;
  correctionNotes: number;
}

export interface DemoOptions {
  database?: string;
  vhost?: string;
  /** Keep the database and vhost afterwards for inspection (the default); tests drop theirs. */
  keep?: boolean;
}

const MONTH = '2026-10';
const N1_GLN = '5790001089030';
/** DataHub sends the forced switch's 20 October late (2 November): October's first run halts that point, a later run invoices it. */
const LATE_DAY = { date: '2026-10-20', sendAt: '2026-11-02T05:00:00Z' };
/**
 * Settlement runs on the business clock: a scheduler pass a second; a period's first run is due 15 business days after
 * it (October: 21 November), later runs daily for 10 days. (15 days keep November's run beyond the demo's last day.)
 */
const SCHEDULE_ENV = {
  SETTLEMENT_SCHEDULE_INTERVAL_MS: '1000',
  SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS: '15',
  SETTLEMENT_LATER_RUN_DAYS: '10',
  // The halt-retry pass (on by default) would settle the halted point as soon as its day arrives; the demo shows the
  // scheduled later run doing it (with the late move-in's supply), so it is off here.
  SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0',
};
/**
 * Our supplier reviews its own product price changes before they touch issued invoices (settlement's correction policy):
 * market prices correct at once, a product's new price is left for staff to dry-run and apply.
 */
const CORRECTION_POLICY_ENV = { SETTLEMENT_PRODUCT_PRICE_CORRECTIONS: 'review' };
/** The second product: for the customer who moves in on 15 October (electric heating). Its margin is corrected later (review). */
const GREEN = { productId: 'green', name: 'Green spot (elvarme)', marginDkkPerKwh: '0.0695', monthlySubscriptionDkk: '19.00', validFrom: '2026-01-01' };
const GREEN_CORRECTED = { ...GREEN, marginDkkPerKwh: '0.0595', validFrom: '2026-10-01' };
/** A move-in reported late: on Monday 2 November for Monday 26 October, its 5th working day after (BRS-009). */
const LATE_MOVE_IN = { date: '2026-10-26', reportedAt: '2026-11-02T06:00:00Z' };

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, lastSeen?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastSeen ? ` (last seen: ${lastSeen()})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The main job on the embedded default: one month of a supplier's life, October 2026 (with its
 * 25-hour day), through every service process and the market simulators. Customers are onboarded
 * from CRM (one rejected, one cancelled, one mid-month), DataHub hands us one by forced switch,
 * prices and tariffs are ingested, a month of quarter-hour data arrives, the month is settled by
 * competing workers, ERP exports the invoices, and a corrected price becomes a correction note.
 * Issue 9: two of our customers on one metering point (a move-in on the 15th) get an invoice each; a
 * move-in reported 5 working days late is invoiced by the next scheduled run; a product correction left
 * for review is dry-run and applied once (README, "the demo month").
 */
export async function runDemo(out: DemoOutput, options: DemoOptions = {}): Promise<DemoSummary> {
  const checks: DemoSummary['checks'] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    out.line(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  };

  out.line('== the market: DataHub 3, Eloverblik and Energi Data Service simulators ==');
  const start = '2026-09-28T09:00:00Z';
  const dataHub = await startDataHubSimulator({
    port: 0,
    scenario: dataHubScenario({ start, forcedSwitchDate: '2026-10-01', reconciliation: true, lateMeteredData: [{ gsrn: byRole('forced-switch').gsrn, ...LATE_DAY }] }),
  });
  const eloverblik = await startEloverblikSimulator({ port: 0, scenario: eloverblikScenario({ now: start }) });
  const eds = await startEdsSimulator({ port: 0, scenario: { seed: 2026 } });
  const pbs = await startPbsSimulator();
  out.line(`  DataHub B2B ${dataHub.url} (clock ${start}), Eloverblik ${eloverblik.apiBaseUrl}, Energi Data Service ${eds.url}`);

  const resources = await provisionStack({ database: options.database ?? 'dh_demo', vhost: options.vhost ?? 'dh-demo' });
  const pool = new Pool({ connectionString: resources.database.url });
  let stack: Stack | null = null;
  const amqp = new AmqpConnection({ url: resources.vhost.url, logger: silentMessagingLogger });
  const bus = await connect(resources.vhost.url);
  const seen: ConsumeMessage[] = [];
  try {
    const credentials = await demoCredentials(pool);
    const channel = await bus.createChannel();
    await channel.assertExchange('domain.events', 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'domain.events', '#');
    await channel.consume(queue, (m) => m && seen.push(m), { noAck: true });

    out.line('== starting the stack (PostgreSQL event store, RabbitMQ, 7 services, each its own process) ==');
    stack = await startStack(
      resources,
      {
        ...simulatorEnv({ dataHub: dataHub.url, eloverblik: eloverblik.apiBaseUrl }),
        EDS_URL: eds.url,
        ...moneyInEnv(pbs),
        AUTH_ISSUERS: credentials.authIssuersEnv,
        COMMAND_TIMEOUT_MS: '30000',
        ...SCHEDULE_ENV,
        ...CORRECTION_POLICY_ENV,
      },
      (l) => out.line(`  ${l}`),
    );
    const gateway = stack.url('gateway');
    const call = async <T>(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T> => {
      const res = await fetch(`${gateway}${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
      return (text ? JSON.parse(text) : null) as T;
    };
    const published = (key: string) => seen.filter((m) => m.fields.routingKey === key).map((m) => JSON.parse(m.content.toString()) as { data: JsonObject });
    const advanceTo = async (instant: string) => {
      dataHub.control.advanceTo(instant);
      eloverblik.control.setNow(new Date(instant));
      await new Promise((resolve) => setTimeout(resolve, 400));
      out.line(`  -- clock: ${instant}`);
    };

    out.line('== rates: spot prices, tariffs, tax, product and grid areas (back-office commands) ==');
    await amqp.connect();
    const commands = new CommandClient({ connection: amqp, defaultTimeoutMs: 60_000 });
    await commands.start();
    type DayResult = { deliveryDate: string; outcome: string; version: number; intervals: number };
    const describeDays = (days: DayResult[]) =>
      `${days.length} days, ${days.reduce((n, d) => n + d.intervals, 0)} prices (${days.filter((d) => d.intervals !== 96).map((d) => `${d.deliveryDate}: ${d.intervals}`).join(', ') || 'all 96'}), ${days.map((d) => `${d.outcome} v${d.version}`).filter((v, i, a) => a.indexOf(v) === i).join(', ')}`;
    for (const priceArea of ['DK1', 'DK2']) {
      const result = (await commands.send('rates', 'IngestSpotPrices', { priceArea, from: '2026-10-01', to: '2026-11-01' })) as unknown as { days: DayResult[] };
      out.line(`  spot prices ${priceArea}, October (PT15M): ${describeDays(result.days)}`);
    }
    const charges = (await commands.send('rates', 'IngestCharges', { from: '2025-01-01', to: '2027-01-01' })) as unknown as { charges: { chargeId: string; rows: number }[] };
    out.line(`  charges: ${charges.charges.map((c) => `${c.chargeId} (${c.rows} rows)`).join(', ')}`);
    await commands.send('rates', 'SetElectricityTaxRate', { validFrom: '2026-01-01', validTo: '2028-01-01', normalDkkPerKwh: '0.008', reducedDkkPerKwh: '0.008' });
    await commands.send('rates', 'DefineProduct', { productId: 'standard', name: 'Standard spot', marginDkkPerKwh: '0.0495', monthlySubscriptionDkk: '29.00', validFrom: '2026-01-01' });
    await commands.send('rates', 'DefineProduct', GREEN);
    for (const [gridArea, priceArea] of [['804', 'DK1'], ['131', 'DK2'], ['344', 'DK1']]) {
      await commands.send('rates', 'MapGridArea', { gridArea, priceArea, gridCompanyGln: N1_GLN, gridTariffChargeId: `${N1_GLN}:D03:CD`, gridSubscriptionChargeId: `${N1_GLN}:D01:CD` });
    }
    out.line(`  elafgift 0.008 DKK/kWh (2026–2027), products "standard" (margin 0.0495 DKK/kWh, 29.00 DKK/month) and "green" (margin ${GREEN.marginDkkPerKwh}, ${GREEN.monthlySubscriptionDkk}/month), grid areas 804 and 344 → DK1, 131 → DK2`);
    // CRM may only sell products in the catalogue, which the gateway reads from its projection.
    await waitFor('the product catalogue', async () => ((await pool.query(`SELECT DISTINCT product_id FROM read_models.portal_products WHERE product_id IN ('standard', 'green')`)).rowCount === 2 ? true : undefined));

    out.line('== CRM onboards customers (Eloverblik lookup, then BRS-001 to DataHub) ==');
    const onboard = async (role: Parameters<typeof byRole>[0], name: string, cpr: string, startDate: string, terms: { productId?: string; moveIn?: boolean; electricHeating?: boolean } = {}) => {
      const { gsrn } = byRole(role);
      const lookup = await call<JsonObject>('GET', `/api/metering-points/${gsrn}/lookup`, credentials.crm);
      const key = terms.moveIn ? `demo-${gsrn}-move-in-${startDate}` : `demo-${gsrn}`;
      const created = await call<{ id: string; process_id: string }>('POST', '/api/customers', { ...credentials.crm, 'Idempotency-Key': key }, {
        customer_name: name,
        email: `${name.split(' ')[0].toLowerCase()}@example.dk`,
        customer_type: 'private',
        cpr,
        gsrn,
        product_id: terms.productId ?? 'standard',
        desired_start_date: startDate,
        billing_frequency: 'monthly',
        payment_model: 'actual',
        ...(terms.moveIn ? { move_in: true } : {}),
        ...(terms.electricHeating ? { electric_heating: true } : {}),
      });
      const expected = (lookup.expectedAnnualConsumption as JsonObject | null)?.kwh ?? '?';
      const what = `${terms.moveIn ? 'move-in (BRS-009) ' : ''}from ${startDate}${terms.productId ? `, product ${terms.productId}` : ''}${terms.electricHeating ? ', electric heating' : ''}`;
      out.line(`  ${name.padEnd(14)} ${gsrn} grid ${String(lookup.gridArea)} ${String(lookup.priceArea)}, expected ${String(expected)} kWh/year -> process ${created.process_id} ${what}`);
      return { gsrn, customerId: created.id, processId: created.process_id };
    };
    const processStatus = async (id: string): Promise<{ status: string; rejection: { reason_code: string } | null }> => {
      const res = await fetch(`${gateway}/api/processes/${id}`, { headers: credentials.crm });
      if (res.status === 404) return { status: 'not-yet-projected', rejection: null };
      if (!res.ok) throw new Error(`GET /api/processes/${id} -> ${res.status} ${await res.text()}`);
      return (await res.json()) as { status: string; rejection: { reason_code: string } | null };
    };
    const anna = await onboard('switch-accepted', 'Anna Hansen', '0101901234', '2026-10-01');
    const bo = await onboard('switch-rejected', 'Bo Berg', '0202851234', '2026-10-01');
    const carl = await onboard('switch-cancelled', 'Carl Clausen', '0303751234', '2026-10-20');
    const dorte = await onboard('second-switch', 'Dorte Dahl', '0404651234', '2026-10-15');
    // Two of our customers on one metering point: Eva from 1 October, Frank moves in on the 15th (another product, electric heating).
    const eva = await onboard('move-between-customers', 'Eva Ebbesen', '0505801234', '2026-10-01');
    const frank = await onboard('move-between-customers', 'Frank Friis', '0606701234', '2026-10-15', { productId: 'green', moveIn: true, electricHeating: true });
    await registerAgreements({ call, line: (t) => out.line(t), credentials }, [
      { name: 'Anna Hansen', customerId: anna.customerId, agreementNumber: '900001' },
      { name: 'Dorte Dahl', customerId: dorte.customerId, agreementNumber: '900002' },
    ]);
    let statuses: { status: string }[] = [];
    await waitFor(
      'answers from DataHub',
      async () => {
        statuses = await Promise.all([anna, bo, carl, dorte, eva, frank].map((c) => processStatus(c.processId)));
        return statuses.every((s) => ['accepted', 'rejected'].includes(s.status)) ? statuses : undefined;
      },
      60_000,
      () => statuses.map((s) => s.status).join(', '),
    );
    const rejected = await processStatus(bo.processId);
    check('a switch DataHub rejects is shown with its reason', rejected.status === 'rejected', `Bo Berg: ${rejected.status} (${rejected.rejection?.reason_code ?? '-'})`);
    await call('POST', `/api/processes/${carl.processId}/cancel`, credentials.crm, { reason: 'customer-withdrew' });
    const cancelled = await waitFor('cancellation', async () => ((await processStatus(carl.processId)).status === 'cancelled' ? true : undefined));
    check('a pending switch is cancelled before its date (RSM-002)', cancelled, 'Carl Clausen: cancelled');

    out.line('== October passes: effective dates, master data, a forced switch, daily quarter-hour data ==');
    await advanceTo('2026-10-01T22:30:00Z');
    await waitFor('activation of Anna, Eva and the forced switch', async () => (published('customer.activated').length >= 3 ? true : undefined));
    await advanceTo('2026-10-15T22:30:00Z');
    await waitFor('activation of Dorte and Frank', async () => (published('customer.activated').length >= 5 ? true : undefined));
    await advanceTo('2026-11-01T00:30:00Z');
    const activated = published('customer.activated').map((e) => String(e.data.gsrn));
    check('customers activated on their effective dates', activated.length === 5, `customer.activated for ${activated.join(', ')}`);

    // The forced switch's 20 October comes late (LATE_DAY): 30 days for now.
    const expectedDays: Record<string, number> = { [anna.gsrn]: 31, [byRole('forced-switch').gsrn]: 30, [dorte.gsrn]: 17, [eva.gsrn]: 31 };
    // Settlement's own copy, which its run reads: it is kept by settlement's inputs consumer behind the recorded events
    // (under load seconds behind), and a run started before it holds every day halts its metering points as missing data.
    const days = await waitFor('a month of metered data in settlement', async () => {
      const { rows } = await pool.query<{ gsrn: string; days: number }>(`SELECT gsrn, count(DISTINCT day)::int AS days FROM settlement.metered_data GROUP BY 1`);
      const byGsrn = Object.fromEntries(rows.map((r) => [r.gsrn, r.days]));
      return Object.entries(expectedDays).every(([g, n]) => byGsrn[g] === n) ? byGsrn : undefined;
    }, 120_000);
    const values = await pool.query<{ n: string }>(`SELECT sum(coalesce(jsonb_array_length(data->'wh'), jsonb_array_length(data->'points')))::text AS n FROM event_store.events WHERE type = 'MeteredDataReceived'`);
    check('a month of PT15M data received from DataHub', true, `${Object.entries(days).map(([g, d]) => `${g}: ${d} days`).join(', ')}; ${values.rows[0].n} quarter-hour values`);

    out.line('== settlement of October 2026 (work items on RabbitMQ, competing workers) ==');
    const staff = await credentials.staff();
    // Settlement decides who is in the run from its own copy of the supplies: let it catch up with portfolio first.
    // Five customer supplies: Anna, the forced switch, Dorte, and Eva's ended by Frank's from the 15th.
    await waitFor(
      "settlement's copy of October's supplies",
      async () => {
        const { rows } = await pool.query<{ n: number; ended: number }>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE gsrn = $1 AND end_date = '2026-10-15')::int AS ended FROM settlement.supplies`, [eva.gsrn]);
        return rows[0]!.n >= 5 && rows[0]!.ended === 1 ? true : undefined;
      },
    );
    const run = await call<{ runId: string; items: number }>('POST', '/api/settlement/runs', staff, { period: MONTH });
    out.line(`  run ${run.runId}: ${run.items} metering points`);
    const progress = await waitFor('the settlement run', async () => {
      const res = await fetch(`${gateway}/api/settlement/runs/${run.runId}`, { headers: credentials.erp });
      if (res.status === 404) return undefined; // the run's read model is still being projected
      const r = (await res.json()) as { status: string; items: { total: number; done: number; invoiced: number; halted: number } };
      return r.status === 'completed' ? r : undefined;
    }, 120_000);
    check('settlement run completed; the point whose 20 October is late halts (no partial invoice)', progress.items.invoiced === 3 && progress.items.halted === 1, JSON.stringify(progress.items));
    await waitFor('settlement.completed on the bus', async () => (published('settlement.completed').length === 1 ? true : undefined), 20_000);

    out.line('== ERP export (JSON; CSV available with Accept: text/csv) ==');
    type Invoice = { invoice_id: string; customer_id: string; gsrn: string; period_start: string; period_end: string; lines: { kind: string; description: string; quantity_kwh: string | null; days_supplied: number | null; amount_excl_vat: string; vat_amount: string }[]; total_excl_vat: string; total_vat: string; total_incl_vat: string; net_amount_due: string };
    const exported = await call<{ invoices: Invoice[] }>('GET', `/api/settlement/export?period=${MONTH}`, credentials.erp);
    for (const invoice of exported.invoices) {
      out.line(`  invoice ${invoice.invoice_id} ${invoice.gsrn} ${invoice.period_start}..${invoice.period_end}`);
      for (const line of invoice.lines) {
        const quantity = line.quantity_kwh === null ? '' : `${line.quantity_kwh} kWh`;
        out.line(`      ${line.description.padEnd(34)} ${quantity.padStart(14)} ${line.amount_excl_vat.padStart(9)} + VAT ${line.vat_amount.padStart(8)}`);
      }
      out.line(`      total ${invoice.total_excl_vat} + VAT ${invoice.total_vat} = ${invoice.total_incl_vat} DKK; due ${invoice.net_amount_due}`);
    }
    const again = await call<{ invoices: Invoice[] }>('GET', `/api/settlement/export?period=${MONTH}`, credentials.erp);
    check('a re-export has the same invoice ids', JSON.stringify(again.invoices.map((i) => i.invoice_id)) === JSON.stringify(exported.invoices.map((i) => i.invoice_id)), `${exported.invoices.length} invoices`);
    // Started again: a later run of the period takes only what is not invoiced (the halted point, its day still missing).
    const rerun = await call<{ runId: string; alreadyStarted: boolean }>('POST', '/api/settlement/runs', staff, { period: MONTH });
    if (!rerun.alreadyStarted) {
      await waitFor('the later run', async () => {
        const res = await fetch(`${gateway}/api/settlement/runs/${rerun.runId}`, { headers: credentials.erp });
        return res.ok && ((await res.json()) as { status: string }).status === 'completed' ? true : undefined;
      }, 60_000);
    }
    const afterRerun = await call<{ invoices: Invoice[] }>('GET', `/api/settlement/export?period=${MONTH}`, credentials.erp);
    check(
      'running the same period again issues nothing new',
      JSON.stringify(afterRerun.invoices.map((i) => i.invoice_id).sort()) === JSON.stringify(exported.invoices.map((i) => i.invoice_id).sort()),
      rerun.alreadyStarted ? 'alreadyStarted' : `a later run (${rerun.runId}) for what is not invoiced: still ${afterRerun.invoices.length} invoices`,
    );

    await moveBetweenCustomers({ line: (t) => out.line(t), check, pool, invoices: exported.invoices, eva: { name: 'Eva Ebbesen', ...eva }, frank: { name: 'Frank Friis', ...frank } });

    out.line('== a corrected spot price for 2026-10-10 (new version, never an overwrite) ==');
    eds.control.publishCorrection({ dataset: 'DayAheadPrices', priceArea: 'DK1', timeUtc: '2026-10-10T16:00', priceDkk: '2999.990000' });
    const corrected = (await commands.send('rates', 'IngestSpotPrices', { priceArea: 'DK1', from: '2026-10-10', to: '2026-10-11' })) as unknown as { days: DayResult[] };
    out.line(`  re-ingested DK1 2026-10-10: ${describeDays(corrected.days)}`);
    const notes = await waitFor('correction notes', async () => {
      const r = await call<{ notes: { note_id: string; gsrn: string; note_type: string; total_incl_vat: string }[] }>('GET', `/api/settlement/credit-notes?period=${MONTH}`, credentials.erp);
      return r.notes.length >= 1 ? r.notes : undefined;
    }, 60_000);
    for (const note of notes) out.line(`  ${note.note_type} note ${note.note_id} for ${note.gsrn}: ${note.total_incl_vat} DKK incl. VAT`);
    check('the corrected price became correction notes for the DK1 invoices', notes.every((n) => n.note_type === 'debit' || n.note_type === 'credit'), `${notes.length} notes, settlement.correction events: ${published('settlement.correction').length}`);

    out.line('== DataHub sends the late day ==');
    await advanceTo('2026-11-02T06:00:00Z');
    const lateGsrn = byRole('forced-switch').gsrn;
    await waitFor(`${lateGsrn}'s ${LATE_DAY.date} in settlement`, async () => ((await pool.query(`SELECT 1 FROM settlement.metered_data WHERE gsrn = $1 AND day = $2`, [lateGsrn, LATE_DAY.date])).rowCount ? true : undefined), 60_000);
    out.line(`  ${lateGsrn}: ${LATE_DAY.date} received; October's later runs are due from 21 November (15 business days after the month)`);

    out.line(`== a move-in reported after October's run: ${LATE_MOVE_IN.date}, reported ${LATE_MOVE_IN.reportedAt.slice(0, 10)} (BRS-009 allows 5 working days after the date) ==`);
    const gitte = await onboard('late-move-in', 'Gitte Grau', '0707601234', LATE_MOVE_IN.date, { moveIn: true });
    const lateStatus = await waitFor('DataHub\'s answer to the late move-in', async () => {
      const s = await processStatus(gitte.processId);
      return ['accepted', 'rejected'].includes(s.status) ? s : undefined;
    });
    const lateDays = await waitFor(
      "settlement's copy of the late move-in's supply and its October days",
      async () => {
        const supply = await pool.query<{ start_date: string }>(`SELECT start_date FROM settlement.supplies WHERE gsrn = $1 AND customer_id = $2`, [gitte.gsrn, gitte.customerId]);
        const days = await pool.query<{ n: number }>(`SELECT count(DISTINCT day)::int AS n FROM settlement.metered_data WHERE gsrn = $1 AND day >= $2 AND day <= '2026-10-31'`, [gitte.gsrn, LATE_MOVE_IN.date]);
        return supply.rows[0]?.start_date === LATE_MOVE_IN.date && days.rows[0]!.n === 6 ? days.rows[0]!.n : undefined;
      },
      60_000,
    );
    check(
      'a move-in reported 5 working days after its date is accepted and supplied from that date',
      lateStatus.status === 'accepted',
      `Gitte Grau: ${lateStatus.status}, supplied from ${LATE_MOVE_IN.date}, ${lateDays} October days sent by DataHub after the report`,
    );
    // DataHub's wholesale fixing of October (1 November) predates the report: grid area 344 is reconciled against its
    // correction settlement, after the demo month.
    out.line(`  DataHub's wholesale fixing of ${MONTH} (1 November) came before the report: grid area 344 waits for its correction settlement`);

    await moneyIn(
      { line: (t) => out.line(t), check, waitFor, call, advanceTo, published, pool, pbs, credentials },
      { name: 'Anna Hansen', customerId: anna.customerId },
      { name: 'Dorte Dahl', customerId: dorte.customerId },
    );

    await monthGrows({
      line: (t) => out.line(t),
      check,
      waitFor,
      call,
      pool,
      credentials,
      staff,
      forcedGsrn: byRole('forced-switch').gsrn,
      lateMoveIn: gitte,
      frank: { gsrn: frank.gsrn, customerId: frank.customerId },
      firstRunId: run.runId,
      defineProduct: async (definition) => {
        await commands.send('rates', 'DefineProduct', definition);
      },
    });

    await reconcileOctober({ out, check, call, credentials, staff, month: MONTH, planted: { gsrn: carl.gsrn, from: PLANTED_FROM }, waitFor });

    out.line('== health of every service ==');
    for (const [name, service] of stack.services) {
      const res = await fetch(`${service.url}/health/ready`);
      const body = (await res.json()) as { checks: Record<string, { status: string }> };
      out.line(`  ${name.padEnd(20)} ${res.status} ${Object.entries(body.checks).map(([k, v]) => `${k}:${v.status}`).join(' ')}`);
    }
    await commands.close();

    const ok = checks.every((c) => c.ok);
    out.line(`== done: ${checks.filter((c) => c.ok).length}/${checks.length} checks passed${ok ? '' : ' — SOMETHING WENT WRONG'} ==`);
    if (options.keep !== false) out.line(`   database ${resources.database.name} is kept for inspection; the next run replaces it`);
    return { ok, checks, invoices: exported.invoices.length, correctionNotes: notes.length };
  } finally {
    await bus.close().catch(() => undefined);
    await amqp.close().catch(() => undefined);
    await stack?.stop();
    await pool.end();
    await Promise.all([dataHub.stop(), eloverblik.stop(), eds.stop(), pbs.stop()]);
    if (options.keep === false) await Promise.all([resources.database.drop(), resources.vhost.drop()]);
  }
}

type ExportedInvoice = { invoice_id: string; customer_id: string; gsrn: string; lines: { kind: string; quantity_kwh: string | null; days_supplied: number | null; amount_excl_vat: string }[]; total_incl_vat: string };

/** Thousandths of a kWh (Wh) of a "123.456" kWh string, exactly. */
const whOf = (kwh: string): bigint => {
  const [whole, fraction = ''] = kwh.split('.');
  return BigInt(whole!) * 1000n + BigInt(fraction.padEnd(3, '0').slice(0, 3)) * (kwh.startsWith('-') ? -1n : 1n);
};

/** Øre of a monthly subscription for `days` of a month of `daysInMonth` days, rounded half up. */
const proratedOre = (monthlyDkk: string, days: number, daysInMonth: number): bigint => {
  const ore = whOf(monthlyDkk) / 10n; // DKK with 2 decimals → øre
  return (2n * ore * BigInt(days) + BigInt(daysInMonth)) / (2n * BigInt(daysInMonth));
};
const oreOf = (dkk: string): bigint => whOf(dkk) / 10n;

/**
 * Issue 9, item 2: two of our customers on one metering point in one month. Eva is supplied from 1 October; Frank moves
 * in on the 15th (BRS-009, RSM-001 E65) on another product with electric heating. DataHub sees no change of supplier;
 * portfolio ends Eva's supply from the move-in's date (move-out). Each gets an invoice for their own days, product
 * and flag, and the two energy lines add up to the metering point's month of data.
 */
async function moveBetweenCustomers(ctx: {
  line(text: string): void;
  check(name: string, ok: boolean, detail: string): void;
  pool: Pool;
  invoices: ExportedInvoice[];
  eva: { name: string; gsrn: string; customerId: string };
  frank: { name: string; gsrn: string; customerId: string };
}): Promise<void> {
  const { gsrn } = ctx.eva;
  ctx.line(`== two of our customers on ${gsrn} in October: Eva moves out, Frank moves in on the 15th (BRS-009) ==`);
  const supplies = (
    await ctx.pool.query<{ customer_id: string; start_date: string; end_date: string | null; product_id: string; electric_heating: boolean }>(
      `SELECT customer_id, start_date, end_date, product_id, electric_heating FROM settlement.supplies WHERE gsrn = $1 AND NOT reversed ORDER BY start_date`,
      [gsrn],
    )
  ).rows;
  const wh = await ctx.pool.query<{ wh: string }>(
    `SELECT coalesce(sum(v), 0)::text AS wh FROM settlement.metered_data m CROSS JOIN LATERAL unnest(m.wh) AS v
      WHERE m.gsrn = $1 AND m.day BETWEEN '2026-10-01' AND '2026-10-31' AND m.version = (SELECT max(version) FROM settlement.metered_data x WHERE x.gsrn = m.gsrn AND x.day = m.day)`,
    [gsrn],
  );
  const monthWh = BigInt(wh.rows[0]!.wh);
  const expected = [
    { who: ctx.eva, start: '2026-10-01', end: '2026-10-15', product: 'standard', monthly: '29.00', heating: false, days: 14 },
    { who: ctx.frank, start: '2026-10-15', end: null, product: GREEN.productId, monthly: GREEN.monthlySubscriptionDkk, heating: true, days: 17 },
  ];
  const problems: string[] = [];
  let energyWh = 0n;
  const invoices = ctx.invoices.filter((i) => i.gsrn === gsrn);
  if (invoices.length !== 2) problems.push(`${invoices.length} invoices for ${gsrn}`);
  for (const e of expected) {
    const invoice = invoices.find((i) => i.customer_id === e.who.customerId);
    const supply = supplies.find((s) => s.customer_id === e.who.customerId);
    if (invoice === undefined || supply === undefined) {
      problems.push(`${e.who.name}: ${invoice === undefined ? 'no invoice' : 'no supply'}`);
      continue;
    }
    const energy = invoice.lines.filter((l) => l.kind === 'energy').reduce((n, l) => n + whOf(l.quantity_kwh ?? '0'), 0n);
    energyWh += energy;
    const dayCounts = [...new Set(invoice.lines.filter((l) => l.days_supplied !== null).map((l) => l.days_supplied))];
    const subscription = invoice.lines.find((l) => l.kind === 'product-subscription');
    ctx.line(
      `  ${e.who.name.padEnd(12)} invoice ${invoice.invoice_id}: supplied ${supply.start_date}..${supply.end_date ?? '(on)'}, product ${supply.product_id}, electric heating ${supply.electric_heating ? 'yes' : 'no'}; ` +
        `${dayCounts.join('/')} days of subscriptions, product subscription ${subscription?.amount_excl_vat ?? '-'} DKK, energy ${Number(energy) / 1000} kWh, total ${invoice.total_incl_vat} DKK incl. VAT`,
    );
    if (supply.start_date !== e.start || supply.end_date !== e.end || supply.product_id !== e.product || supply.electric_heating !== e.heating) problems.push(`${e.who.name}: supply ${JSON.stringify(supply)}`);
    if (dayCounts.length !== 1 || dayCounts[0] !== e.days) problems.push(`${e.who.name}: subscription days ${dayCounts.join('/')}, not ${e.days}`);
    if (subscription === undefined || oreOf(subscription.amount_excl_vat) !== proratedOre(e.monthly, e.days, 31)) problems.push(`${e.who.name}: product subscription ${subscription?.amount_excl_vat ?? '-'} is not ${e.monthly} × ${e.days}/31`);
  }
  ctx.line(`  energy on the two invoices: ${Number(energyWh) / 1000} kWh; metered on ${gsrn} in October: ${Number(monthWh) / 1000} kWh`);
  if (energyWh !== monthWh) problems.push(`energy ${energyWh} Wh invoiced, ${monthWh} Wh metered`);
  ctx.check(
    'two of our customers on one metering point in one month: an invoice each, for their own days, product and electric-heating flag',
    problems.length === 0,
    problems.length === 0 ? `Eva 1–14 October on standard, Frank 15–31 October on green with electric heating; ${Number(monthWh) / 1000} kWh split exactly` : problems.join('; '),
  );
}

/**
 * Issue 9, the month grows: the point halted by October's first run (its 20 October came late) and the supply of a
 * move-in reported after that run are invoiced by the next scheduled run of October (the scheduler starts it on the
 * business clock); staff correct a product's margin, which under the review policy corrects no invoice by itself,
 * dry-run the recomputation of the invoice concerned and apply exactly that dry run, once.
 */
async function monthGrows(ctx: {
  line(text: string): void;
  check(name: string, ok: boolean, detail: string): void;
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  call<T>(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T>;
  pool: Pool;
  credentials: { erp: Record<string, string> };
  staff: Record<string, string>;
  forcedGsrn: string;
  lateMoveIn: { gsrn: string; customerId: string };
  frank: { gsrn: string; customerId: string };
  firstRunId: string;
  defineProduct(definition: typeof GREEN): Promise<void>;
}): Promise<void> {
  ctx.line('== the month grows: a later run settles a halted point and a late move-in; a product correction is dry-run, then applied ==');
  type Issued = { invoice_id: string; run_id: string; seq: number; items_total: number; invoiced: number; slot_day: string | null };
  const issuedOf = async (gsrn: string, customerId: string | null): Promise<Issued[]> =>
    (
      await ctx.pool.query<Issued>(
        `SELECT e.data->>'invoiceId' AS invoice_id, r.run_id, r.seq, r.items_total, r.invoiced, s.slot_day
           FROM event_store.events e JOIN settlement.runs r ON r.run_id = e.data->>'runId'
           LEFT JOIN settlement.run_schedule s ON s.period_label = r.period_label AND s.started_run_id = r.run_id
          WHERE e.type = 'InvoiceIssued' AND e.data->>'gsrn' = $1 AND e.data->>'periodLabel' = $2 AND ($3::text IS NULL OR e.data->>'customerId' = $3)`,
        [gsrn, MONTH, customerId],
      )
    ).rows;
  const forced = await ctx.waitFor("the late point's invoice from a later run of October", async () => (await issuedOf(ctx.forcedGsrn, null))[0], 120_000);
  const late = await ctx.waitFor("the late move-in's invoice from a later run of October", async () => (await issuedOf(ctx.lateMoveIn.gsrn, ctx.lateMoveIn.customerId))[0], 120_000);
  const by = (i: Issued) => (i.slot_day ? `started by the scheduler on ${i.slot_day}` : 'not a scheduled run');
  ctx.line(`  ${ctx.forcedGsrn}: invoice ${forced.invoice_id} by run ${forced.seq} of ${MONTH} (${forced.run_id}, ${by(forced)}; ${forced.invoiced}/${forced.items_total} invoiced)`);
  ctx.check(
    'a point halted for a late day is invoiced by a later run of the month once the day has arrived',
    forced.seq >= 2 && forced.run_id !== ctx.firstRunId && forced.invoiced === forced.items_total,
    `run ${forced.seq}, ${by(forced)}`,
  );
  type Exported = { invoices: ExportedInvoice[] };
  const exported = await ctx.call<Exported>('GET', `/api/settlement/export?period=${MONTH}`, ctx.credentials.erp);
  const lateInvoice = exported.invoices.filter((i) => i.gsrn === ctx.lateMoveIn.gsrn);
  const lateDays = [...new Set(lateInvoice.flatMap((i) => i.lines.filter((l) => l.days_supplied !== null).map((l) => l.days_supplied)))];
  const lateIssued = await issuedOf(ctx.lateMoveIn.gsrn, null);
  ctx.line(`  ${ctx.lateMoveIn.gsrn}: invoice ${late.invoice_id} by run ${late.seq} of ${MONTH} (${by(late)}), ${lateDays.join('/')} days of subscriptions, ${lateInvoice[0]?.total_incl_vat ?? '-'} DKK incl. VAT`);
  ctx.check(
    "a move-in reported after the month's first run is invoiced by the next scheduled run, exactly once",
    late.slot_day !== null && late.seq >= 2 && late.run_id !== ctx.firstRunId && lateIssued.length === 1 && lateInvoice.length === 1 && lateDays.length === 1 && lateDays[0] === 6,
    `run ${late.seq}, ${by(late)}; ${lateIssued.length} InvoiceIssued, ${lateInvoice.length} in the export, ${lateDays.join('/')} days (26–31 October)`,
  );

  // The product correction: our own price, so (SETTLEMENT_PRODUCT_PRICE_CORRECTIONS=review) no invoice is corrected by itself.
  const frankInvoice = exported.invoices.find((i) => i.gsrn === ctx.frank.gsrn && i.customer_id === ctx.frank.customerId);
  if (frankInvoice === undefined) throw new Error(`no invoice of ${ctx.frank.customerId} on ${ctx.frank.gsrn} in the export`);
  await ctx.defineProduct(GREEN_CORRECTED);
  ctx.line(`  product "green" corrected from ${GREEN_CORRECTED.validFrom}: margin ${GREEN.marginDkkPerKwh} → ${GREEN_CORRECTED.marginDkkPerKwh} DKK/kWh (the introductory price promised); under review, nothing is corrected by itself`);
  type Price = { version: number; prices: string[] } | null;
  type Cause = { input: string; role?: string; day?: string; days?: number; firstDay?: string; lastDay?: string; old: Price | unknown; new: Price | unknown };
  type DryLine = { kind: string; quantityKwh: string | null; amountExclVat: string; vat: string; causes: Cause[] };
  type Dry = {
    wouldIssue: { noteType: string; lines: DryLine[]; totals: { inclVat: string } | null };
    basis: { asOf: string; meteredKnownAt: string; outcome: string; reproduced: boolean; differingLines: string[] };
    asOf: string;
    basedOnRevision: number;
  };
  const dry = await ctx.waitFor(
    'a dry run that sees the corrected product',
    async () => {
      const d = await ctx.call<Dry>('GET', `/api/staff/invoices/${frankInvoice.invoice_id}/recomputation`, ctx.staff);
      return d.wouldIssue.noteType !== 'none' ? d : undefined;
    },
    60_000,
  );
  const notesOf = async (cause: string | null) =>
    Number(
      (
        await ctx.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM event_store.events WHERE type = 'SettlementCorrectionIssued' AND data->>'invoiceId' = $1 AND ($2::text IS NULL OR data->>'cause' = $2)`, [
          frankInvoice.invoice_id,
          cause,
        ])
      ).rows[0]!.n,
    );
  const automatic = await notesOf(null);
  const version = (p: unknown) => (p !== null && typeof p === 'object' && 'version' in p ? `v${String((p as { version: number }).version)}${'prices' in p ? ` (${(p as { prices: string[] }).prices.join(', ')})` : ''}` : '-');
  ctx.line(`  dry run of ${frankInvoice.invoice_id} at ${dry.asOf} (revision ${dry.basedOnRevision}): ${dry.wouldIssue.noteType} ${dry.wouldIssue.totals?.inclVat ?? ''} DKK incl. VAT`);
  ctx.line(`      compared with the invoice as last corrected, recomputed as of ${dry.basis.asOf} (data known by ${dry.basis.meteredKnownAt}): ${dry.basis.outcome}${dry.basis.reproduced ? ', reproduced' : `, differs on ${dry.basis.differingLines.join(', ')}`}`);
  for (const l of dry.wouldIssue.lines) {
    ctx.line(`      ${l.kind.padEnd(24)} ${(l.quantityKwh === null ? '' : `${l.quantityKwh} kWh`).padStart(14)} ${l.amountExclVat.padStart(9)} + VAT ${l.vat.padStart(7)}`);
    for (const c of l.causes) ctx.line(`          cause: ${c.input}${c.role ? ` ${c.role}` : ''}${c.firstDay ? ` ${c.firstDay}..${c.lastDay ?? ''} (${String(c.days)} days)` : ''}: ${version(c.old)} → ${version(c.new)}`);
  }
  const productCause = dry.wouldIssue.lines.some((l) => l.causes.some((c) => c.input === 'product-price'));
  type Applied = { outcome: string; alreadyApplied?: boolean; note?: { noteType: string; lines: unknown[] } };
  const applied = await ctx.call<Applied>('POST', `/api/staff/invoices/${frankInvoice.invoice_id}/recomputation/apply`, ctx.staff, { as_of: dry.asOf, based_on_revision: dry.basedOnRevision });
  const again = await ctx.call<Applied>('POST', `/api/staff/invoices/${frankInvoice.invoice_id}/recomputation/apply`, ctx.staff, { as_of: dry.asOf, based_on_revision: dry.basedOnRevision });
  const issuedNotes = await notesOf('recompute');
  ctx.line(`  applied: ${applied.outcome}${applied.note ? ` (${applied.note.noteType} note)` : ''}; applied again: ${again.outcome}${again.alreadyApplied ? ' (already applied: nothing new)' : ''}; recompute notes on the invoice: ${issuedNotes}`);
  const strip = (lines: DryLine[]) => lines.map(({ causes: _causes, ...line }) => line);
  const exact =
    applied.outcome === 'issued' &&
    applied.note?.noteType === dry.wouldIssue.noteType &&
    JSON.stringify(applied.note.lines) === JSON.stringify(strip(dry.wouldIssue.lines)) &&
    again.outcome === 'issued' &&
    again.alreadyApplied === true;
  ctx.check(
    "a product correction left for review: the dry run names the product price's old and new version, applied exactly once",
    automatic === 0 && productCause && exact && issuedNotes === 1,
    `no note by itself (${automatic}), dry run ${dry.wouldIssue.noteType} ${dry.wouldIssue.totals?.inclVat ?? ''}, applied ${applied.outcome}, again ${again.outcome}, ${issuedNotes} note`,
  );
}
