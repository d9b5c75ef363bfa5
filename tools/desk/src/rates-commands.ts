import type { CommandArgs } from './dispute-commands';
import { json, table } from './format';
import { callGateway, query, type DeskSession } from './gateway-client';

interface Version {
  version: number;
  recorded_at: string;
  actor: string;
  data: Record<string, unknown>;
}

const opt = (a: CommandArgs, name: string): string | undefined => (typeof a.options[name] === 'string' ? (a.options[name] as string) : undefined);

function need(a: CommandArgs, name: string): string {
  const v = opt(a, name);
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const versionRows = (versions: Version[], fields: string[]) =>
  table(['v', 'recorded at', 'by', ...fields], versions.map((v) => [v.version, v.recorded_at, v.actor, ...fields.map((f) => (Array.isArray(v.data[f]) ? (v.data[f] as string[]).join(',') : (v.data[f] as string | null | undefined)))]));

const change = (r: { streamId: string; appended: boolean; version?: number }) => [`${r.appended ? 'recorded' : 'unchanged (already in force)'}: ${r.streamId}${r.version ? ` version ${r.version}` : ''}`];

/** Rates and products from a terminal: the same staff API as the back office (changes need `rates:write`). */
export const ratesCommands: Record<string, (s: DeskSession, a: CommandArgs, raw: boolean) => Promise<string[]>> = {
  async products(s, _a, raw) {
    const r = await callGateway<{ today: string; products: { product_id: string; in_force: Version | null; versions: Version[] }[] }>(s, 'GET', '/api/staff/rates/products');
    if (raw) return json(r);
    return r.products.flatMap((p) => [
      `${p.product_id}: in force ${r.today}: v${p.in_force?.version ?? '-'}`,
      ...versionRows(p.versions, ['name', 'validFrom', 'validTo', 'marginDkkPerKwh', 'monthlySubscriptionDkk', 'exportFeeDkkPerKwh', 'billingFrequencies']).map((l) => `  ${l}`),
    ]);
  },

  async 'define-product'(s, a, raw) {
    const r = await callGateway<{ streamId: string; appended: boolean; version: number }>(s, 'POST', '/api/staff/rates/products', {
      product_id: a.positionals[0] ?? need(a, 'product'),
      name: need(a, 'name'),
      margin_dkk_per_kwh: need(a, 'margin'),
      monthly_subscription_dkk: need(a, 'subscription'),
      valid_from: need(a, 'valid-from'),
      ...(opt(a, 'valid-to') ? { valid_to: opt(a, 'valid-to') } : {}),
      ...(opt(a, 'export-fee') ? { export_fee_dkk_per_kwh: opt(a, 'export-fee') } : {}),
      ...(opt(a, 'billing') ? { billing_frequencies: opt(a, 'billing')!.split(',') } : {}),
    });
    return raw ? json(r) : change(r);
  },

  async 'tax-rates'(s, _a, raw) {
    const r = await callGateway<{ versions: Version[] }>(s, 'GET', '/api/staff/rates/tax-rates');
    return raw ? json(r) : versionRows(r.versions, ['validFrom', 'validTo', 'normalDkkPerKwh', 'reducedDkkPerKwh']);
  },

  async 'set-tax-rate'(s, a, raw) {
    const r = await callGateway<{ streamId: string; appended: boolean; version: number }>(s, 'POST', '/api/staff/rates/tax-rates', {
      valid_from: need(a, 'valid-from'),
      valid_to: opt(a, 'valid-to') ?? null,
      normal_dkk_per_kwh: need(a, 'normal'),
      reduced_dkk_per_kwh: need(a, 'reduced'),
    });
    return raw ? json(r) : change(r);
  },

  async 'grid-areas'(s, _a, raw) {
    const r = await callGateway<{ grid_areas: { grid_area: string; versions: Version[] }[] }>(s, 'GET', '/api/staff/rates/grid-areas');
    return raw ? json(r) : r.grid_areas.flatMap((g) => [`grid area ${g.grid_area}:`, ...versionRows(g.versions, ['priceArea', 'gridCompanyGln', 'gridTariffChargeId', 'gridSubscriptionChargeId']).map((l) => `  ${l}`)]);
  },

  async 'map-grid-area'(s, a, raw) {
    const r = await callGateway<{ streamId: string; appended: boolean; version: number }>(s, 'POST', '/api/staff/rates/grid-areas', {
      grid_area: a.positionals[0] ?? need(a, 'grid-area'),
      price_area: need(a, 'price-area'),
      grid_company_gln: need(a, 'gln'),
      grid_tariff_charge_id: need(a, 'tariff'),
      grid_subscription_charge_id: need(a, 'subscription-charge'),
    });
    return raw ? json(r) : change(r);
  },

  async 'charge-versions'(s, a, raw) {
    const id = a.positionals[0];
    if (id === undefined) throw new Error('missing charge id (GLN:Dxx:CODE)');
    const r = await callGateway<{ versions: (Version & { data: { rows: { validFrom: string; validTo: string | null; prices: string[]; manual?: { reason: string } }[]; correction?: { reason: string } } })[] }>(
      s,
      'GET',
      `/api/staff/rates/charges/${encodeURIComponent(id)}/versions`,
    );
    if (raw) return json(r);
    return r.versions.flatMap((v) => [
      `v${v.version} ${v.recorded_at} by ${v.actor}${v.data.correction ? ` — corrected by hand: ${v.data.correction.reason}` : ''}`,
      ...v.data.rows.map((row) => `  ${row.validFrom}..${row.validTo ?? ''}  ${row.prices.length === 1 ? row.prices[0] : row.prices.join(' ')}${row.manual ? '  (manual)' : ''}`),
    ]);
  },

  async 'spot-prices'(s, a, raw) {
    const r = await callGateway<{ versions: (Version & { data: { source: string; prices: { start: string; dkkPerMwh: string }[]; correction?: { reason: string } } })[] }>(
      s,
      'GET',
      `/api/staff/rates/spot-prices${query({ price_area: need(a, 'price-area'), date: need(a, 'date') })}`,
    );
    return raw ? json(r) : table(['v', 'recorded at', 'by', 'source', 'intervals', 'reason'], r.versions.map((v) => [v.version, v.recorded_at, v.actor, v.data.source, v.data.prices.length, v.data.correction?.reason]));
  },

  async 'correct-spot'(s, a, raw) {
    const prices = need(a, 'price').split(',').map((pair) => {
      const [start, dkkPerMwh] = pair.split('=');
      if (!start || !dkkPerMwh) throw new Error('--price takes <start instant>=<DKK/MWh>[,…]');
      return { start, dkk_per_mwh: dkkPerMwh };
    });
    const r = await callGateway<{ streamId: string; appended: boolean; version: number }>(s, 'POST', '/api/staff/rates/spot-prices/corrections', {
      price_area: need(a, 'price-area'),
      delivery_date: need(a, 'date'),
      prices,
      reason: need(a, 'why'),
    });
    return raw ? json(r) : change(r);
  },
};
