import type { Period } from '@dh/dk-time';
import { isDecimalString } from '@dh/money';
import { chargeIdOf, type ChargeType } from '../charges/charge';
import { ChargeDataError } from './errors';
import type { DataHubPriceResolution } from './price-series';

/** A charge as DataHub identifies it: owner (GLN), type (D01 subscription, D02 fee, D03 tariff) and code. */
export interface ChargeKey {
  readonly owner: string;
  readonly chargeType: ChargeType;
  readonly code: string;
}

export const CHARGE_TYPES: readonly ChargeType[] = ['D01', 'D02', 'D03'];

export function isChargeType(value: unknown): value is ChargeType {
  return typeof value === 'string' && (CHARGE_TYPES as readonly string[]).includes(value);
}

/** `owner:type:code`, the same id as the Energi Data Service price list's charges (`chargeIdOf`). */
export const chargeIdOfKey = (key: ChargeKey): string => chargeIdOf(key.owner, key.chargeType, key.code);

/**
 * A charge link (RSM-031 NotifyBillingMasterData): DataHub links a charge to a metering point for a
 * period, with a factor (DataHub's link "quantity": pieces of a subscription or fee; not used for
 * tariffs, whose quantity is the metered energy: opengeh-wholesale `tariffs.py`).
 */
export interface ChargeLink extends ChargeKey {
  readonly chargeId: string;
  readonly factor: string;
  /** ISO UTC instant the link starts (DataHub `effectiveDate`). */
  readonly from: string;
  /** ISO UTC instant the link stops, exclusive (`terminationDate`); null while open-ended. */
  readonly to: string | null;
}

/**
 * A link's identity is (charge, start): DataHub sends the same link again with a termination date to
 * stop it, or with another factor to change it. The latest message for a (charge, start) wins.
 */
export const chargeLinkIdentity = (link: Pick<ChargeLink, 'chargeId' | 'from'>): string => `${link.chargeId}@${new Date(link.from).toISOString()}`;

export function validateChargeLink(link: ChargeLink, field = 'link'): void {
  if (!isChargeType(link.chargeType)) throw new ChargeDataError(`${field}.chargeType`, `"${String(link.chargeType)}" is not D01, D02 or D03`);
  if (link.code.trim() === '') throw new ChargeDataError(`${field}.code`, 'is empty');
  if (!isDecimalString(link.factor) || link.factor.startsWith('-')) throw new ChargeDataError(`${field}.factor`, `"${link.factor}" is not a non-negative decimal`);
  const from = new Date(link.from);
  if (Number.isNaN(from.getTime())) throw new ChargeDataError(`${field}.effectiveDate`, `"${link.from}" is not an instant`);
  if (link.to !== null) {
    const to = new Date(link.to);
    if (Number.isNaN(to.getTime()) || to.getTime() < from.getTime()) throw new ChargeDataError(`${field}.terminationDate`, `"${link.to}" is not an instant at or after ${link.from}`);
  }
}

/** Folds recorded links (oldest first) into the links in force: one per (charge, start), the latest wins. */
export function currentChargeLinks(recordedOldestFirst: readonly ChargeLink[]): ChargeLink[] {
  const byIdentity = new Map<string, ChargeLink>();
  for (const link of recordedOldestFirst) byIdentity.set(chargeLinkIdentity(link), link);
  return [...byIdentity.values()].sort((a, b) => a.chargeId.localeCompare(b.chargeId) || Date.parse(a.from) - Date.parse(b.from));
}

/** A link cut to a period: `from`/`to` clamped to it (DataHub clamps links to the calculation period the same way). */
export interface ChargeLinkInPeriod extends ChargeLink {
  readonly to: string;
}

/** The links that overlap [start, end), clamped to it; a stopped link (to = from) is dropped. */
export function linksInPeriod(links: readonly ChargeLink[], period: Period): ChargeLinkInPeriod[] {
  const start = period.start.getTime();
  const end = period.end.getTime();
  const out: ChargeLinkInPeriod[] = [];
  for (const link of links) {
    const from = Math.max(Date.parse(link.from), start);
    const to = Math.min(link.to === null ? end : Date.parse(link.to), end);
    if (from < to) out.push({ ...link, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  }
  return out;
}

/**
 * Charge master data (RSM-034 with business reason D18) from its effective date: the price resolution,
 * whether it is a tax (DataHub adds tax charges into every other owner's total), VAT and invoice text.
 */
export interface ChargeInformation extends ChargeKey {
  readonly chargeId: string;
  readonly name: string | null;
  readonly description: string | null;
  readonly resolution: DataHubPriceResolution;
  readonly taxIndicator: boolean;
  /** D01 VAT payable, D02 no VAT. */
  readonly vatPayer: 'D01' | 'D02' | null;
  readonly transparentInvoicing: boolean;
  readonly from: string;
  readonly to: string | null;
}

/** Folds recorded master data (oldest first) into periods: one per start, the latest wins; a period ends at the next start. */
export function chargeInformationPeriods(recordedOldestFirst: readonly ChargeInformation[]): ChargeInformation[] {
  const byStart = new Map<number, ChargeInformation>();
  for (const info of recordedOldestFirst) byStart.set(Date.parse(info.from), info);
  const sorted = [...byStart.entries()].sort(([a], [b]) => a - b).map(([, info]) => info);
  return sorted.map((info, i) => {
    const next = sorted[i + 1];
    if (next === undefined) return info;
    const nextFrom = Date.parse(next.from);
    return info.to !== null && Date.parse(info.to) <= nextFrom ? info : { ...info, to: next.from };
  });
}
