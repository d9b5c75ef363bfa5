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
const SCHEDULE_ENV = { SETTLEMENT_SCHEDULE_INTERVAL_MS: '1000', SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS: '15', SETTLEMENT_LATER_RUN_DAYS: '10' };

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
    for (const [gridArea, priceArea] of [['804', 'DK1'], ['131', 'DK2']]) {
      await commands.send('rates', 'MapGridArea', { gridArea, priceArea, gridCompanyGln: N1_GLN, gridTariffChargeId: `${N1_GLN}:D03:CD`, gridSubscriptionChargeId: `${N1_GLN}:D01:CD` });
    }
    out.line('  elafgift 0.008 DKK/kWh (2026–2027), product "standard" (margin 0.0495 DKK/kWh, 29.00 DKK/month), grid areas 804 → DK1 and 131 → DK2');
    // CRM may only sell products in the catalogue, which the gateway reads from its projection.
    await waitFor('the product catalogue', async () => ((await pool.query(`SELECT 1 FROM read_models.portal_products WHERE product_id = 'standard'`)).rowCount ? true : undefined));

    out.line('== CRM onboards customers (Eloverblik lookup, then BRS-001 to DataHub) ==');
    const onboard = async (role: Parameters<typeof byRole>[0], name: string, cpr: string, startDate: string) => {
      const { gsrn } = byRole(role);
      const lookup = await call<JsonObject>('GET', `/api/metering-points/${gsrn}/lookup`, credentials.crm);
      const created = await call<{ id: string; process_id: string }>('POST', '/api/customers', { ...credentials.crm, 'Idempotency-Key': `demo-${gsrn}` }, {
        customer_name: name,
        email: `${name.split(' ')[0].toLowerCase()}@example.dk`,
        customer_type: 'private',
        cpr,
        gsrn,
        product_id: 'standard',
        desired_start_date: startDate,
        billing_frequency: 'monthly',
        payment_model: 'actual',
      });
      const expected = (lookup.expectedAnnualConsumption as JsonObject | null)?.kwh ?? '?';
      out.line(`  ${name.padEnd(14)} ${gsrn} grid ${String(lookup.gridArea)} ${String(lookup.priceArea)}, expected ${String(expected)} kWh/year -> process ${created.process_id} from ${startDate}`);
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
    await registerAgreements({ call, line: (t) => out.line(t), credentials }, [
      { name: 'Anna Hansen', customerId: anna.customerId, agreementNumber: '900001' },
      { name: 'Dorte Dahl', customerId: dorte.customerId, agreementNumber: '900002' },
    ]);
    let statuses: { status: string }[] = [];
    await waitFor(
      'answers from DataHub',
      async () => {
        statuses = await Promise.all([anna, bo, carl, dorte].map((c) => processStatus(c.processId)));
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
    await waitFor('activation of Anna and the forced switch', async () => (published('customer.activated').length >= 2 ? true : undefined));
    await advanceTo('2026-10-15T22:30:00Z');
    await waitFor('activation of Dorte', async () => (published('customer.activated').length >= 3 ? true : undefined));
    await advanceTo('2026-11-01T00:30:00Z');
    const activated = published('customer.activated').map((e) => String(e.data.gsrn));
    check('customers activated on their effective dates', activated.length === 3, `customer.activated for ${activated.join(', ')}`);

    // The forced switch's 20 October comes late (LATE_DAY): 30 days for now.
    const expectedDays: Record<string, number> = { [anna.gsrn]: 31, [byRole('forced-switch').gsrn]: 30, [dorte.gsrn]: 17 };
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
    await waitFor("settlement's copy of October's supplies", async () => (Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM settlement.supplies`)).rows[0]!.n) >= 3 ? true : undefined));
    const run = await call<{ runId: string; items: number }>('POST', '/api/settlement/runs', staff, { period: MONTH });
    out.line(`  run ${run.runId}: ${run.items} metering points`);
    const progress = await waitFor('the settlement run', async () => {
      const res = await fetch(`${gateway}/api/settlement/runs/${run.runId}`, { headers: credentials.erp });
      if (res.status === 404) return undefined; // the run's read model is still being projected
      const r = (await res.json()) as { status: string; items: { total: number; done: number; invoiced: number; halted: number } };
      return r.status === 'completed' ? r : undefined;
    }, 120_000);
    check('settlement run completed; the point whose 20 October is late halts (no partial invoice)', progress.items.invoiced === 2 && progress.items.halted === 1, JSON.stringify(progress.items));
    await waitFor('settlement.completed on the bus', async () => (published('settlement.completed').length === 1 ? true : undefined), 20_000);

    out.line('== ERP export (JSON; CSV available with Accept: text/csv) ==');
    type Invoice = { invoice_id: string; gsrn: string; period_start: string; period_end: string; lines: { kind: string; description: string; quantity_kwh: string | null; amount_excl_vat: string; vat_amount: string }[]; total_excl_vat: string; total_vat: string; total_incl_vat: string; net_amount_due: string };
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

    await moneyIn(
      { line: (t) => out.line(t), check, waitFor, call, advanceTo, published, pool, pbs, credentials },
      { name: 'Anna Hansen', customerId: anna.customerId },
      { name: 'Dorte Dahl', customerId: dorte.customerId },
    );

    await monthGrows({ line: (t) => out.line(t), check, waitFor, call, pool, credentials, staff, forcedGsrn: byRole('forced-switch').gsrn, annaGsrn: anna.gsrn, firstRunId: run.runId });

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

/**
 * Issue 9, the month grows: the point halted by October's first run (its 20 October came late) is invoiced by a later
 * run of October once the day has arrived — the scheduler starts it on the business clock — and staff dry-run a
 * recomputation of an invoice and apply exactly that dry run.
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
  annaGsrn: string;
  firstRunId: string;
}): Promise<void> {
  ctx.line('== the month grows: a halted point settled by a later run, a recomputation dry-run then applied ==');
  const issued = await ctx.waitFor(
    "the late point's invoice from a later run of October",
    async () => {
      const { rows } = await ctx.pool.query<{ invoice_id: string; run_id: string; seq: number; items_total: number; invoiced: number }>(
        `SELECT e.data->>'invoiceId' AS invoice_id, r.run_id, r.seq, r.items_total, r.invoiced FROM event_store.events e JOIN settlement.runs r ON r.run_id = e.data->>'runId'
          WHERE e.type = 'InvoiceIssued' AND e.data->>'gsrn' = $1 AND e.data->>'periodLabel' = $2`,
        [ctx.forcedGsrn, MONTH],
      );
      return rows[0];
    },
    120_000,
  );
  const scheduled = await ctx.pool.query<{ slot_day: string; outcome: string }>(`SELECT slot_day, outcome FROM settlement.run_schedule WHERE period_label = $1 AND started_run_id = $2`, [MONTH, issued.run_id]);
  const by = scheduled.rows[0] ? `started by the scheduler on ${scheduled.rows[0].slot_day}` : 'not a scheduled run';
  ctx.line(`  ${ctx.forcedGsrn}: invoice ${issued.invoice_id} by run ${issued.seq} of ${MONTH} (${issued.run_id}, ${by}; ${issued.invoiced}/${issued.items_total} invoiced)`);
  ctx.check(
    'a point halted for a late day is invoiced by a later run of the month once the day has arrived',
    issued.seq >= 2 && issued.run_id !== ctx.firstRunId && issued.items_total === 1 && issued.invoiced === 1,
    `run ${issued.seq}, ${by}`,
  );

  type Exported = { invoices: { invoice_id: string; gsrn: string }[] };
  const exported = await ctx.call<Exported>('GET', `/api/settlement/export?period=${MONTH}`, ctx.credentials.erp);
  const anna = exported.invoices.find((i) => i.gsrn === ctx.annaGsrn);
  if (anna === undefined) throw new Error(`no invoice of ${ctx.annaGsrn} in the export`);
  type Dry = { wouldIssue: { noteType: string; lines: unknown[]; totals: { inclVat: string } | null }; asOf: string; basedOnRevision: number };
  const dry = await ctx.call<Dry>('GET', `/api/staff/invoices/${anna.invoice_id}/recomputation`, ctx.staff);
  ctx.line(`  dry run of ${anna.invoice_id} at ${dry.asOf} (revision ${dry.basedOnRevision}): ${dry.wouldIssue.noteType}${dry.wouldIssue.totals ? ` ${dry.wouldIssue.totals.inclVat} DKK incl. VAT` : ''}`);
  type Applied = { outcome: string; note?: { noteType: string; lines: unknown[] } };
  const applied = await ctx.call<Applied>('POST', `/api/staff/invoices/${anna.invoice_id}/recomputation/apply`, ctx.staff, { as_of: dry.asOf, based_on_revision: dry.basedOnRevision });
  const again = await ctx.call<Applied>('POST', `/api/staff/invoices/${anna.invoice_id}/recomputation/apply`, ctx.staff, { as_of: dry.asOf, based_on_revision: dry.basedOnRevision });
  ctx.line(`  applied: ${applied.outcome}${applied.note ? ` (${applied.note.noteType} note)` : ''}; applied again: ${again.outcome}`);
  const exact =
    dry.wouldIssue.noteType === 'none'
      ? applied.outcome === 'unchanged' && again.outcome === 'unchanged'
      : applied.outcome === 'issued' && applied.note?.noteType === dry.wouldIssue.noteType && JSON.stringify(applied.note.lines) === JSON.stringify(dry.wouldIssue.lines) && again.outcome === 'issued';
  ctx.check('a recomputation dry run, then applied: exactly what the dry run showed, once', exact, `dry run ${dry.wouldIssue.noteType}, applied ${applied.outcome}, again ${again.outcome}`);
}
