import { randomUUID } from 'node:crypto';
import { addDays, localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import type { JsonObject, RecordedEvent } from '@dh/event-store';
import type { CommandClient } from '@dh/messaging';
import { gsrnCheckDigit } from '@dh/market-ids';
import type { Infrastructure } from '@dh/platform';

/** Test data shared by the settlement service's integration tests. */
export const ENERGINET = '5790000432752';
export const RADIUS = '5790000705689';
export const PUBLISHED = '2025-06-01T00:00:00.000Z';
export const OCTOBER_2026 = { kind: 'month', year: 2026, month: 10 } as const;

/** A valid test GSRN (GS1 check digit) numbered n. */
export const gsrn = (n: number): string => {
  const body = `57131317400000${String(n).padStart(3, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};

export function days(from: LocalDate, toExclusive: LocalDate): LocalDate[] {
  const out: LocalDate[] = [];
  for (let d = from; d < toExclusive; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Hourly kWh for a range of local days as one RSM-012 series (positions from the first local midnight). */
export function meteredPayload(g: string, documentId: string, from: LocalDate, toExclusive: LocalDate, kwh: (hour: Date) => string): JsonObject {
  const hours = days(from, toExclusive).flatMap((d) => localDayIntervals(d, 'PT1H'));
  return {
    gsrn: g,
    documentId,
    receivedAt: '2026-11-02T08:00:00Z',
    resolution: 'PT1H',
    start: localDayStart(from).toISOString(),
    end: localDayStart(toExclusive).toISOString(),
    points: hours.map((h, i) => ({ position: i + 1, quantityKwh: kwh(h), quality: 'A04' })),
  };
}

/**
 * Small helpers over a test's infrastructure: append an input event as another context would, send a settlement command, count, read.
 * `options.now`: the business time appended events occurred at (default the wall clock), for tests on a business clock of their own.
 */
export function settlementTestHelpers(infra: () => Infrastructure, commands: () => CommandClient, options: { now?: () => Date } = {}) {
  const now = options.now ?? (() => new Date());
  const append = async (streamId: string, context: string, type: string, data: JsonObject): Promise<void> => {
    await infra().eventStore.appendToStream(
      streamId,
      [{ eventId: randomUUID(), type, data, metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context }, occurredAt: now() }],
      { expectedRevision: 'any' },
    );
  };
  return {
    append,
    send: async <T>(type: string, payload: JsonObject): Promise<T> => (await commands().send('settlement', type, payload, { actor: 'test', timeoutMs: 20_000 })) as T,
    count: async (sql: string): Promise<number> => Number((await infra().pool.query<{ n: string }>(sql)).rows[0]!.n),
    all: async (type: string): Promise<RecordedEvent[]> => (await infra().eventStore.readAll()).filter((e) => e.type === type),
    /** A charge price list as rates publishes it (one row from 2026-01-01). */
    charge: (owner: string, chargeType: string, code: string, description: string, resolution: string, prices: string[]) =>
      append(`charge-${owner}:${chargeType}:${code}`, 'rates', 'ChargePricesPublished', {
        chargeId: `${owner}:${chargeType}:${code}`,
        owner,
        gln: owner,
        chargeType,
        code,
        description,
        version: 1,
        publishedAt: PUBLISHED,
        rows: [{ validFrom: '2026-01-01', validTo: null, resolution, prices }],
      }),
  };
}

/** Grid area 791 (DK2, Radius) with flat tariffs and subscriptions of at most 2 decimals, so amounts are checkable by hand. */
export async function seedRadiusGridArea(helpers: ReturnType<typeof settlementTestHelpers>): Promise<void> {
  await helpers.append('grid-area-791', 'rates', 'GridAreaMapped', {
    gridArea: '791',
    priceArea: 'DK2',
    gridCompanyGln: RADIUS,
    gridTariffChargeId: `${RADIUS}:D03:DT_C_01`,
    gridSubscriptionChargeId: `${RADIUS}:D01:DA_C_F_01`,
  });
  await helpers.charge(RADIUS, 'D03', 'DT_C_01', 'Nettarif C', 'PT1H', Array.from({ length: 24 }, () => '0.30'));
  await helpers.charge(RADIUS, 'D01', 'DA_C_F_01', 'Netabonnement', 'P1M', ['30.00']);
  await helpers.charge(ENERGINET, 'D03', '41000', 'Systemtarif', 'P1D', ['0.07']);
  await helpers.charge(ENERGINET, 'D03', '40000', 'Transmissions nettarif', 'P1D', ['0.04']);
  await helpers.charge(ENERGINET, 'D01', '41004', 'Systemabonnement', 'P1M', ['15.00']);
}

/** An electricity tax rate (normal and reduced DKK/kWh) and the `spot` product (margin 0.05 DKK/kWh, 39.00 DKK a month), both from 2026-01-01. */
export async function seedTaxAndSpotProduct(helpers: ReturnType<typeof settlementTestHelpers>, tax: { normal: string; reduced: string }): Promise<void> {
  await helpers.append('electricity-tax', 'rates', 'ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: tax.normal, reducedDkkPerKwh: tax.reduced });
  await helpers.append('product-spot', 'rates', 'ProductDefined', { productId: 'spot', name: 'Spot', marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '39.00', validFrom: '2026-01-01' });
}

/** DK2 spot prices of 1.00 DKK/kWh in every local hour of the days from `from` up to `toExclusive`, one published day at a time. */
export async function seedFlatSpotPrices(helpers: ReturnType<typeof settlementTestHelpers>, from: LocalDate, toExclusive: LocalDate): Promise<void> {
  for (const day of days(from, toExclusive)) {
    await helpers.append(`spot-prices-DK2-${day}`, 'rates', 'SpotPricesPublished', {
      priceArea: 'DK2',
      deliveryDate: day,
      resolution: 'PT1H',
      source: 'test',
      version: 1,
      publishedAt: PUBLISHED,
      prices: localDayIntervals(day, 'PT1H').map((h) => ({ start: h.toISOString(), dkkPerMwh: '1000', dkkPerKwh: '1.00' })),
    });
  }
}

/**
 * A monthly, actually-paid `spot` supply in grid area 791 (DK2), from 2026-01-01 unless `from` is given, as portfolio's
 * metering-point stream records it (`at`: when it was recorded).
 */
export async function startSpotSupply(
  helpers: ReturnType<typeof settlementTestHelpers>,
  g: string,
  customerId: string,
  { from = '2026-01-01', at = '2025-12-01T10:00:00.000Z' }: { from?: string; at?: string } = {},
): Promise<void> {
  await helpers.append(`metering-point-${g}`, 'portfolio', 'SupplyStarted', {
    gsrn: g,
    processId: randomUUID(),
    customerId,
    startDate: from,
    productId: 'spot',
    gridArea: '791',
    priceArea: 'DK2',
    billingFrequency: 'monthly',
    paymentModel: 'actual',
    electricHeating: false,
    productionGsrn: null,
    at,
  });
}
