/** GLN (A10, 13 digits) or EIC (A01, 16 characters). */
export type PartyCodingScheme = 'A10' | 'A01';
export const PARTY_CODING_SCHEMES: readonly PartyCodingScheme[] = ['A10', 'A01'];

export interface PartyId {
  readonly codingScheme: PartyCodingScheme;
  readonly value: string;
}

export type MarketRole = 'DDQ' | 'DDM' | 'MDR' | 'DGL' | 'DDZ' | 'DDK' | 'DDX' | 'EZ' | 'STS' | 'DEL';
export const MARKET_ROLES: readonly MarketRole[] = ['DDQ', 'DDM', 'MDR', 'DGL', 'DDZ', 'DDK', 'DDX', 'EZ', 'STS', 'DEL'];

export interface MarketParticipant {
  readonly id: PartyId;
  readonly role: MarketRole;
}

/** The common CIM envelope (EDI CimXmlHeaderWriter order). Instants are kept as written ("…Z"). */
export interface CimHeader<P extends string = string> {
  readonly mRID: string;
  /** Business reason, e.g. E23 periodic metering, E03 change of supplier. */
  readonly processType: P;
  readonly businessSectorType: string;
  readonly sender: MarketParticipant;
  readonly receiver: MarketParticipant;
  readonly createdDateTime: string;
}

export interface TimeInterval {
  readonly start: string;
  readonly end: string;
}

export type MeteringPointType = 'E17' | 'E18' | 'E20' | `D${number}`;
/** D01 flex, E02 non-profiled. */
export type SettlementMethod = 'D01' | 'E02';
export const SETTLEMENT_METHODS: readonly SettlementMethod[] = ['D01', 'E02'];

/** A01 adjusted, A02 not available (missing), A03 estimated, A04 as provided (measured), A05 incomplete, A06 calculated. */
export type QualityCode = 'A01' | 'A02' | 'A03' | 'A04' | 'A05' | 'A06';
export const QUALITY_CODES: readonly QualityCode[] = ['A01', 'A02', 'A03', 'A04', 'A05', 'A06'];

export type SettlementVersion = 'D01' | 'D02' | 'D03';
export const SETTLEMENT_VERSIONS: readonly SettlementVersion[] = ['D01', 'D02', 'D03'];

/** D01 subscription, D02 fee, D03 tariff. */
export type ChargeTypeCode = 'D01' | 'D02' | 'D03';
export const CHARGE_TYPE_CODES: readonly ChargeTypeCode[] = ['D01', 'D02', 'D03'];

export interface Reason {
  readonly code: string;
  readonly text?: string;
}
