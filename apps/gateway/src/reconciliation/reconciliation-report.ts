import { csvField } from '../settlement/settlement-export';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The API speaks snake_case (as the rest of the gateway); the reconciliation service answers in camelCase. */
export function snakeCase(value: Json): Json {
  if (Array.isArray(value)) return value.map(snakeCase);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCase(v)]));
}

export const REPORT_CSV_COLUMNS = ['grid_area', 'period', 'datahub_result', 'section', 'id', 'datahub', 'ours', 'difference', 'invoiced', 'invoice_rounding_difference', 'within_rounding', 'differing_slots', 'state', 'metering_points'] as const;

const s = (v: Json | undefined): string | null => (v === undefined || v === null ? null : String(v));

/**
 * The report as RFC 4180 CSV for ERP and spreadsheets: one row per charge (DataHub's monthly amount, ours, our
 * invoices and their per-line rounding difference), per charge owner total, per energy group (kWh) and per finding.
 */
export function reportCsv(body: { [key: string]: Json }): string {
  const summary = body['summary'] as { [key: string]: Json };
  const report = body['report'] as { [key: string]: Json };
  const head = [s(summary['gridArea']), s(summary['period']), s(summary['datahubWholesaleResult'])];
  const rows: (string | null)[][] = [[...REPORT_CSV_COLUMNS]];
  for (const c of (report['charges'] as { [key: string]: Json }[]) ?? []) {
    rows.push([...head, 'charge', s(c['chargeId']), s(c['datahubAmount']), s(c['ourAmount']), s(c['difference']), s(c['invoicedAmount']), s(c['invoiceRoundingDifference']), s(c['invoiceWithinRounding']), s(c['differingSlots']), null, null]);
  }
  for (const t of (report['totals'] as { [key: string]: Json }[]) ?? []) {
    rows.push([...head, 'total', s(t['chargeOwner']) ?? 'energy supplier', s(t['datahubAmount']), s(t['ourAmount']), s(t['difference']), null, null, null, null, null, null]);
  }
  for (const e of (report['energy'] as { [key: string]: Json }[]) ?? []) {
    rows.push([...head, 'energy', `${s(e['meteringPointType'])}/${s(e['settlementMethod']) ?? ''}/${s(e['resolution'])}`, s(e['datahubKwh']), s(e['ourKwh']), s(e['difference']), null, null, null, s(e['differingSlots']), null, null]);
  }
  for (const f of (body['findings'] as { [key: string]: Json }[]) ?? []) {
    rows.push([...head, `finding:${s(f['kind'])}`, s(f['findingId']), null, null, s(f['amountDifference']), null, null, null, null, s(f['state']), ((f['meteringPoints'] as Json[]) ?? []).join(' ')]);
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
