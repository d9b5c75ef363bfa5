import { isLocalDate, type LocalDate } from '@dh/dk-time';
import { isValidGln, isValidGsrn } from '@dh/market-ids';
import { isDecimalString, parseQuantityMilliKwh } from '@dh/money';

/** Shapes of the generated (seeded) consumption; see `consumption.ts`. */
export type ProfileShape = 'household' | 'flat' | 'heatpump' | 'solar';

/**
 * How a metering point's hourly quantities are made.
 * - `shaped`: `annualKwh` spread over the hours by the shape's hour-of-day and month weights, with seeded noise of
 *   ±`noisePercent` % (default 20) per hour. Deterministic in (scenario seed, GSRN, local date).
 * - `pattern`: every local day repeats the same 24 hourly values (index = local wall-clock hour 0..23); a 25-hour day
 *   repeats hour 2's value, a 23-hour day has no hour 2. Meant for hand-summed tests.
 */
export type ScenarioProfile =
  | { readonly kind: 'shaped'; readonly shape: ProfileShape; readonly annualKwh: string; readonly noisePercent: number }
  | { readonly kind: 'pattern'; readonly kwhByLocalHour: readonly string[] };

export interface ScenarioAddress {
  readonly streetName: string;
  readonly buildingNumber: string;
  readonly floorId?: string;
  readonly roomId?: string;
  readonly postcode: string;
  readonly cityName: string;
  readonly municipalityCode?: string;
}

export interface ScenarioMeteringPoint {
  readonly gsrn: string;
  /** E17 consumption, E18 production. */
  readonly typeOfMP: 'E17' | 'E18';
  /** D01 flex, E02 non-profiled, E01 profiled (historic). Absent on production points. */
  readonly settlementMethod?: 'D01' | 'E01' | 'E02';
  readonly gridArea: string;
  readonly gridOperator: { readonly gln: string; readonly name: string };
  readonly priceArea: 'DK1' | 'DK2';
  /** The current supplier; absent when the point has none (e.g. a new connection). */
  readonly balanceSupplier?: { readonly gln: string; readonly name: string; readonly startDate: LocalDate };
  readonly address: ScenarioAddress;
  readonly consumerName?: string;
  readonly consumerStartDate?: LocalDate;
  /** `estimatedAnnualVolume` as the API shows it (kWh, decimal string). */
  readonly estimatedAnnualVolume?: string;
  /** D03 new, E22 connected, E23 disconnected. */
  readonly physicalStatus: 'D03' | 'E22' | 'E23';
  /**
   * The production (E18) metering point beside this consumption point (own solar), another point of the scenario.
   * Shown as the simulator extension `linkedProductionMeteringPointId` (see the README).
   */
  readonly linkedProductionGsrn?: string;
  /** The first local day with measured data (earlier periods answer 30018 or are left out). */
  readonly historyFrom: LocalDate;
  readonly profile: ScenarioProfile;
}

export interface ScenarioConsent {
  readonly gsrn: string;
  /** Inclusive; default: always. */
  readonly validFrom?: LocalDate;
  /** Exclusive; default: open-ended. */
  readonly validTo?: LocalDate;
}

/** A registered third party: its refresh token stands for the consents (powers of attorney) customers granted it. */
export interface ScenarioThirdParty {
  readonly name: string;
  readonly refreshToken: string;
  /** Instant after which the refresh token is refused (real ones live a year); default: never. */
  readonly refreshTokenExpiresAt?: string;
  readonly consents: readonly ScenarioConsent[];
}

export interface Scenario {
  readonly seed: string;
  /** Start of the simulator's virtual clock (UTC instant). Absent: the simulator follows the wall clock. */
  readonly now?: string;
  /** Lifetime of a data access token (default 3600; the real API's is 24 h). */
  readonly accessTokenLifetimeSeconds: number;
  readonly thirdParties: readonly ScenarioThirdParty[];
  readonly meteringPoints: readonly ScenarioMeteringPoint[];
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`Scenario ${path}: ${message}`);
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Json {
  if (!isObject(v)) throw new ScenarioError(path, 'must be an object');
  return v;
}

function str(o: Json, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw new ScenarioError(`${path}.${key}`, 'must be a non-empty string');
  return v;
}

function optStr(o: Json, key: string, path: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, path);
}

function oneOf<T extends string>(o: Json, key: string, path: string, allowed: readonly T[], fallback?: T): T {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new ScenarioError(`${path}.${key}`, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

function int(o: Json, key: string, path: string, fallback: number, min: number, max: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new ScenarioError(`${path}.${key}`, `must be an integer ${min}..${max}`);
  return v;
}

function arr(o: Json, key: string, path: string): unknown[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ScenarioError(`${path}.${key}`, 'must be an array');
  return v;
}

function localDate(o: Json, key: string, path: string): LocalDate {
  const v = str(o, key, path);
  if (!isLocalDate(v)) throw new ScenarioError(`${path}.${key}`, 'must be a local date YYYY-MM-DD');
  return v;
}

function optLocalDate(o: Json, key: string, path: string): LocalDate | undefined {
  return o[key] === undefined ? undefined : localDate(o, key, path);
}

function instant(o: Json, key: string, path: string): string | undefined {
  const v = optStr(o, key, path);
  if (v === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/.test(v) || Number.isNaN(Date.parse(v))) throw new ScenarioError(`${path}.${key}`, 'must be a UTC instant (…Z)');
  return v;
}

/** A non-negative kWh decimal with at most 3 decimals (the API's precision). */
function kwh(v: unknown, path: string): string {
  if (typeof v !== 'string' || !isDecimalString(v) || v.startsWith('-')) throw new ScenarioError(path, 'must be a non-negative decimal string');
  try {
    parseQuantityMilliKwh(v);
  } catch {
    throw new ScenarioError(path, 'must have at most 3 decimals');
  }
  return v;
}

function gln(o: Json, key: string, path: string): string {
  const v = str(o, key, path);
  if (!isValidGln(v)) throw new ScenarioError(`${path}.${key}`, `${v} is not a valid GLN`);
  return v;
}

function parseProfile(v: unknown, path: string, typeOfMP: 'E17' | 'E18'): ScenarioProfile {
  if (v === undefined) return { kind: 'shaped', shape: typeOfMP === 'E18' ? 'solar' : 'household', annualKwh: '4000', noisePercent: 20 };
  const o = obj(v, path);
  const kind = oneOf(o, 'kind', path, ['shaped', 'pattern'] as const, 'shaped');
  if (kind === 'pattern') {
    const values = arr(o, 'kwhByLocalHour', path);
    if (values.length !== 24) throw new ScenarioError(`${path}.kwhByLocalHour`, 'must hold 24 values (local hours 0..23)');
    return { kind, kwhByLocalHour: values.map((x, i) => kwh(x, `${path}.kwhByLocalHour[${i}]`)) };
  }
  return {
    kind,
    shape: oneOf(o, 'shape', path, ['household', 'flat', 'heatpump', 'solar'] as const, typeOfMP === 'E18' ? 'solar' : 'household'),
    annualKwh: kwh(o['annualKwh'] ?? '4000', `${path}.annualKwh`),
    noisePercent: int(o, 'noisePercent', path, 20, 0, 90),
  };
}

/** Validates a parsed scenario JSON value and fills in the defaults (see the README for the format). */
export function parseScenario(input: unknown): Scenario {
  const root = obj(input, '$');
  const seed = optStr(root, 'seed', '$') ?? 'eloverblik-sim';
  const now = instant(root, 'now', '$');
  const meteringPoints = arr(root, 'meteringPoints', '$').map((m, i): ScenarioMeteringPoint => {
    const p = `$.meteringPoints[${i}]`;
    const o = obj(m, p);
    const gsrn = str(o, 'gsrn', p);
    if (!isValidGsrn(gsrn)) throw new ScenarioError(`${p}.gsrn`, `${gsrn} is not a valid GSRN (18 digits, GS1 check digit)`);
    const typeOfMP = oneOf(o, 'typeOfMP', p, ['E17', 'E18'] as const, 'E17');
    const gridArea = str(o, 'gridArea', p);
    if (!/^\d{3}$/.test(gridArea)) throw new ScenarioError(`${p}.gridArea`, 'must be 3 digits');
    const go = obj(o['gridOperator'], `${p}.gridOperator`);
    const supplier = o['balanceSupplier'] === undefined ? undefined : obj(o['balanceSupplier'], `${p}.balanceSupplier`);
    const address = obj(o['address'], `${p}.address`);
    const ap = `${p}.address`;
    const settlementMethod = o['settlementMethod'] === undefined ? (typeOfMP === 'E17' ? 'D01' : undefined) : oneOf(o, 'settlementMethod', p, ['D01', 'E01', 'E02'] as const);
    const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]?: V }));
    return {
      gsrn,
      typeOfMP,
      ...optional('settlementMethod', settlementMethod),
      gridArea,
      gridOperator: { gln: gln(go, 'gln', `${p}.gridOperator`), name: str(go, 'name', `${p}.gridOperator`) },
      priceArea: oneOf(o, 'priceArea', p, ['DK1', 'DK2'] as const),
      ...optional(
        'balanceSupplier',
        supplier && { gln: gln(supplier, 'gln', `${p}.balanceSupplier`), name: str(supplier, 'name', `${p}.balanceSupplier`), startDate: localDate(supplier, 'startDate', `${p}.balanceSupplier`) },
      ),
      address: {
        streetName: str(address, 'streetName', ap),
        buildingNumber: str(address, 'buildingNumber', ap),
        ...optional('floorId', optStr(address, 'floorId', ap)),
        ...optional('roomId', optStr(address, 'roomId', ap)),
        postcode: str(address, 'postcode', ap),
        cityName: str(address, 'cityName', ap),
        ...optional('municipalityCode', optStr(address, 'municipalityCode', ap)),
      },
      ...optional('consumerName', optStr(o, 'consumerName', p)),
      ...optional('consumerStartDate', optLocalDate(o, 'consumerStartDate', p)),
      ...optional('estimatedAnnualVolume', o['estimatedAnnualVolume'] === undefined ? undefined : kwh(o['estimatedAnnualVolume'], `${p}.estimatedAnnualVolume`)),
      physicalStatus: oneOf(o, 'physicalStatus', p, ['D03', 'E22', 'E23'] as const, 'E22'),
      ...optional('linkedProductionGsrn', optStr(o, 'linkedProductionGsrn', p)),
      historyFrom: optLocalDate(o, 'historyFrom', p) ?? '2020-01-01',
      profile: parseProfile(o['profile'], `${p}.profile`, typeOfMP),
    };
  });
  const gsrns = new Set<string>();
  for (const mp of meteringPoints) {
    if (gsrns.has(mp.gsrn)) throw new ScenarioError('$.meteringPoints', `duplicate GSRN ${mp.gsrn}`);
    gsrns.add(mp.gsrn);
  }
  meteringPoints.forEach((mp, i) => {
    if (mp.linkedProductionGsrn === undefined) return;
    const path = `$.meteringPoints[${i}].linkedProductionGsrn`;
    if (mp.typeOfMP !== 'E17') throw new ScenarioError(path, 'only a consumption (E17) point links a production point');
    const production = meteringPoints.find((m) => m.gsrn === mp.linkedProductionGsrn);
    if (production === undefined || production.typeOfMP !== 'E18') throw new ScenarioError(path, `${mp.linkedProductionGsrn} is not a production (E18) metering point of the scenario`);
  });
  const thirdParties = arr(root, 'thirdParties', '$').map((t, i): ScenarioThirdParty => {
    const p = `$.thirdParties[${i}]`;
    const o = obj(t, p);
    const expiresAt = instant(o, 'refreshTokenExpiresAt', p);
    return {
      name: str(o, 'name', p),
      refreshToken: str(o, 'refreshToken', p),
      ...(expiresAt === undefined ? {} : { refreshTokenExpiresAt: expiresAt }),
      consents: arr(o, 'consents', p).map((c, j): ScenarioConsent => {
        const cp = `${p}.consents[${j}]`;
        const co = obj(c, cp);
        const gsrn = str(co, 'gsrn', cp);
        if (!isValidGsrn(gsrn)) throw new ScenarioError(`${cp}.gsrn`, `${gsrn} is not a valid GSRN`);
        const validFrom = optLocalDate(co, 'validFrom', cp);
        const validTo = optLocalDate(co, 'validTo', cp);
        return { gsrn, ...(validFrom === undefined ? {} : { validFrom }), ...(validTo === undefined ? {} : { validTo }) };
      }),
    };
  });
  if (thirdParties.length === 0) throw new ScenarioError('$.thirdParties', 'needs at least one third party (refresh token)');
  const tokens = new Set<string>();
  for (const tp of thirdParties) {
    if (tokens.has(tp.refreshToken)) throw new ScenarioError('$.thirdParties', 'duplicate refresh token');
    tokens.add(tp.refreshToken);
  }
  return {
    seed,
    ...(now === undefined ? {} : { now }),
    accessTokenLifetimeSeconds: int(root, 'accessTokenLifetimeSeconds', '$', 3600, 1, 366 * 86400),
    thirdParties,
    meteringPoints,
  };
}
