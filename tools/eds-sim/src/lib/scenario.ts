import { isLocalDate, type LocalDate } from '@dh/dk-time';
import { isDecimalString } from '@dh/money';

export type SimPriceArea = 'DK1' | 'DK2';
export type SimChargeType = 'D01' | 'D02' | 'D03';
export type SimChargeResolution = 'PT1H' | 'P1D' | 'P1M';

/** One `DatahubPricelist` row of a charge. `prices` are decimal strings; a PT1H row may give 1..24 (missing ones are sent as null). */
export interface ScenarioChargeRow {
  validFrom: LocalDate;
  validTo: LocalDate | null;
  resolution: SimChargeResolution;
  prices: string[];
}

export interface ScenarioCharge {
  chargeOwner: string;
  gln: string;
  chargeType: SimChargeType;
  code: string;
  note: string;
  description?: string;
  vatClass?: string;
  transparentInvoicing?: boolean;
  taxIndicator?: boolean;
  rows: ScenarioChargeRow[];
}

export interface EdsScenario {
  /** Seed of the price generator: same seed, same prices. */
  seed: number;
  /** Default DK1 and DK2. */
  priceAreas?: SimPriceArea[];
  /**
   * Last local delivery date with published spot prices (inclusive); later intervals are simply absent,
   * as tomorrow's prices are before the auction. Default: every date is published.
   */
  publishedThrough?: LocalDate;
  /** Default {@link DEFAULT_CHARGES}. */
  charges?: ScenarioCharge[];
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

const ENERGINET = { chargeOwner: 'Energinet Systemansvar A/S (SYO)', gln: '5790000432752' };
const N1 = { chargeOwner: 'N1 A/S - 131', gln: '5790001089030' };
const winter = ['0.1250', '0.1250', '0.1250', '0.1250', '0.1250', '0.1250', ...Array<string>(11).fill('0.3751'), ...Array<string>(4).fill('0.9751'), '0.3751', '0.3751', '0.3751'];
const summer = ['0.125', '0.125', '0.125', '0.125', '0.125', '0.125', ...Array<string>(11).fill('0.187545'), ...Array<string>(4).fill('0.487555'), '0.187545', '0.187545', '0.187545'];

/** Energinet's national tariffs, subscription and elafgift, and one grid company (N1, DK1) with its C tariff and subscription. */
export const DEFAULT_CHARGES: readonly ScenarioCharge[] = [
  {
    ...ENERGINET,
    chargeType: 'D03',
    code: '40000',
    note: 'Transmissions nettarif',
    description: 'Netafgiften, for både forbrugere og producenter',
    rows: [
      { validFrom: '2025-01-01', validTo: '2026-01-01', resolution: 'PT1H', prices: ['0.061'] },
      { validFrom: '2026-01-01', validTo: null, resolution: 'PT1H', prices: ['0.043'] },
    ],
  },
  {
    ...ENERGINET,
    chargeType: 'D03',
    code: '41000',
    note: 'Systemtarif',
    rows: [
      { validFrom: '2025-01-01', validTo: '2026-01-01', resolution: 'PT1H', prices: ['0.074'] },
      { validFrom: '2026-01-01', validTo: null, resolution: 'PT1H', prices: ['0.072'] },
    ],
  },
  {
    ...ENERGINET,
    chargeType: 'D01',
    code: '41004',
    note: 'Systemabonnement',
    rows: [
      { validFrom: '2025-01-01', validTo: '2026-01-01', resolution: 'P1M', prices: ['15.166666'] },
      { validFrom: '2026-01-01', validTo: null, resolution: 'P1M', prices: ['15.583333'] },
    ],
  },
  {
    ...ENERGINET,
    chargeType: 'D03',
    code: 'EA-001',
    note: 'Elafgift',
    taxIndicator: true,
    rows: [
      { validFrom: '2025-01-01', validTo: '2026-01-01', resolution: 'PT1H', prices: ['0.72'] },
      { validFrom: '2026-01-01', validTo: '2028-01-01', resolution: 'PT1H', prices: ['0.008'] },
    ],
  },
  {
    ...N1,
    chargeType: 'D03',
    code: 'CD',
    note: 'Nettarif C',
    rows: [
      { validFrom: '2025-01-01', validTo: '2025-04-01', resolution: 'PT1H', prices: winter },
      { validFrom: '2025-04-01', validTo: '2025-10-01', resolution: 'PT1H', prices: summer },
      { validFrom: '2025-10-01', validTo: '2026-04-01', resolution: 'PT1H', prices: winter },
      { validFrom: '2026-04-01', validTo: null, resolution: 'PT1H', prices: summer },
    ],
  },
  {
    ...N1,
    chargeType: 'D01',
    code: 'CD',
    note: 'Net abo C forbrug',
    rows: [{ validFrom: '2025-01-01', validTo: null, resolution: 'P1M', prices: ['27.5'] }],
  },
];

/** Checks a scenario (from a file or a test) and fills defaults. */
export function parseScenario(input: EdsScenario): Required<Omit<EdsScenario, 'publishedThrough'>> & Pick<EdsScenario, 'publishedThrough'> {
  if (!Number.isSafeInteger(input.seed)) throw new ScenarioError('seed must be an integer');
  const priceAreas = input.priceAreas ?? ['DK1', 'DK2'];
  for (const a of priceAreas) if (a !== 'DK1' && a !== 'DK2') throw new ScenarioError(`unknown price area ${JSON.stringify(a)}`);
  if (input.publishedThrough !== undefined && !isLocalDate(input.publishedThrough)) throw new ScenarioError('publishedThrough must be YYYY-MM-DD');
  const charges = input.charges ?? DEFAULT_CHARGES.map((c) => ({ ...c, rows: c.rows.map((r) => ({ ...r, prices: [...r.prices] })) }));
  for (const c of charges) {
    for (const r of c.rows) {
      if (!isLocalDate(r.validFrom) || (r.validTo !== null && !isLocalDate(r.validTo))) throw new ScenarioError(`charge ${c.gln}/${c.code}: bad validity`);
      const max = r.resolution === 'PT1H' ? 24 : 1;
      if (r.prices.length < 1 || r.prices.length > max) throw new ScenarioError(`charge ${c.gln}/${c.code}: ${r.resolution} row needs 1..${max} prices`);
      for (const p of r.prices) if (!isDecimalString(p)) throw new ScenarioError(`charge ${c.gln}/${c.code}: price ${JSON.stringify(p)} is not a decimal string`);
    }
  }
  return { seed: input.seed, priceAreas, charges, publishedThrough: input.publishedThrough };
}
