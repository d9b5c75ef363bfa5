import { compareLocalDates, type LocalDate } from '@dh/dk-time';
import { parseGln } from '@dh/market-ids';
import { PRICE_SCALE } from '@dh/money';
import { chargeIdOf, createCharge, type Charge, type ChargeResolution, type ChargeType } from '../charges/charge';
import type { PriceVersion } from '../versions';
import { parseAll, toUnits, type RecordReader } from './fields';
import type { ParsedRecords } from './spot-records';

/** One `DatahubPricelist` row, typed, prices exact at nano-DKK (per kWh; per month for P1M). */
export interface DatahubPricelistRow extends PriceVersion {
  readonly chargeOwner: string;
  readonly glnNumber: string;
  readonly chargeType: ChargeType;
  readonly chargeTypeCode: string;
  readonly note: string;
  readonly description: string | null;
  readonly validFrom: LocalDate;
  readonly validTo: LocalDate | null;
  readonly vatClass: string | null;
  readonly resolution: ChargeResolution;
  /** 24 prices for PT1H (a null `PriceN` falls back to `Price1`), one otherwise. */
  readonly prices: readonly bigint[];
}

const CHARGE_TYPES: readonly string[] = ['D01', 'D02', 'D03'];
const RESOLUTIONS: readonly string[] = ['PT1H', 'P1D', 'P1M'];

function pricelistRow(r: RecordReader, version: PriceVersion): DatahubPricelistRow {
  const chargeOwner = r.string('ChargeOwner');
  const glnNumber = r.string('GLN_Number');
  const gln = parseGln(glnNumber);
  if (!gln.ok) r.fail('GLN_Number', `is not a valid GLN (${gln.error.problem}): ${JSON.stringify(glnNumber)}`);
  const chargeType = r.string('ChargeType');
  if (!CHARGE_TYPES.includes(chargeType)) r.fail('ChargeType', `must be D01, D02 or D03, got ${JSON.stringify(chargeType)}`);
  const chargeTypeCode = r.string('ChargeTypeCode');
  if (chargeTypeCode.length === 0) r.fail('ChargeTypeCode', 'is empty');
  const note = r.optionalString('Note') ?? '';
  const validFrom = r.localMidnight('ValidFrom');
  const validTo = r.has('ValidTo') ? r.localMidnight('ValidTo') : null;
  if (validTo !== null && compareLocalDates(validTo, validFrom) <= 0) r.fail('ValidTo', `(${validTo}) must be after ValidFrom (${validFrom})`);
  // Without ResolutionDuration a subscription (D01) is per month, anything else by hour; a flat
  // tariff is then 24 equal prices (null PriceN falls back to Price1), which prices the same.
  const declared = r.optionalString('ResolutionDuration');
  if (declared !== null && !RESOLUTIONS.includes(declared)) r.fail('ResolutionDuration', `must be PT1H, P1D or P1M, got ${JSON.stringify(declared)}`);
  const resolution = (declared ?? (chargeType === 'D01' ? 'P1M' : 'PT1H')) as ChargeResolution;
  const units = toUnits(PRICE_SCALE);
  const price1 = r.decimal('Price1', units);
  const prices: bigint[] = [price1];
  if (resolution === 'PT1H') {
    for (let i = 2; i <= 24; i++) prices.push(r.has(`Price${i}`) ? r.decimal(`Price${i}`, units) : price1);
  }
  return {
    chargeOwner,
    glnNumber,
    chargeType: chargeType as ChargeType,
    chargeTypeCode,
    note,
    description: r.optionalString('Description'),
    validFrom,
    validTo,
    vatClass: r.optionalString('VATClass'),
    resolution,
    prices,
    publishedAt: version.publishedAt,
    version: version.version,
  };
}

/**
 * `DatahubPricelist` records: `ChargeOwner`, `GLN_Number`, `ChargeType` (D01/D02/D03),
 * `ChargeTypeCode`, `Note`, `Description`, `ValidFrom`/`ValidTo` (naive local midnights, `ValidTo`
 * exclusive, null open-ended), `VATClass`, `Price1..Price24` (DKK/kWh, `Price1` = 00–01 local),
 * `ResolutionDuration` (PT1H / P1D / P1M). Prices must be decimal strings (raw-number JSON).
 */
export function parseDatahubPricelist(records: readonly unknown[], version: PriceVersion): ParsedRecords<DatahubPricelistRow> {
  return parseAll('DatahubPricelist', records, (r) => pricelistRow(r, version));
}

/** Groups price-list rows into charges by `GLN_Number` + `ChargeType` + `ChargeTypeCode`. */
export function chargesFromPricelist(rows: readonly DatahubPricelistRow[]): Charge[] {
  const groups = new Map<string, DatahubPricelistRow[]>();
  for (const row of rows) {
    const id = chargeIdOf(row.glnNumber, row.chargeType, row.chargeTypeCode);
    const g = groups.get(id);
    if (g === undefined) groups.set(id, [row]);
    else g.push(row);
  }
  return [...groups.entries()].map(([chargeId, g]) =>
    createCharge({
      chargeId,
      owner: g[0]!.glnNumber,
      chargeType: g[0]!.chargeType,
      code: g[0]!.chargeTypeCode,
      description: g[g.length - 1]!.note,
      rows: g.map((row) => ({
        validFrom: row.validFrom,
        validTo: row.validTo,
        resolution: row.resolution,
        prices: row.prices,
        publishedAt: row.publishedAt,
        version: row.version,
      })),
    }),
  );
}
