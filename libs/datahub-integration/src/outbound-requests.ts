import type { CimHeader, PartyId, RequestCancelChangeOfSupplier, RequestChangeOfSupplier, RequestEndOfSupply, RequestReallocateChangeOfSupplier } from '@dh/cim';
import { localDayStart } from '@dh/dk-time';

/** Our identity and DataHub's in the market (GLN, coding scheme A10). */
export interface MarketParties {
  supplierGln: string;
  dataHubGln: string;
}

/** What the portfolio tells us about the customer for the request; personal data, never logged. */
export interface CustomerIdentity {
  customerName: string;
  cpr: string | null;
  cvr: string | null;
}

/** A request the portfolio decided on, as read from its events. */
export type OutboundRequest =
  | { action: 'change-of-supplier' | 'move-in'; processId: string; gsrn: string; effectiveDate: string }
  | { action: 'end-of-supply' | 'move-out'; processId: string; gsrn: string; effectiveDate: string }
  | { action: 'incorrect-switch'; processId: string; gsrn: string; effectiveDate: string; reversedProcessId: string }
  | { action: 'cancel'; processId: string; gsrn: string; originalBusinessReason: string };

export type OutboundDocument = RequestChangeOfSupplier | RequestEndOfSupply | RequestReallocateChangeOfSupplier | RequestCancelChangeOfSupplier;

const BUSINESS_REASON = { 'change-of-supplier': 'E03', 'move-in': 'E65', 'end-of-supply': 'E20', 'move-out': 'E66' } as const;

const gln = (value: string): PartyId => ({ codingScheme: 'A10', value });
const isoSeconds = (instant: Date): string => instant.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The first instant of a Danish local date, as DataHub wants a start (skæringsdato) written. */
export const effectiveInstant = (localDate: string): string => isoSeconds(localDayStart(localDate));

function header<P extends string>(documentId: string, processType: P, parties: MarketParties, now: Date): CimHeader<P> {
  return {
    mRID: documentId,
    processType,
    businessSectorType: '23',
    sender: { id: gln(parties.supplierGln), role: 'DDQ' },
    receiver: { id: gln(parties.dataHubGln), role: 'DDZ' },
    createdDateTime: isoSeconds(now),
  };
}

/**
 * Builds the CIM request for a process. The transaction (MktActivityRecord) id is the process id,
 * so DataHub's answers point back at the process through `originalTransactionIDReference`.
 */
export function buildOutboundDocument(request: OutboundRequest, documentId: string, parties: MarketParties, now: Date, identity: CustomerIdentity | null): OutboundDocument {
  const supplier = gln(parties.supplierGln);
  switch (request.action) {
    case 'change-of-supplier':
    case 'move-in': {
      if (!identity) throw new Error(`Process ${request.processId}: a ${request.action} request needs the customer's identity`);
      const customerId = identity.cpr ? { codingScheme: 'ARR' as const, value: identity.cpr } : identity.cvr ? { codingScheme: 'VAT' as const, value: identity.cvr } : undefined;
      return {
        kind: 'RequestChangeOfSupplier',
        header: header(documentId, BUSINESS_REASON[request.action], parties, now),
        records: [
          {
            mRID: request.processId,
            meteringPointId: request.gsrn,
            energySupplier: supplier,
            ...(customerId ? { customerId } : {}),
            customerName: identity.customerName,
            start: effectiveInstant(request.effectiveDate),
          },
        ],
      };
    }
    case 'end-of-supply':
    case 'move-out':
      return {
        kind: 'RequestEndOfSupply',
        header: header(documentId, BUSINESS_REASON[request.action], parties, now),
        records: [{ mRID: request.processId, meteringPointId: request.gsrn, energySupplier: supplier, start: effectiveInstant(request.effectiveDate) }],
      };
    case 'incorrect-switch':
      return {
        kind: 'RequestReallocateChangeOfSupplier',
        header: header(documentId, 'D07', parties, now),
        records: [
          { mRID: request.processId, originalTransactionIDReference: request.reversedProcessId, meteringPointId: request.gsrn, energySupplier: supplier, start: effectiveInstant(request.effectiveDate) },
        ],
      };
    case 'cancel': {
      const reason = request.originalBusinessReason;
      if (reason !== 'E03' && reason !== 'E65' && reason !== 'E20' && reason !== 'E66') throw new Error(`Process ${request.processId}: ${reason} requests cannot be cancelled with RSM-002`);
      return {
        kind: 'RequestCancelChangeOfSupplier',
        header: header(documentId, reason, parties, now),
        records: [{ mRID: documentId, originalTransactionIDReference: request.processId, meteringPointId: request.gsrn, energySupplier: supplier }],
      };
    }
  }
}
