import { createHash } from 'node:crypto';
import type { BillingPeriod } from '@dh/settlement-domain';
import { periodLabel } from './period';

/** A name-based (version 5 style) UUID: the same name always gives the same id. */
export function nameBasedUuid(namespace: string, name: string): string {
  const hash = createHash('sha1').update(`dh-settlement\u0000${namespace}\u0000${name}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The invoice id of one customer supply in a billing period: one invoice per (metering point, period,
 * customer), so two of our customers on one GSRN in one period get two invoices. Stable: derived
 * from GSRN, period and customer only, so a re-run or a re-export can never create a second invoice
 * for the same customer supply and period.
 */
export function invoiceIdOf(gsrn: string, period: BillingPeriod, customerId: string): string {
  return nameBasedUuid('invoice', `${gsrn}/${periodLabel(period)}/${customerId}`);
}

export function invoiceStreamId(invoiceId: string): string {
  return `invoice-${invoiceId}`;
}

/**
 * The stream of a period's run: `settlement-run-<period>` for its first run (as before later runs existed),
 * `settlement-run-<period>-<seq>` for a later run (seq 2, 3, …), so each run's stream stays three events.
 */
export function runStreamId(period: BillingPeriod, seq = 1): string {
  return seq <= 1 ? `settlement-run-${periodLabel(period)}` : `settlement-run-${periodLabel(period)}-${seq}`;
}

export function meteredDataStreamId(gsrn: string): string {
  return `metered-data-${gsrn}`;
}

export function acontoStreamId(gsrn: string): string {
  return `aconto-${gsrn}`;
}

/** The aconto invoice of a metering point's quarter (`YYYY-Qn`): stable, so it is issued at most once. */
export function acontoInvoiceIdOf(gsrn: string, quarterLabel: string): string {
  return nameBasedUuid('aconto-invoice', `${gsrn}/${quarterLabel}`);
}

export function acontoInvoiceStreamId(acontoInvoiceId: string): string {
  return `aconto-invoice-${acontoInvoiceId}`;
}

/** The id of a correction note triggered by one event for one invoice (a redelivery gives the same id). */
export function noteIdOf(triggerEventId: string, invoiceId: string): string {
  return nameBasedUuid('note', `${triggerEventId}/${invoiceId}`);
}
