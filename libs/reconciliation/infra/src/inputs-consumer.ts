import type { PoolClient } from 'pg';
import type { JsonObject } from '@dh/event-store';
import { DATAHUB_CHARGE_COPY_BINDINGS } from '@dh/rates-application';
import type { EventEnvelope } from '@dh/messaging';
import { resultPeriodOf, resultVersionOf } from '@dh/reconciliation-application';
import { chargeCopy } from './schema';

type Db = Pick<PoolClient, 'query'>;

/** What reconciliation copies, in order (single active consumer, inbox in schema `reconciliation`). */
export const RECONCILIATION_INPUT_BINDINGS = [
  'portfolio.metering-point-registered',
  'portfolio.master-data-updated',
  'portfolio.supply-started',
  'portfolio.supply-ended',
  'portfolio.supply-reversed',
  ...DATAHUB_CHARGE_COPY_BINDINGS,
  'datahub.aggregated-measure-data-received',
  'datahub.wholesale-services-received',
  'datahub.data-hub-answer-received',
  'datahub.data-hub-results-request-sent',
  'datahub.data-hub-results-request-refused',
  'settlement.invoice-issued',
  'settlement.metered-data-received',
];

const text = (d: JsonObject, k: string): string | null => (typeof d[k] === 'string' ? (d[k] as string) : null);

/** Schedules a (re)run of a grid area's month after `delayMs` of quiet: DataHub sends a result as many documents. */
export async function scheduleRun(db: Db, gridArea: string, period: string, reason: string, delayMs: number): Promise<void> {
  await db.query(
    `INSERT INTO reconciliation.pending_runs (grid_area, period, due_at, reason) VALUES ($1, $2, now() + ($3 || ' milliseconds')::interval, $4)
     ON CONFLICT (grid_area, period) DO UPDATE SET due_at = EXCLUDED.due_at, reason = EXCLUDED.reason`,
    [gridArea, period, String(delayMs), reason],
  );
}

/**
 * Stores one input event in reconciliation's copies (inside the inbox transaction) and schedules the runs it
 * makes due: a DataHub result for our supplier, or metered data (a new version or a late day) of a month already reconciled.
 */
export async function applyInput(envelope: EventEnvelope, tx: Db, options: { supplierGln: string; delayMs: number }): Promise<void> {
  const d = envelope.data;
  switch (envelope.type) {
    case 'MeteringPointRegistered':
    case 'MasterDataUpdated':
      await tx.query(
        `INSERT INTO reconciliation.metering_points (gsrn, type, settlement_method, grid_area) VALUES ($1, $2, $3, $4)
         ON CONFLICT (gsrn) DO UPDATE SET type = EXCLUDED.type, settlement_method = EXCLUDED.settlement_method, grid_area = EXCLUDED.grid_area`,
        [d['gsrn'], d['type'], d['settlementMethod'] ?? null, d['gridArea']],
      );
      return;
    case 'SupplyStarted':
      await tx.query(
        `INSERT INTO reconciliation.supplies (gsrn, start_date, end_date, grid_area, reversed) VALUES ($1, $2, NULL, $3, false)
         ON CONFLICT (gsrn, start_date) DO UPDATE SET grid_area = coalesce(EXCLUDED.grid_area, reconciliation.supplies.grid_area), reversed = false`,
        [d['gsrn'], d['startDate'], d['gridArea'] ?? null],
      );
      return;
    case 'SupplyEnded':
      await tx.query(
        `UPDATE reconciliation.supplies SET end_date = $2
          WHERE gsrn = $1 AND start_date = (SELECT max(start_date) FROM reconciliation.supplies WHERE gsrn = $1 AND start_date < $2 AND NOT reversed)`,
        [d['gsrn'], d['endDate']],
      );
      return;
    case 'SupplyReversed':
      await tx.query(`UPDATE reconciliation.supplies SET reversed = true WHERE gsrn = $1 AND start_date = $2`, [d['gsrn'], d['startDate']]);
      return;
    case 'AggregatedMeasureDataReceived':
    case 'WholesaleServicesReceived': {
      if (text(d, 'energySupplierGln') !== options.supplierGln) return;
      const kind = envelope.type === 'AggregatedMeasureDataReceived' ? 'energy' : 'wholesale';
      const version = resultVersionOf(d);
      const period = resultPeriodOf(d);
      const gridArea = String(d['gridArea']);
      await tx.query(
        `INSERT INTO reconciliation.datahub_results (series_key, kind, grid_area, period, business_reason, settlement_version, calculation_version, original_transaction_id, received_at, data)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING`,
        [`${d['documentId']}:${d['seriesId']}`, kind, gridArea, period, version.businessReason, version.settlementVersion, version.calculationVersion, d['originalTransactionId'] ?? null, d['receivedAt'], JSON.stringify(d)],
      );
      if (text(d, 'originalTransactionId') !== null) {
        await tx.query(`UPDATE reconciliation.requests SET status = 'answered', updated_at = now() WHERE request_id::text = $1`, [d['originalTransactionId']]);
      }
      await scheduleRun(tx, gridArea, period, `DataHub ${kind} result ${version.businessReason}${version.settlementVersion ? `/${version.settlementVersion}` : ''}`, options.delayMs);
      return;
    }
    case 'DataHubAnswerReceived': {
      const name = text(d, 'documentName');
      if (name !== 'RejectRequestAggregatedMeasureData' && name !== 'RejectRequestWholesaleSettlement') return;
      await tx.query(`UPDATE reconciliation.requests SET status = 'rejected', detail = $2, updated_at = now() WHERE request_id::text = $1`, [d['originalTransactionId'], JSON.stringify({ reasons: d['reasons'] ?? [] })]);
      return;
    }
    case 'DataHubResultsRequestSent':
    case 'DataHubResultsRequestRefused':
      await tx.query(`UPDATE reconciliation.requests SET status = $2, detail = $3, updated_at = now() WHERE request_id::text = $1 AND status = 'requested'`, [
        d['requestId'],
        envelope.type === 'DataHubResultsRequestSent' ? 'sent' : 'refused',
        JSON.stringify(d['refusal'] ?? null),
      ]);
      return;
    case 'InvoiceIssued': {
      const lines = Array.isArray(d['lines']) ? (d['lines'] as JsonObject[]) : [];
      const area = await tx.query<{ grid_area: string }>(`SELECT grid_area FROM reconciliation.metering_points WHERE gsrn = $1`, [d['gsrn']]);
      const gridArea = area.rows[0]?.grid_area;
      if (gridArea === undefined) return;
      for (const l of lines) {
        const [whole = '0', frac = ''] = String(l['amountExclVat']).replace('-', '').split('.');
        const ore = BigInt(whole) * 100n + BigInt(frac.padEnd(2, '0').slice(0, 2));
        await tx.query(
          `INSERT INTO reconciliation.invoice_lines (invoice_id, line_key, gsrn, grid_area, period_from, period_to, charge_id, amount_ore) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING`,
          [d['invoiceId'], l['key'], d['gsrn'], gridArea, d['periodStart'], d['periodEnd'], l['chargeId'] ?? null, String(String(l['amountExclVat']).startsWith('-') ? -ore : ore)],
        );
      }
      return;
    }
    case 'MeteredDataReceived': {
      // Data of a month already reconciled (a later version, or a day that came late) makes it due again.
      const period = String(d['day']).slice(0, 7);
      const reconciled = await tx.query<{ grid_area: string }>(
        `SELECT DISTINCT r.grid_area FROM reconciliation.reports r JOIN reconciliation.metering_points m ON m.grid_area = r.grid_area WHERE m.gsrn = $1 AND r.period = $2`,
        [d['gsrn'], period],
      );
      for (const r of reconciled.rows) await scheduleRun(tx, r.grid_area, period, `metered data version ${String(d['version'])} of ${String(d['gsrn'])} ${String(d['day'])}`, options.delayMs);
      return;
    }
    default:
      await chargeCopy.apply(envelope, tx);
  }
}
