import { parseCimXml, writeCimXml } from '@dh/cim';
import { buildResultsRequest } from './results-requests';

const parties = { supplierGln: '5799999933318', dataHubGln: '5790001330552' };
const request = { requestId: '0b9c5a3e-2f4e-4a4c-9a1e-3c1d2b4a5e6f', gridArea: '804', start: '2026-09-30T22:00:00.000Z', end: '2026-10-31T23:00:00.000Z', settlementVersion: null };

describe('RSM-016/017 for reconciliation', () => {
  it('asks for our aggregated energy (RSM-016) with the request id as the transaction DataHub answers', () => {
    const doc = buildResultsRequest({ ...request, kind: 'energy', businessReason: 'D04' }, parties, new Date('2026-11-02T08:00:00Z'));
    const parsed = parseCimXml(writeCimXml(doc));
    expect(parsed).toMatchObject({
      kind: 'RequestAggregatedMeasureData',
      header: { processType: 'D04', sender: { id: { value: parties.supplierGln }, role: 'DDQ' }, receiver: { id: { value: parties.dataHubGln }, role: 'DDZ' } },
      series: [{ mRID: request.requestId, start: '2026-09-30T22:00:00Z', end: '2026-10-31T23:00:00Z', meteringGridArea: '804', energySupplier: { value: parties.supplierGln } }],
    });
  });

  it('asks for a correction settlement (RSM-017, D32 with its settlement version); the same request gives the same document id', () => {
    const at = new Date('2026-11-02T08:00:00Z');
    const doc = buildResultsRequest({ ...request, kind: 'wholesale', businessReason: 'D32', settlementVersion: 'D02' }, parties, at);
    expect(parseCimXml(writeCimXml(doc))).toMatchObject({ kind: 'RequestWholesaleSettlement', header: { processType: 'D32' }, series: [{ mRID: request.requestId, settlementVersion: 'D02', chargeTypes: [] }] });
    expect(buildResultsRequest({ ...request, kind: 'wholesale', businessReason: 'D32', settlementVersion: 'D02' }, parties, at).header.mRID).toBe(doc.header.mRID);
  });
});
