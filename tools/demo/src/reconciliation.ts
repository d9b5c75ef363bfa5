import { localDayStart } from '@dh/dk-time';
import type { DemoCredentials } from './demo-credentials';

interface Finding {
  finding_id: string;
  kind: string;
  state: string;
  metering_points: string[];
  charges: string[];
  quantity_difference: string | null;
  amount_difference: string | null;
  from: string | null;
  explanation: string;
}
interface Report {
  summary: {
    datahub_wholesale_result: string | null;
    datahub_energy_result: string | null;
    metering_points: number;
    wholesale: { datahub_amount: string; our_amount: string; difference: string };
    energy: { datahub_kwh: string; our_kwh: string; difference: string };
    invoices: { invoiced_amount: string; rounding_difference: string; charges_beyond_rounding: number };
  };
  report: { run_id: string; charges: { charge_id: string; datahub_amount: string; our_amount: string; invoiced_amount: string | null; invoice_rounding_difference: string | null }[] };
  findings: Finding[];
  datahub_results?: { kind: string; business_reason: string; settlement_version: string | null; calculation_version: number | null }[];
}

export interface ReconcileOctoberDeps {
  out: { line(text: string): void };
  check(name: string, ok: boolean, detail: string): void;
  call<T>(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T>;
  credentials: DemoCredentials;
  staff: Record<string, string>;
  month: string;
  /** The metering point DataHub keeps billing us (the cancelled switch), and from when. */
  planted: { gsrn: string; from: string };
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
}

/**
 * The month ends with wholesale reconciliation: DataHub's aggregations and wholesale bill (RSM-014/019, computed by
 * the simulator's own engine) against our recomputation by DataHub's rules and our invoices, per grid area. The
 * planted difference (DataHub kept the metering point whose switch we cancelled) is found, named and explained.
 */
export async function reconcileOctober(d: ReconcileOctoberDeps): Promise<void> {
  d.out.line('== wholesale reconciliation of October (DataHub\'s RSM-014/019 against our settlement) ==');
  const latest = async (gridArea: string): Promise<Report | undefined> => {
    try {
      return await d.call<Report>('GET', `/api/reconciliation/reports?period=${d.month}&grid_area=${gridArea}`, d.credentials.erp);
    } catch {
      return undefined; // not reconciled yet (404)
    }
  };
  // Reconciliation ran by itself when DataHub's results arrived; staff run it again after the month's corrections
  // and read the report of that run.
  const before: Record<string, string | undefined> = {};
  for (const gridArea of ['804', '131']) {
    before[gridArea] = (await latest(gridArea))?.report.run_id;
    await d.call('POST', '/api/reconciliation/runs', d.staff, { grid_area: gridArea, period: d.month });
  }
  const reportOf = (gridArea: string) =>
    d.waitFor(`the reconciliation of grid area ${gridArea}`, async () => {
      const r = await latest(gridArea);
      return r !== undefined && r.report.run_id !== before[gridArea] ? r : undefined;
    }, 120_000);
  const reports: Record<string, Report> = {};
  for (const gridArea of ['804', '131']) {
    const r = await reportOf(gridArea);
    reports[gridArea] = r;
    const s = r.summary;
    d.out.line(`  grid area ${gridArea}: DataHub ${s.datahub_wholesale_result ?? '-'} / energy ${s.datahub_energy_result ?? '-'}, ${s.metering_points} metering points of ours`);
    const received = (r.datahub_results ?? []).map((x) => `${x.kind} ${x.business_reason}${x.settlement_version ? `/${x.settlement_version}` : ''} v${String(x.calculation_version)}`);
    d.out.line(`      DataHub's results received: ${received.join(', ') || '-'}`);
    d.out.line(`      wholesale: DataHub ${s.wholesale.datahub_amount} DKK, ours ${s.wholesale.our_amount}, difference ${s.wholesale.difference}`);
    d.out.line(`      energy:    DataHub ${s.energy.datahub_kwh} kWh, ours ${s.energy.our_kwh}, difference ${s.energy.difference}`);
    for (const c of r.report.charges) {
      d.out.line(`      ${c.charge_id.padEnd(24)} DataHub ${c.datahub_amount.padStart(12)} ours ${c.our_amount.padStart(12)} invoiced ${(c.invoiced_amount ?? '-').padStart(12)} (rounding ${c.invoice_rounding_difference ?? '-'})`);
    }
    for (const f of r.findings) d.out.line(`      finding ${f.kind} [${f.state}] ${f.metering_points.join(', ') || f.charges.join(', ')}: ${f.quantity_difference ?? '-'} kWh, ${f.amount_difference ?? '-'} DKK — ${f.explanation}`);
  }
  const a = reports['804']!.summary;
  // Findings of an earlier reconciliation that the month's later data and invoices resolved (the late day of the forced switch) stay listed as resolved.
  const open804 = reports['804']!.findings.filter((f) => f.state !== 'resolved');
  const resolved804 = reports['804']!.findings.length - open804.length;
  d.check('reconciliation: DataHub\'s wholesale bill and energy for grid area 804 equal ours', a.wholesale.difference === '0.000000' && a.energy.difference === '0.000' && open804.length === 0, `wholesale ${a.wholesale.difference} DKK, energy ${a.energy.difference} kWh, ${open804.length} open findings (${resolved804} resolved by later data)`);
  const planted = reports['131']!.findings.find((f) => f.kind === 'metering-point-not-supplied-by-us' && f.metering_points.includes(d.planted.gsrn));
  const others = reports['131']!.findings.filter((f) => f !== planted && f.state !== 'resolved');
  d.check(
    'reconciliation finds the planted difference and names its metering point',
    planted !== undefined && planted.state === 'explained' && others.length === 0 && planted.from === localDayStart(d.planted.from).toISOString(),
    planted ? `${planted.metering_points.join(', ')} from ${planted.from}: ${planted.quantity_difference} kWh, ${planted.amount_difference} DKK` : 'not found',
  );
  if (planted === undefined) return;
  const note = `Carl Clausen's switch was cancelled (RSM-002 confirmed) but DataHub kept ${d.planted.gsrn} as ours from ${d.planted.from}: BRS-003 raised with DataHub`;
  await d.call('POST', `/api/reconciliation/findings/${planted.finding_id}/state`, d.staff, { action: 'explain', note });
  const explained = await d.call<{ state: string; audit_trail: { type: string; by: string; note: string | null }[] }>('GET', `/api/reconciliation/findings/${planted.finding_id}`, d.credentials.erp);
  const last = explained.audit_trail[explained.audit_trail.length - 1];
  d.out.line(`  staff explained it: ${explained.audit_trail.map((e) => `${e.type} by ${e.by}`).join(' → ')}`);
  d.check('the finding is explained with a note, kept in its audit trail', explained.state === 'explained' && last?.type === 'FindingExplained' && last.note === note, `${explained.state}, ${explained.audit_trail.length} entries`);
}
