import { startCollectionSimulator, type RunningCollectionSimulator } from './index';

describe('collection agency simulator over HTTP', () => {
  let sim: RunningCollectionSimulator;
  const KEY = 'creditor-key-1';
  const auth = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' };
  const body = {
    creditorCaseId: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
    currency: 'DKK',
    debtor: { customerId: 'customer-1' },
    claims: [{ invoiceId: 'inv-1', reference: '+71<000000000000018', dueDate: '2026-11-14', principal: '1000.00', fees: '300.00', interest: '12.34', amount: '1312.34' }],
    total: '1312.34',
  };
  const post = (b: unknown, headers: Record<string, string> = auth) => fetch(`${sim.url}/v1/cases`, { method: 'POST', headers, body: JSON.stringify(b) });

  beforeEach(async () => {
    sim = await startCollectionSimulator({ apiKey: KEY });
  });
  afterEach(() => sim.stop());

  it('takes a case once: the same case again answers the first handover, other claims under the same id are refused', async () => {
    const first = await post(body);
    expect(first.status).toBe(201);
    const created = (await first.json()) as { caseReference: string };
    expect(created).toMatchObject({ caseReference: 'INK-000001', creditorCaseId: body.creditorCaseId, status: 'open', total: '1312.34' });
    const again = await post(body);
    expect([again.status, ((await again.json()) as { caseReference: string }).caseReference]).toEqual([200, 'INK-000001']);
    const other = await post({ ...body, claims: [{ ...body.claims[0], fees: '0.00', amount: '1012.34' }], total: '1012.34' });
    expect([other.status, ((await other.json()) as { code: string }).code]).toEqual([409, 'case-conflict']);
    expect(sim.control.cases()).toHaveLength(1);
  });

  it('refuses a case whose sums do not add up, bad amounts, and callers without the key', async () => {
    expect((await post({ ...body, total: '1.00' })).status).toBe(400);
    expect((await post({ ...body, claims: [{ ...body.claims[0], amount: '1312.35' }], total: '1312.35' })).status).toBe(400);
    expect((await post({ ...body, claims: [{ ...body.claims[0], principal: '-1.00' }] })).status).toBe(400);
    expect((await post(body, { 'Content-Type': 'application/json' })).status).toBe(401);
    expect((await post(body, { ...auth, Authorization: 'Bearer wrong' })).status).toBe(401);
    expect(sim.control.cases()).toHaveLength(0);
  });

  it('reports payments, write-offs and closure in a feed read with a cursor; 503 bursts when told', async () => {
    const { caseReference } = (await (await post(body)).json()) as { caseReference: string };
    sim.control.collect(caseReference, '500.00', '2027-01-10');
    sim.control.writeOff(caseReference, '812.34', '2027-02-01', 'debtor without means');
    sim.control.close(caseReference, '2027-02-01');
    const feed = async (after: number, limit = 2) => (await (await fetch(`${sim.url}/v1/events?after=${after}&limit=${limit}`, { headers: auth })).json()) as { events: { sequence: number; type: string }[]; last: number };
    const page1 = await feed(0);
    expect(page1.events.map((e) => e.type)).toEqual(['payment', 'write-off']);
    const page2 = await feed(page1.last);
    expect(page2).toEqual({ events: [expect.objectContaining({ sequence: 3, type: 'closed', caseReference })], last: 3 });
    expect(await feed(3)).toEqual({ events: [], last: 3 });
    sim.control.setFaults({ unavailable: 1 });
    const refused = await fetch(`${sim.url}/v1/events`, { headers: auth });
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '1']);
    expect((await fetch(`${sim.url}/v1/events`, { headers: auth })).status).toBe(200);
    expect(() => sim.control.collect(caseReference, '1.00', '2027-02-02')).toThrow(/closed/);
  });
});
