import { formatScaled, parseQuantityMilliKwh, toScaled } from '@dh/money';
import {
  METERING_POINT_TYPE_NAMES,
  SETTLEMENT_METHOD_NAMES,
  CHARGE_TYPE_NAMES,
  isMeteringPointTypeCode,
  qualityBit,
  qualityNames,
  type AmountPerCharge,
  type ChargeKey,
  type ChargeResolution,
  type ChargeTypeCode,
  type EnergySeries,
  type MeteredSeries,
  type MeteringPointPeriod,
  type MonthlyAmountPerCharge,
  type SettlementMethodCode,
  type TotalMonthlyAmount,
  type WholesaleBasis,
} from '../index';

/**
 * Reads an Energinet wholesale scenario (`when/` CSV and YAML as in opengeh-wholesale's scenario tests) into a
 * {@link WholesaleBasis}, and formats our results as the rows of its `then/` files, so that a test compares
 * strings. The expected values come from the files only.
 */
export type Row = Record<string, string>;

/** `;`-separated rows with a header; a leading byte-order mark is dropped. */
export function parseCsv(text: string): Row[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]!.split(';');
  return lines.slice(1).map((line) => Object.fromEntries(line.split(';').map((v, i) => [header[i]!, v])));
}

const instant = (s: string): number => Date.parse(s.includes('T') ? s : `${s.replace(' ', 'T')}Z`);
const orNull = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);
const CHARGE_TYPE_CODES: Readonly<Record<string, ChargeTypeCode>> = { subscription: 'D01', fee: 'D02', tariff: 'D03' };
const chargeOf = (r: Row): ChargeKey => ({ owner: r['charge_owner_id']!, type: CHARGE_TYPE_CODES[r['charge_type']!]!, code: r['charge_code']! });

export interface CalculationArguments {
  gridAreas: string[];
  periodStart: string;
  periodEnd: string;
}

export function scenarioBasis(files: { args: CalculationArguments; [file: string]: string | CalculationArguments }, quarterlyTransition: number): WholesaleBasis {
  const csv = (name: string) => parseCsv(files[name] as string);
  const period = { start: instant(files.args.periodStart), end: instant(files.args.periodEnd) };
  const meteringPointPeriods: MeteringPointPeriod[] = csv('metering_point_periods.csv').map((r) => {
    const type = r['type']!;
    if (!isMeteringPointTypeCode(type)) throw new Error(`Unknown metering point type ${type}`);
    return {
      meteringPointId: r['metering_point_id']!,
      type,
      settlementMethod: orNull(r['settlement_method']) as SettlementMethodCode | null,
      gridArea: r['grid_area_code']!,
      resolution: r['resolution'] as 'PT15M' | 'PT1H',
      fromGridArea: orNull(r['from_grid_area_code']),
      toGridArea: orNull(r['to_grid_area_code']),
      parentMeteringPointId: orNull(r['parent_metering_point_id']),
      energySupplier: orNull(r['energy_supplier_id']),
      balanceResponsible: orNull(r['balance_responsible_party_id']),
      from: instant(r['from_date']!),
      to: orNull(r['to_date']) === null ? null : instant(r['to_date']!),
    };
  });
  const resolutionOf = new Map(meteringPointPeriods.map((p) => [p.meteringPointId, p.resolution]));
  const series = new Map<string, { resolution: 'PT15M' | 'PT1H'; quantities: Float64Array; qualities: Uint8Array }>();
  for (const r of csv('time_series_points.csv')) {
    const id = r['metering_point_id']!;
    const resolution = resolutionOf.get(id) ?? 'PT15M';
    const step = resolution === 'PT15M' ? 900_000 : 3_600_000;
    let s = series.get(id);
    if (s === undefined) {
      const n = (period.end - period.start) / step;
      series.set(id, (s = { resolution, quantities: new Float64Array(n), qualities: new Uint8Array(n) }));
    }
    const t = instant(r['observation_time']!);
    if (t < period.start || t >= period.end) continue;
    const i = (t - period.start) / step;
    s.quantities[i] = Number(parseQuantityMilliKwh(r['quantity']!));
    s.qualities[i] = qualityBit(r['quality']!);
  }
  return {
    period,
    gridAreas: files.args.gridAreas,
    quarterlyTransition,
    meteringPointPeriods,
    series: series as ReadonlyMap<string, MeteredSeries>,
    chargeLinks: csv('charge_link_periods.csv').map((r) => ({
      charge: chargeOf(r),
      meteringPointId: r['metering_point_id']!,
      quantity: Number(r['quantity']),
      from: instant(r['from_date']!),
      to: orNull(r['to_date']) === null ? null : instant(r['to_date']!),
    })),
    chargeInformation: csv('charge_price_information_periods.csv').map((r) => ({
      charge: chargeOf(r),
      resolution: r['resolution'] as ChargeResolution,
      isTax: r['is_tax'] === 'true',
      from: instant(r['from_date']!),
      to: orNull(r['to_date']) === null ? null : instant(r['to_date']!),
    })),
    chargePrices: csv('charge_price_points.csv').map((r) => ({ charge: chargeOf(r), price: toScaled(r['charge_price']!, 6), time: instant(r['charge_time']!) })),
    gridLossMeteringPoints: csv('grid_loss_metering_points.csv').map((r) => r['metering_point_id']!),
  };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const qualityList = (bits: number | null): string => (bits === null ? '' : qualityNames(bits).sort().join(','));
/** `['missing', 'measured']` → `measured,missing`: a set, as Energinet's test framework compares it. */
export const normaliseQualities = (cell: string): string =>
  cell === '' ? '' : cell.replace(/[[\]' ]/g, '').split(',').filter((q) => q !== '').sort().join(',');

export function amountRow(r: AmountPerCharge): string {
  const pieces = r.charge.type !== 'D03';
  return [
    r.gridArea,
    r.energySupplier,
    formatScaled(r.quantity, 3),
    pieces ? 'pcs' : 'kWh',
    qualityList(r.qualities),
    iso(r.time),
    r.resolution,
    METERING_POINT_TYPE_NAMES[r.meteringPointType],
    r.settlementMethod === null ? '' : SETTLEMENT_METHOD_NAMES[r.settlementMethod],
    r.price === null ? '' : formatScaled(r.price, 6),
    r.amount === null ? '' : formatScaled(r.amount, 6),
    r.isTax ? 'True' : 'False',
    r.charge.code,
    CHARGE_TYPE_NAMES[r.charge.type],
    r.charge.owner,
  ].join(';');
}

export function monthlyRow(r: MonthlyAmountPerCharge): string {
  return [r.gridArea, r.energySupplier, r.charge.type === 'D03' ? 'kWh' : 'pcs', iso(r.time), r.amount === null ? '' : formatScaled(r.amount, 6), r.isTax ? 'True' : 'False', r.charge.code, CHARGE_TYPE_NAMES[r.charge.type], r.charge.owner].join(';');
}

export function totalRow(r: TotalMonthlyAmount): string {
  return [r.gridArea, r.energySupplier, iso(r.time), r.amount === null ? '' : formatScaled(r.amount, 6), r.chargeOwner ?? ''].join(';');
}

export function energyRows(s: EnergySeries): string[] {
  const step = s.resolution === 'PT15M' ? 900_000 : 3_600_000;
  return s.quantities.map((q, i) => [s.gridArea, s.energySupplier ?? '', s.balanceResponsible ?? '', formatScaled(q, 3), qualityList(s.qualities[i]!), iso(s.start + i * step), s.timeSeriesType, s.resolution].join(';'));
}

/** The expected file's rows in the same shape, without Energinet's calculation and result ids. */
export function expectedRows(text: string, columns: readonly string[]): string[] {
  return parseCsv(text).map((r) => columns.map((c) => (c === 'quantity_qualities' ? normaliseQualities(r[c] ?? '') : (r[c] ?? ''))).join(';'));
}

export const AMOUNT_COLUMNS = [
  'grid_area_code',
  'energy_supplier_id',
  'quantity',
  'quantity_unit',
  'quantity_qualities',
  'time',
  'resolution',
  'metering_point_type',
  'settlement_method',
  'price',
  'amount',
  'is_tax',
  'charge_code',
  'charge_type',
  'charge_owner_id',
] as const;
export const MONTHLY_COLUMNS = ['grid_area_code', 'energy_supplier_id', 'quantity_unit', 'time', 'amount', 'is_tax', 'charge_code', 'charge_type', 'charge_owner_id'] as const;
export const TOTAL_COLUMNS = ['grid_area_code', 'energy_supplier_id', 'time', 'amount', 'charge_owner_id'] as const;
export const ENERGY_COLUMNS = ['grid_area_code', 'energy_supplier_id', 'balance_responsible_party_id', 'quantity', 'quantity_qualities', 'time', 'time_series_type', 'resolution'] as const;
