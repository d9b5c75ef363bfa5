import type { CimHeader, RequestCancelChangeOfSupplier, RequestChangeOfSupplier } from '@dh/cim';

export const OUR_GLN = '5799999933318';
export const OTHER_GLN = '5791111111116';
export const DATAHUB_GLN = '5790001330552';
export const OUR_CLIENT = { clientId: 'our-supplier', clientSecret: 'our-secret' } as const;
/** Consumption, flex, PT15M, DK1. */
export const MP_A = '571313180400000018';
/** Rejected by the scenario with D16 on a change of supplier. */
export const MP_REJECTED = '571313180400000025';
/** PT1H, supplied by the other supplier from the start of the scenario. */
export const MP_OTHER = '571313180400000032';
/** Handed to us by a forced switch (BRS-044) when the scenario says so. */
export const MP_FORCED = '571313180400000049';
export const MP_UNKNOWN = '571313180400000063';

export interface TestScenarioOptions {
  readonly start?: string;
  readonly forcedSwitchDate?: string;
  readonly ourSupplyFrom?: string;
}

/** The scenario JSON the tests run against. */
export function testScenario(options: TestScenarioOptions = {}): Record<string, unknown> {
  return {
    seed: 'test-seed-1',
    start: options.start ?? '2026-03-20T09:00:00Z',
    datahubGln: DATAHUB_GLN,
    tokenLifetimeSeconds: 3600,
    leadTimeDays: 1,
    clients: [
      { clientId: OUR_CLIENT.clientId, clientSecret: OUR_CLIENT.clientSecret, gln: OUR_GLN },
      { clientId: 'other-supplier', clientSecret: 'other-secret', gln: OTHER_GLN },
    ],
    meteringPoints: [
      { gsrn: MP_A, gridArea: '804', priceArea: 'DK1', type: 'E17', settlementMethod: 'D01', profile: { annualKwh: 4000, shape: 'household' }, ...(options.ourSupplyFrom ? { supply: { supplierGln: OUR_GLN, from: options.ourSupplyFrom } } : {}) },
      { gsrn: MP_REJECTED, gridArea: '804', priceArea: 'DK1', type: 'E17', profile: { annualKwh: 3000 } },
      { gsrn: MP_OTHER, gridArea: '131', priceArea: 'DK2', type: 'E17', settlementMethod: 'E02', resolution: 'PT1H', profile: { annualKwh: 2500, shape: 'flat' }, supply: { supplierGln: OTHER_GLN, from: '2026-01-01' } },
      { gsrn: MP_FORCED, gridArea: '131', priceArea: 'DK2', type: 'E18', profile: { annualKwh: 6000, shape: 'solar' } },
    ],
    rejections: [{ gsrn: MP_REJECTED, reasonCode: 'D16', text: 'Rejected by scenario', processType: 'E03' }],
    forcedSwitches: options.forcedSwitchDate ? [{ gsrn: MP_FORCED, supplierGln: OUR_GLN, effectiveDate: options.forcedSwitchDate }] : [],
  };
}

function header<P extends string>(processType: P, mRID: string, created: string): CimHeader<P> {
  return {
    mRID,
    processType,
    businessSectorType: '23',
    sender: { id: { codingScheme: 'A10', value: OUR_GLN }, role: 'DDQ' },
    receiver: { id: { codingScheme: 'A10', value: DATAHUB_GLN }, role: 'DDZ' },
    createdDateTime: created,
  };
}

/** RSM-001 (BRS-001, E03) for one metering point from `start` (a UTC instant at a Copenhagen midnight). */
export function changeOfSupplier(gsrn: string, start: string, id: string): RequestChangeOfSupplier {
  return {
    kind: 'RequestChangeOfSupplier',
    header: header('E03', `doc-${id}`, '2026-03-20T09:00:00Z'),
    records: [{ mRID: `tx-${id}`, meteringPointId: gsrn, energySupplier: { codingScheme: 'A10', value: OUR_GLN }, customerId: { codingScheme: 'ARR', value: '0101801234' }, customerName: 'Test Kunde', start }],
  };
}

/** RSM-001 with business reason E65 (BRS-009 move-in) for one metering point from `start`. */
export function moveIn(gsrn: string, start: string, id: string): RequestChangeOfSupplier {
  return { ...changeOfSupplier(gsrn, start, id), header: header('E65', `doc-${id}`, '2026-03-20T09:00:00Z') };
}

/** RSM-002 cancelling the pending BRS-001 transaction `tx-{original}`. */
export function cancelChangeOfSupplier(gsrn: string, original: string, id: string): RequestCancelChangeOfSupplier {
  return {
    kind: 'RequestCancelChangeOfSupplier',
    header: header('E03', `doc-${id}`, '2026-03-20T09:05:00Z'),
    records: [{ mRID: `tx-${id}`, originalTransactionIDReference: `tx-${original}`, meteringPointId: gsrn, energySupplier: { codingScheme: 'A10', value: OUR_GLN } }],
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

async function raw(response: Response): Promise<RawResponse> {
  return { status: response.status, headers: response.headers, body: await response.text() };
}

export async function requestToken(baseUrl: string, clientId: string = OUR_CLIENT.clientId, clientSecret: string = OUR_CLIENT.clientSecret): Promise<RawResponse> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'sim/.default' });
  return raw(await fetch(`${baseUrl}/oauth2/v2.0/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body }));
}

export async function accessToken(baseUrl: string, clientId?: string, clientSecret?: string): Promise<string> {
  const response = await requestToken(baseUrl, clientId, clientSecret);
  if (response.status !== 200) throw new Error(`token: ${response.status} ${response.body}`);
  return (JSON.parse(response.body) as { access_token: string }).access_token;
}

export async function peek(baseUrl: string, token: string, category: string, format: 'xml' | 'json' = 'xml'): Promise<RawResponse> {
  return raw(await fetch(`${baseUrl}/v1.0/cim/peek/${category}`, { headers: { Authorization: `Bearer ${token}`, 'Content-Type': `application/${format}` } }));
}

export async function dequeue(baseUrl: string, token: string, messageId: string): Promise<RawResponse> {
  return raw(await fetch(`${baseUrl}/v1.0/cim/dequeue/${encodeURIComponent(messageId)}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } }));
}

export async function post(baseUrl: string, token: string, documentType: string, body: string, format: 'xml' | 'json' = 'xml'): Promise<RawResponse> {
  return raw(await fetch(`${baseUrl}/v1.0/cim/${documentType}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': `application/${format}` }, body }));
}

/** Peeks and dequeues every message of a category, returning the bodies in delivery order. */
export async function drain(baseUrl: string, token: string, category: string, format: 'xml' | 'json' = 'xml'): Promise<{ messageId: string; body: string }[]> {
  const out: { messageId: string; body: string }[] = [];
  for (;;) {
    const r = await peek(baseUrl, token, category, format);
    if (r.status === 204) return out;
    if (r.status !== 200) throw new Error(`peek ${category}: ${r.status} ${r.body}`);
    const messageId = r.headers.get('MessageId');
    if (!messageId) throw new Error('peek without MessageId');
    out.push({ messageId, body: r.body });
    const d = await dequeue(baseUrl, token, messageId);
    if (d.status !== 200) throw new Error(`dequeue ${messageId}: ${d.status}`);
  }
}

/** A grid company and Energinet (tax) as charge owners in the reconciliation tests. */
export const GRID_OWNER_GLN = '5790001089030';
export const ENERGINET_GLN = '5790000432752';

/** The price list the reconciliation tests settle: every kind of charge DataHub settles (hourly and daily tariffs, subscription, fee, tax). */
export const TEST_CHARGES = [
  { code: 'CD', ownerGln: GRID_OWNER_GLN, type: 'D03', price: '0.2', hourlyPrices: Array.from({ length: 24 }, (_, h) => (h >= 17 && h < 21 ? '0.6123' : '0.2041')) },
  { code: 'CE', ownerGln: GRID_OWNER_GLN, type: 'D03', price: '0.1', resolution: 'P1D' },
  { code: 'ABON', ownerGln: GRID_OWNER_GLN, type: 'D01', price: '21.25' },
  { code: 'GEBYR', ownerGln: GRID_OWNER_GLN, type: 'D02', price: '150' },
  { code: 'EA-001', ownerGln: ENERGINET_GLN, type: 'D03', price: '0.008', tax: true },
] as const;

/** The links most metering points of those tests have: hourly grid tariff, subscription, tax. */
export const BASIC_LINKS = [
  { code: 'CD', ownerGln: GRID_OWNER_GLN, type: 'D03' },
  { code: 'ABON', ownerGln: GRID_OWNER_GLN, type: 'D01' },
  { code: 'EA-001', ownerGln: ENERGINET_GLN, type: 'D03' },
] as const;
