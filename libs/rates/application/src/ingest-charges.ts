import type { EventStore, JsonObject } from '@dh/event-store';
import { chargeIdOf, parseDatahubPricelist, type DatahubPricelistRow } from '@dh/rates-domain';
import { sameDecimal } from './decimals';
import type { EdsClient } from './eds-client';
import { InvalidRatesCommandError, MalformedEdsDataError } from './errors';
import { CHARGE_PRICES_PUBLISHED, chargeStreamId, toEventData, type ChargePriceRowData, type ChargePricesPublished, type RatesCommandContext } from './events';
import { validateDateRange } from './ingest-spot-prices';
import type { RawJsonValue } from './raw-json';
import { keepsManualRow } from './manual-corrections';
import { appendIfChanged } from './versioned-append';

export interface IngestChargesRequest {
  /** Rows with `ValidFrom` on or after this local date (the API filters the price list by `ValidFrom`). */
  from: string;
  /** … and before this one (exclusive). */
  to: string;
  /** Optional narrowing, as the API's filter: e.g. `{ GLN_Number: ['5790000432752'], ChargeType: ['D03'] }`. */
  filter?: { GLN_Number?: string[]; ChargeType?: string[]; ChargeTypeCode?: string[] };
}

export interface ChargeOutcome {
  chargeId: string;
  streamId: string;
  outcome: 'appended' | 'unchanged';
  version: number;
  rows: number;
}

export interface IngestChargesResult {
  charges: ChargeOutcome[];
  requests: number;
}

/** Longest `ValidFrom` range one command may ingest (the price list goes back to 2014). */
export const MAX_CHARGE_INGEST_DAYS = 366 * 30;

const FILTER_KEYS = ['GLN_Number', 'ChargeType', 'ChargeTypeCode'] as const;

function rawPrices(record: RawJsonValue | undefined, row: DatahubPricelistRow): string[] {
  const obj = typeof record === 'object' && record !== null && !Array.isArray(record) ? record : {};
  const text = (field: string): string | null => {
    const v = obj[field];
    return typeof v === 'string' ? v : null;
  };
  const price1 = text('Price1');
  if (price1 === null) throw new Error('Price1 is not a string after parsing');
  if (row.resolution !== 'PT1H') return [price1];
  // A null PriceN falls back to Price1, as the domain parser does.
  return Array.from({ length: 24 }, (_, i) => text(`Price${i + 1}`) ?? price1);
}

function sameRows(a: readonly ChargePriceRowData[], b: readonly ChargePriceRowData[]): boolean {
  return (
    a.length === b.length &&
    a.every((r, i) => {
      const s = b[i]!;
      return r.validFrom === s.validFrom && r.validTo === s.validTo && r.resolution === s.resolution && r.prices.length === s.prices.length && r.prices.every((p, j) => sameDecimal(p, s.prices[j]!));
    })
  );
}

interface FetchedCharge {
  chargeId: string;
  owner: string;
  gln: string;
  chargeType: DatahubPricelistRow['chargeType'];
  code: string;
  description: string;
  rows: Map<string, ChargePriceRowData>;
}

/**
 * Fetches `DatahubPricelist` rows with `ValidFrom` in [from, to) and, per charge, merges them into the
 * latest known rows (a row is keyed by `validFrom`; a fetched row replaces the known one). When the
 * merged rows (or owner/description) differ from the latest event, appends `ChargePricesPublished` with
 * version + 1 holding every known row. One malformed record rejects the whole ingest.
 */
export async function ingestCharges(deps: { store: EventStore; eds: EdsClient }, request: IngestChargesRequest, context: RatesCommandContext): Promise<IngestChargesResult> {
  validateDateRange(request.from, request.to, MAX_CHARGE_INGEST_DAYS);
  const filter: Record<string, string[]> = {};
  for (const key of FILTER_KEYS) {
    const values = request.filter?.[key];
    if (values === undefined) continue;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw new InvalidRatesCommandError(`filter.${key}`, 'must be an array of strings');
    filter[key] = values;
  }
  const result = await deps.eds.fetchAll('DatahubPricelist', {
    start: request.from,
    end: request.to,
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
    sort: 'ValidFrom ASC',
  });
  const parsed = parseDatahubPricelist(result.records, { publishedAt: context.now, version: 0 });
  if (!parsed.ok) throw MalformedEdsDataError.fromRecordErrors(parsed.errors);

  const charges = new Map<string, FetchedCharge>();
  const problems: MalformedEdsDataError['problems'] = [];
  parsed.value.forEach((row, index) => {
    const chargeId = chargeIdOf(row.glnNumber, row.chargeType, row.chargeTypeCode);
    let c = charges.get(chargeId);
    if (c === undefined) {
      c = { chargeId, owner: row.chargeOwner, gln: row.glnNumber, chargeType: row.chargeType, code: row.chargeTypeCode, description: row.note || row.description || row.chargeTypeCode, rows: new Map() };
      charges.set(chargeId, c);
    }
    if (c.rows.has(row.validFrom)) {
      problems.push({ dataset: 'DatahubPricelist', index, field: 'ValidFrom', problem: `repeats ${row.validFrom} for charge ${chargeId}` });
      return;
    }
    c.rows.set(row.validFrom, { validFrom: row.validFrom, validTo: row.validTo, resolution: row.resolution, prices: rawPrices(result.records[index], row) });
  });
  if (problems.length > 0) throw new MalformedEdsDataError(problems);

  const outcomes: ChargeOutcome[] = [];
  for (const c of [...charges.values()].sort((a, b) => (a.chargeId < b.chargeId ? -1 : a.chargeId > b.chargeId ? 1 : 0))) {
    const streamId = chargeStreamId(c.chargeId);
    const appended = await appendIfChanged(
      deps.store,
      streamId,
      CHARGE_PRICES_PUBLISHED,
      (latest: JsonObject | null) => {
        const old = latest as unknown as ChargePricesPublished | null;
        const merged = new Map<string, ChargePriceRowData>((old?.rows ?? []).map((r) => [r.validFrom, r]));
        for (const [k, r] of c.rows) if (!keepsManualRow(merged.get(k), r)) merged.set(k, r);
        const rows = [...merged.values()].sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));
        if (old !== null && old.owner === c.owner && old.description === c.description && sameRows(old.rows, rows)) return null;
        const event: ChargePricesPublished = {
          chargeId: c.chargeId,
          owner: c.owner,
          gln: c.gln,
          chargeType: c.chargeType,
          code: c.code,
          description: c.description,
          version: old === null ? 1 : old.version + 1,
          publishedAt: context.now.toISOString(),
          rows,
        };
        return toEventData(event);
      },
      context,
    );
    const data = appended.data as unknown as ChargePricesPublished;
    outcomes.push({ chargeId: c.chargeId, streamId, outcome: appended.appended ? 'appended' : 'unchanged', version: data.version, rows: data.rows.length });
  }
  return { charges: outcomes, requests: result.requests };
}
