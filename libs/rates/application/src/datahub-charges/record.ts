import { handleCommand, type Decider, type EventStore, type JsonObject } from '@dh/event-store';
import { chargeLinkIdentity } from '@dh/rates-domain';
import { ratesMetadata, type RatesCommandContext } from '../events';
import { canonicalJson } from '../versioned-append';
import {
  CHARGE_INFORMATION_RECORDED,
  CHARGE_LINKS_RECORDED,
  CHARGE_PRICES_RECORDED,
  chargeLinksStreamId,
  priceListStreamId,
  type ChargeInformationRecorded,
  type ChargeLinkData,
  type ChargeLinksRecorded,
  type ChargePricesRecorded,
} from '@dh/rates-domain';
import { chargeLinksOf, priceListOf, sourceOf } from './received';

type Recorded = { type: string; data: JsonObject };
const asData = (value: object): JsonObject => JSON.parse(JSON.stringify(value)) as JsonObject;
const same = (a: object, b: object): boolean => canonicalJson(asData(a)) === canonicalJson(asData(b));

/** Links in force per identity (charge, start): what a repeated RSM-031 is compared with. */
const linksDecider: Decider<ChargeLinksRecorded, Map<string, ChargeLinkData>, Recorded> = {
  initialState: new Map(),
  evolve(state, event) {
    const next = new Map(state);
    for (const link of (event.data as unknown as ChargeLinksRecorded).links) next.set(chargeLinkIdentity(link), link);
    return next;
  },
  decide(command, state) {
    const changed = command.links.filter((link) => {
      const known = state.get(chargeLinkIdentity(link));
      return known === undefined || !same(known, link);
    });
    return changed.length === 0 ? [] : [{ type: CHARGE_LINKS_RECORDED, data: asData({ ...command, links: changed }) }];
  },
};

interface PriceListState {
  information: Map<string, Omit<ChargeInformationRecorded, 'source'>>;
}
type PriceListCommand = { information: ChargeInformationRecorded | null; prices: ChargePricesRecorded | null };

const withoutSource = <T extends { source: unknown }>(value: T): Omit<T, 'source'> => {
  const { source: _source, ...rest } = value;
  return rest;
};

/** Master data per start date (a repeated D18 appends nothing); every price series is kept, the latest wins where they overlap. */
const priceListDecider: Decider<PriceListCommand, PriceListState, Recorded> = {
  initialState: { information: new Map() },
  evolve(state, event) {
    if (event.type !== CHARGE_INFORMATION_RECORDED) return state;
    const info = withoutSource(event.data as unknown as ChargeInformationRecorded);
    return { information: new Map(state.information).set(info.from, info) };
  },
  decide(command, state) {
    const events: Recorded[] = [];
    if (command.information !== null) {
      const known = state.information.get(command.information.from);
      if (known === undefined || !same(known, withoutSource(command.information))) events.push({ type: CHARGE_INFORMATION_RECORDED, data: asData(command.information) });
    }
    if (command.prices !== null) events.push({ type: CHARGE_PRICES_RECORDED, data: asData(command.prices) });
    return events;
  },
};

export interface RecordChargeLinksResult {
  gsrn: string;
  /** Links that were new or changed (0: DataHub repeated what we knew). */
  recorded: number;
  alreadyRecorded: boolean;
}

/**
 * Records the links of one RSM-031 record (`ChargeLinksReceived`) on `charge-links-<gsrn>`. `messageKey`
 * (the inbound event's id) makes a redelivered message append nothing; links we already know as they
 * are append nothing either.
 */
export async function recordChargeLinks(store: EventStore, received: JsonObject, messageKey: string, context: RatesCommandContext): Promise<RecordChargeLinksResult> {
  const { gsrn, links } = chargeLinksOf(received);
  const result = await handleCommand({
    store,
    streamId: chargeLinksStreamId(gsrn),
    decider: linksDecider,
    command: { gsrn, links, source: sourceOf(received) },
    metadata: ratesMetadata(context),
    now: context.now,
    idempotencyKey: `datahub:${messageKey}`,
  });
  const recorded = result.events.reduce((n, e) => n + (e.data as unknown as ChargeLinksRecorded).links.length, 0);
  return { gsrn, recorded, alreadyRecorded: result.alreadyHandled };
}

export interface RecordPriceListResult {
  chargeId: string;
  information: boolean;
  prices: boolean;
  alreadyRecorded: boolean;
}

/** Records one charge of an RSM-034 record (`PriceListReceived`) on `price-list-<chargeId>`. */
export async function recordPriceList(store: EventStore, received: JsonObject, messageKey: string, context: RatesCommandContext): Promise<RecordPriceListResult> {
  const { chargeId, information, prices } = priceListOf(received);
  const source = sourceOf(received);
  const result = await handleCommand({
    store,
    streamId: priceListStreamId(chargeId),
    decider: priceListDecider,
    command: { information: information && { ...information, source }, prices: prices && { ...prices, source } },
    metadata: ratesMetadata(context),
    now: context.now,
    idempotencyKey: `datahub:${messageKey}`,
  });
  return {
    chargeId,
    information: result.events.some((e) => e.type === CHARGE_INFORMATION_RECORDED),
    prices: result.events.some((e) => e.type === CHARGE_PRICES_RECORDED),
    alreadyRecorded: result.alreadyHandled,
  };
}
