import { parseCimXml, writeCimXml } from '@dh/cim';
import { buildOutboundDocument, effectiveInstant } from './outbound-requests';

const parties = { supplierGln: '5799999933318', dataHubGln: '5790001330552' };
const now = new Date('2026-03-20T09:15:00.123Z');

describe('buildOutboundDocument', () => {
  it('writes the effective date as the first instant of the Danish day, summer and winter', () => {
    expect(effectiveInstant('2026-03-21')).toBe('2026-03-20T23:00:00Z');
    expect(effectiveInstant('2026-04-01')).toBe('2026-03-31T22:00:00Z');
  });

  it('builds an RSM-001 for BRS-001 whose transaction id is the process id, and it survives a CIM round trip', () => {
    const doc = buildOutboundDocument(
      { action: 'change-of-supplier', processId: 'a4c1e7de-2d8f-4a4f-9d55-1e0f2c7b9a10', gsrn: '571313180400000018', effectiveDate: '2026-03-22' },
      'doc-1',
      parties,
      now,
      { customerName: 'Anna Hansen', cpr: '0101901234', cvr: null },
    );
    expect(doc).toMatchObject({
      kind: 'RequestChangeOfSupplier',
      header: { mRID: 'doc-1', processType: 'E03', sender: { role: 'DDQ' }, receiver: { role: 'DDZ' }, createdDateTime: '2026-03-20T09:15:00Z' },
      records: [{ mRID: 'a4c1e7de-2d8f-4a4f-9d55-1e0f2c7b9a10', meteringPointId: '571313180400000018', customerId: { codingScheme: 'ARR', value: '0101901234' }, start: '2026-03-21T23:00:00Z' }],
    });
    expect(parseCimXml(writeCimXml(doc))).toEqual(doc);
  });

  it('uses E65 for a move-in, E20/E66 for end of supply and move-out, and D07 for an incorrect switch', () => {
    const identity = { customerName: 'Solcelle ApS', cpr: null, cvr: '13585628' };
    const base = { processId: 'p-1', gsrn: '571313180400000018', effectiveDate: '2026-05-01' };
    expect(buildOutboundDocument({ action: 'move-in', ...base }, 'd', parties, now, identity).header.processType).toBe('E65');
    expect(buildOutboundDocument({ action: 'end-of-supply', ...base }, 'd', parties, now, null)).toMatchObject({ kind: 'RequestEndOfSupply', header: { processType: 'E20' } });
    expect(buildOutboundDocument({ action: 'move-out', ...base }, 'd', parties, now, null).header.processType).toBe('E66');
    expect(buildOutboundDocument({ action: 'incorrect-switch', reversedProcessId: 'p-0', ...base }, 'd', parties, now, null)).toMatchObject({
      kind: 'RequestReallocateChangeOfSupplier',
      records: [{ originalTransactionIDReference: 'p-0' }],
    });
  });

  it('cancels a pending request with RSM-002 pointing at the original transaction', () => {
    const doc = buildOutboundDocument({ action: 'cancel', processId: 'p-9', gsrn: '571313180400000018', originalBusinessReason: 'E03' }, 'd-9', parties, now, null);
    expect(doc).toMatchObject({ kind: 'RequestCancelChangeOfSupplier', header: { processType: 'E03' }, records: [{ originalTransactionIDReference: 'p-9' }] });
  });

  it('refuses a switch without the customer identity', () => {
    expect(() => buildOutboundDocument({ action: 'move-in', processId: 'p-2', gsrn: '571313180400000018', effectiveDate: '2026-05-01' }, 'd', parties, now, null)).toThrow(
      "Process p-2: a move-in request needs the customer's identity",
    );
  });
});
