import type { EventStore } from '@dh/event-store';
import type { PriceArea } from '@dh/rates-domain';
import { CHARGE_PRICES_PUBLISHED, chargeStreamId, SPOT_PRICES_PUBLISHED, spotPricesStreamId, type ChargePricesPublished, type SpotPricesPublished } from './events';

/** Every version of a delivery day's spot prices, oldest first (`asOf`: only what was recorded by then). */
export async function spotPriceVersions(store: EventStore, priceArea: PriceArea, deliveryDate: string, asOf?: Date): Promise<SpotPricesPublished[]> {
  const events = await store.readStream(spotPricesStreamId(priceArea, deliveryDate), asOf === undefined ? {} : { asOf });
  // Only this module writes the stream, in the SpotPricesPublished shape.
  return events.filter((e) => e.type === SPOT_PRICES_PUBLISHED).map((e) => e.data as unknown as SpotPricesPublished);
}

/** Every version of a charge's price rows, oldest first. */
export async function chargePriceVersions(store: EventStore, chargeId: string, asOf?: Date): Promise<ChargePricesPublished[]> {
  const events = await store.readStream(chargeStreamId(chargeId), asOf === undefined ? {} : { asOf });
  return events.filter((e) => e.type === CHARGE_PRICES_PUBLISHED).map((e) => e.data as unknown as ChargePricesPublished);
}
