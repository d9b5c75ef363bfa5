import { isLocalDate, type LocalDate } from '@dh/dk-time';
import { isValidGln, isValidGsrn } from '@dh/market-ids';

export type ProfileShape = 'household' | 'flat' | 'solar';
export type SimResolution = 'PT15M' | 'PT1H';

export interface ScenarioClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The actor's GLN: messages addressed to it are peeked with this client's tokens. */
  readonly gln: string;
}

export interface ScenarioMeteringPoint {
  readonly gsrn: string;
  readonly gridArea: string;
  readonly priceArea: 'DK1' | 'DK2';
  readonly type: 'E17' | 'E18';
  /** D01 flex, E02 non-profiled; consumption (E17) only. */
  readonly settlementMethod?: 'D01' | 'E02';
  readonly resolution: SimResolution;
  readonly profile: { readonly annualKwh: number; readonly shape: ProfileShape };
  /** Supplied already when the scenario starts (no notification is sent for it). */
  readonly supply?: { readonly supplierGln: string; readonly from: LocalDate };
  /**
   * Charge links of this metering point (RSM-031). Without it a consumption point is linked to every scenario
   * charge (factor 1) for as long as it is supplied; a production point to none.
   */
  readonly charges?: readonly ScenarioChargeLink[];
}

export interface ScenarioChargeLink {
  readonly code: string;
  readonly ownerGln: string;
  readonly type: 'D01' | 'D02' | 'D03';
  /** Pieces of a subscription or fee; default 1. */
  readonly factor: number;
  readonly from?: LocalDate;
  /** Exclusive. */
  readonly to?: LocalDate;
  /** False: DataHub settles with this link but never tells the supplier (a planted difference). Default true. */
  readonly notified: boolean;
}

/**
 * Differences DataHub's basis has from what it tells a supplier, planted so that reconciliation must find them:
 * - `unsuppliedBilled`: DataHub counts the metering point as supplied by `supplierGln` from `from` and sends it
 *   that point's RSM-012, but never a start of supply (RSM-004/022) or links;
 * - `unsentCorrections`: DataHub holds a corrected day (quantities × `factor`) and settles with it, but sends the
 *   corrected RSM-012 only at `sendAt` (never when absent).
 */
export interface ScenarioPlanted {
  readonly unsuppliedBilled: readonly { readonly gsrn: string; readonly supplierGln: string; readonly from: LocalDate }[];
  readonly unsentCorrections: readonly { readonly gsrn: string; readonly date: LocalDate; readonly factor: string; readonly sendAt?: string }[];
  /** Late metered data: the day's RSM-012 is not sent after its midnight but once the clock reaches `sendAt` (DataHub settles with it all along). */
  readonly lateMeteredData: readonly { readonly gsrn: string; readonly date: LocalDate; readonly sendAt: string }[];
}

export interface ScenarioRejection {
  readonly gsrn: string;
  readonly reasonCode: string;
  readonly text?: string;
  /** Only requests with this business reason (E03, E65, E20, E66, D07); all when absent. */
  readonly processType?: string;
}

export interface ScenarioForcedSwitch {
  readonly gsrn: string;
  readonly supplierGln: string;
  readonly effectiveDate: LocalDate;
}

export interface ScenarioCharge {
  readonly code: string;
  readonly ownerGln: string;
  readonly type: 'D01' | 'D02' | 'D03';
  /** DKK per kWh (tariffs), per month (subscriptions) or per piece (fees), exact decimal string. */
  readonly price: string;
  /** A tariff's 24 prices by Copenhagen hour (`price` is then ignored for PT1H). */
  readonly hourlyPrices?: readonly string[];
  /** Tariffs: PT1H (default) or P1D; subscriptions and fees: P1M. */
  readonly resolution: 'PT1H' | 'P1D' | 'P1M';
  /** A tax (e.g. elafgift): DataHub adds it into every other charge owner's total. */
  readonly tax: boolean;
  readonly name: string;
}

export interface ScenarioReasonCodes {
  readonly unknownMeteringPoint: string;
  readonly leadTime: string;
  readonly notSupplier: string;
  readonly noPendingProcess: string;
  /** RSM-016/017 answered with a reject (ERR) when DataHub has no result for the request. */
  readonly noResults: string;
}

export interface Scenario {
  readonly seed: string;
  /** Initial simulator clock (UTC instant). */
  readonly start: string;
  readonly datahubGln: string;
  /** Required `scope` on token requests; any scope is accepted when absent. */
  readonly scope?: string;
  readonly tokenLifetimeSeconds: number;
  /** A change of supplier / end of supply may take effect at the earliest this many local days after today. */
  readonly leadTimeDays: number;
  readonly clients: readonly ScenarioClient[];
  readonly meteringPoints: readonly ScenarioMeteringPoint[];
  readonly rejections: readonly ScenarioRejection[];
  readonly forcedSwitches: readonly ScenarioForcedSwitch[];
  readonly charges: readonly ScenarioCharge[];
  readonly reasonCodes: ScenarioReasonCodes;
  readonly planted: ScenarioPlanted;
  /** Send charge data: RSM-034 price lists (D18, D08) to every client at the start, RSM-031 links on each supply start. Default false. */
  readonly sendChargeData: boolean;
  /** Energy results are in quarters for periods ending after this instant (DataHub's quarterly transition). */
  readonly quarterlyTransition: string;
  /** Series per daily RSM-012 to a supplier (DataHub bundles a supplier's metering points). Default 1. */
  readonly meteredDataSeriesPerDocument: number;
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

function num(o: Json, key: string, path: string, fallback?: number): number {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ScenarioError(`${path}.${key}`, 'must be a non-negative number');
  return v;
}

function arr(o: Json, key: string, path: string, required: boolean): unknown[] {
  const v = o[key];
  if (v === undefined && !required) return [];
  if (!Array.isArray(v)) throw new ScenarioError(`${path}.${key}`, 'must be an array');
  return v;
}

function gln(o: Json, key: string, path: string): string {
  const v = str(o, key, path);
  if (!isValidGln(v)) throw new ScenarioError(`${path}.${key}`, `${v} is not a valid GLN`);
  return v;
}

function localDate(o: Json, key: string, path: string): LocalDate {
  const v = str(o, key, path);
  if (!isLocalDate(v)) throw new ScenarioError(`${path}.${key}`, 'must be a local date YYYY-MM-DD');
  return v;
}

const DEFAULT_CHARGES: readonly ScenarioCharge[] = [
  { code: '41000', ownerGln: '5790000432752', type: 'D03', price: '0.072', resolution: 'PT1H', tax: false, name: 'Systemtarif' },
  { code: '40000', ownerGln: '5790000432752', type: 'D03', price: '0.043', resolution: 'PT1H', tax: false, name: 'Nettarif' },
];

const DECIMAL = /^-?\d+(\.\d+)?$/;

function chargeLink(c: unknown, p: string): ScenarioChargeLink {
  const o = obj(c, p);
  const from = o['from'] === undefined ? undefined : localDate(o, 'from', p);
  const to = o['to'] === undefined ? undefined : localDate(o, 'to', p);
  if (o['notified'] !== undefined && typeof o['notified'] !== 'boolean') throw new ScenarioError(`${p}.notified`, 'must be a boolean');
  return {
    code: str(o, 'code', p),
    ownerGln: gln(o, 'ownerGln', p),
    type: oneOf(o, 'type', p, ['D01', 'D02', 'D03'] as const),
    factor: num(o, 'factor', p, 1),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    notified: o['notified'] !== false,
  };
}

function charge(c: unknown, i: number): ScenarioCharge {
  const p = `$.charges[${i}]`;
  const o = obj(c, p);
  const price = str(o, 'price', p);
  if (!DECIMAL.test(price)) throw new ScenarioError(`${p}.price`, 'must be a dot-decimal string');
  const type = oneOf(o, 'type', p, ['D01', 'D02', 'D03'] as const);
  const hourly = o['hourlyPrices'];
  if (hourly !== undefined && (!Array.isArray(hourly) || hourly.length !== 24 || !hourly.every((h) => typeof h === 'string' && DECIMAL.test(h)))) {
    throw new ScenarioError(`${p}.hourlyPrices`, 'must be 24 dot-decimal strings');
  }
  const resolution = type === 'D03' ? oneOf(o, 'resolution', p, ['PT1H', 'P1D'] as const, 'PT1H') : oneOf(o, 'resolution', p, ['P1M'] as const, 'P1M');
  if (o['tax'] !== undefined && typeof o['tax'] !== 'boolean') throw new ScenarioError(`${p}.tax`, 'must be a boolean');
  return {
    code: str(o, 'code', p),
    ownerGln: gln(o, 'ownerGln', p),
    type,
    price,
    ...(Array.isArray(hourly) ? { hourlyPrices: hourly as string[] } : {}),
    resolution,
    tax: o['tax'] === true,
    name: optStr(o, 'name', p) ?? str(o, 'code', p),
  };
}

function planted(root: Json, gsrns: ReadonlySet<string>): ScenarioPlanted {
  const o = root['planted'] === undefined ? {} : obj(root['planted'], '$.planted');
  const known = (g: string, p: string) => {
    if (!gsrns.has(g)) throw new ScenarioError(p, `${g} is not one of the scenario's metering points`);
    return g;
  };
  return {
    unsuppliedBilled: arr(o, 'unsuppliedBilled', '$.planted', false).map((u, i) => {
      const p = `$.planted.unsuppliedBilled[${i}]`;
      const x = obj(u, p);
      return { gsrn: known(str(x, 'gsrn', p), `${p}.gsrn`), supplierGln: gln(x, 'supplierGln', p), from: localDate(x, 'from', p) };
    }),
    unsentCorrections: arr(o, 'unsentCorrections', '$.planted', false).map((u, i) => {
      const p = `$.planted.unsentCorrections[${i}]`;
      const x = obj(u, p);
      const factor = str(x, 'factor', p);
      if (!DECIMAL.test(factor)) throw new ScenarioError(`${p}.factor`, 'must be a dot-decimal string');
      const sendAt = optStr(x, 'sendAt', p);
      if (sendAt !== undefined && Number.isNaN(Date.parse(sendAt))) throw new ScenarioError(`${p}.sendAt`, 'must be an instant');
      return { gsrn: known(str(x, 'gsrn', p), `${p}.gsrn`), date: localDate(x, 'date', p), factor, ...(sendAt ? { sendAt } : {}) };
    }),
    lateMeteredData: arr(o, 'lateMeteredData', '$.planted', false).map((u, i) => {
      const p = `$.planted.lateMeteredData[${i}]`;
      const x = obj(u, p);
      const sendAt = str(x, 'sendAt', p);
      if (Number.isNaN(Date.parse(sendAt))) throw new ScenarioError(`${p}.sendAt`, 'must be an instant');
      return { gsrn: known(str(x, 'gsrn', p), `${p}.gsrn`), date: localDate(x, 'date', p), sendAt };
    }),
  };
}

/** Validates a parsed scenario JSON value and fills in the defaults. */
export function parseScenario(input: unknown): Scenario {
  const root = obj(input, '$');
  const start = str(root, 'start', '$');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/.test(start) || Number.isNaN(Date.parse(start))) throw new ScenarioError('$.start', 'must be a UTC instant (…Z)');
  const clients = arr(root, 'clients', '$', true).map((c, i): ScenarioClient => {
    const p = `$.clients[${i}]`;
    const o = obj(c, p);
    return { clientId: str(o, 'clientId', p), clientSecret: str(o, 'clientSecret', p), gln: gln(o, 'gln', p) };
  });
  if (clients.length === 0) throw new ScenarioError('$.clients', 'needs at least one client');
  const meteringPoints = arr(root, 'meteringPoints', '$', true).map((m, i): ScenarioMeteringPoint => {
    const p = `$.meteringPoints[${i}]`;
    const o = obj(m, p);
    const gsrn = str(o, 'gsrn', p);
    if (!isValidGsrn(gsrn)) throw new ScenarioError(`${p}.gsrn`, `${gsrn} is not a valid GSRN (18 digits, GS1 check digit)`);
    const gridArea = str(o, 'gridArea', p);
    if (!/^\d{3}$/.test(gridArea)) throw new ScenarioError(`${p}.gridArea`, 'must be 3 digits');
    const type = oneOf(o, 'type', p, ['E17', 'E18'] as const);
    const profile = obj(o['profile'], `${p}.profile`);
    const supplyRaw = o['supply'];
    let supply: ScenarioMeteringPoint['supply'];
    if (supplyRaw !== undefined) {
      const s = obj(supplyRaw, `${p}.supply`);
      supply = { supplierGln: gln(s, 'supplierGln', `${p}.supply`), from: localDate(s, 'from', `${p}.supply`) };
    }
    const settlementMethod = o['settlementMethod'] === undefined ? undefined : oneOf(o, 'settlementMethod', p, ['D01', 'E02'] as const);
    return {
      gsrn,
      gridArea,
      priceArea: oneOf(o, 'priceArea', p, ['DK1', 'DK2'] as const),
      type,
      ...(type === 'E17' ? { settlementMethod: settlementMethod ?? 'D01' } : {}),
      resolution: oneOf(o, 'resolution', p, ['PT15M', 'PT1H'] as const, 'PT15M'),
      profile: {
        annualKwh: num(profile, 'annualKwh', `${p}.profile`),
        shape: oneOf(profile, 'shape', `${p}.profile`, ['household', 'flat', 'solar'] as const, type === 'E18' ? 'solar' : 'household'),
      },
      ...(supply ? { supply } : {}),
      ...(o['charges'] === undefined ? {} : { charges: arr(o, 'charges', p, true).map((c, j) => chargeLink(c, `${p}.charges[${j}]`)) }),
    };
  });
  const seen = new Set<string>();
  for (const m of meteringPoints) {
    if (seen.has(m.gsrn)) throw new ScenarioError('$.meteringPoints', `duplicate GSRN ${m.gsrn}`);
    seen.add(m.gsrn);
  }
  const rejections = arr(root, 'rejections', '$', false).map((r, i): ScenarioRejection => {
    const p = `$.rejections[${i}]`;
    const o = obj(r, p);
    const text = optStr(o, 'text', p);
    const processType = optStr(o, 'processType', p);
    return { gsrn: str(o, 'gsrn', p), reasonCode: str(o, 'reasonCode', p), ...(text ? { text } : {}), ...(processType ? { processType } : {}) };
  });
  const forcedSwitches = arr(root, 'forcedSwitches', '$', false).map((f, i): ScenarioForcedSwitch => {
    const p = `$.forcedSwitches[${i}]`;
    const o = obj(f, p);
    const gsrn = str(o, 'gsrn', p);
    if (!seen.has(gsrn)) throw new ScenarioError(`${p}.gsrn`, `${gsrn} is not one of the scenario's metering points`);
    return { gsrn, supplierGln: gln(o, 'supplierGln', p), effectiveDate: localDate(o, 'effectiveDate', p) };
  });
  const charges = root['charges'] === undefined ? DEFAULT_CHARGES : arr(root, 'charges', '$', true).map(charge);
  const transition = root['quarterlyTransition'] === undefined ? '2023-05-21T22:00:00Z' : str(root, 'quarterlyTransition', '$');
  if (Number.isNaN(Date.parse(transition))) throw new ScenarioError('$.quarterlyTransition', 'must be an instant');
  const rc = root['reasonCodes'] === undefined ? {} : obj(root['reasonCodes'], '$.reasonCodes');
  const scope = optStr(root, 'scope', '$');
  return {
    seed: str(root, 'seed', '$'),
    start,
    datahubGln: root['datahubGln'] === undefined ? '5790001330552' : gln(root, 'datahubGln', '$'),
    ...(scope ? { scope } : {}),
    tokenLifetimeSeconds: num(root, 'tokenLifetimeSeconds', '$', 3600),
    leadTimeDays: num(root, 'leadTimeDays', '$', 1),
    clients,
    meteringPoints,
    rejections,
    forcedSwitches,
    charges,
    reasonCodes: {
      unknownMeteringPoint: optStr(rc, 'unknownMeteringPoint', '$.reasonCodes') ?? 'E10',
      leadTime: optStr(rc, 'leadTime', '$.reasonCodes') ?? 'E17',
      notSupplier: optStr(rc, 'notSupplier', '$.reasonCodes') ?? 'E16',
      noPendingProcess: optStr(rc, 'noPendingProcess', '$.reasonCodes') ?? 'D16',
      noResults: optStr(rc, 'noResults', '$.reasonCodes') ?? 'E0H',
    },
    planted: planted(root, seen),
    sendChargeData: root['sendChargeData'] === true,
    quarterlyTransition: transition,
    meteredDataSeriesPerDocument: Math.max(1, Math.floor(num(root, 'meteredDataSeriesPerDocument', '$', 1))),
  };
}
