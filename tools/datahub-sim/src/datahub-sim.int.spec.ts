import {
  CimParseError,
  parseCimJson,
  parseCimXml,
  writeCimJson,
  writeCimXml,
  type AccountingPointCharacteristics,
  type CimDocument,
  type GenericNotification,
  type MarketResponse,
  type NotifyAggregatedMeasureData,
  type NotifyValidatedMeasureData,
  type NotifyWholesaleServices,
} from '@dh/cim';
import { startDataHubSimulator, type RunningDataHubSimulator } from './index';
import {
  accessToken,
  cancelChangeOfSupplier,
  changeOfSupplier,
  dequeue,
  drain,
  MP_A,
  MP_FORCED,
  MP_OTHER,
  MP_REJECTED,
  MP_UNKNOWN,
  OTHER_GLN,
  OUR_GLN,
  peek,
  post,
  requestToken,
  testScenario,
  type TestScenarioOptions,
} from './testing/support';

function expectKind<K extends CimDocument['kind']>(doc: CimDocument, kind: K): Extract<CimDocument, { kind: K }> {
  expect(doc.kind).toBe(kind);
  return doc as Extract<CimDocument, { kind: K }>;
}

function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

const sum = (xs: readonly (string | undefined)[]): number => xs.reduce((a, q) => a + Math.round(Number(q ?? '0') * 1000), 0);

describe('DataHub simulator over HTTP', () => {
  let sim: RunningDataHubSimulator;
  let token: string;

  async function start(options: TestScenarioOptions = {}): Promise<void> {
    sim = await startDataHubSimulator({ port: 0, scenario: testScenario(options) });
    token = await accessToken(sim.url);
  }

  afterEach(async () => {
    await sim.stop();
  });

  async function sendSwitch(gsrn: string, startInstant: string, id: string, format: 'xml' | 'json' = 'xml'): Promise<void> {
    const doc = changeOfSupplier(gsrn, startInstant, id);
    const r = await post(sim.url, token, 'requestchangeofsupplier', format === 'xml' ? writeCimXml(doc) : writeCimJson(doc), format);
    expect(r.status).toBe(202);
  }

  async function masterdata(): Promise<CimDocument[]> {
    return (await drain(sim.url, token, 'masterdata')).map((m) => parseCimXml(m.body));
  }

  describe('token endpoint', () => {
    beforeEach(() => start());

    it('issues a signed JWT with exp for a known client and rejects unknown clients and wrong secrets', async () => {
      const ok = await requestToken(sim.url);
      expect(ok.status).toBe(200);
      const body = JSON.parse(ok.body) as { access_token: string; token_type: string; expires_in: number };
      expect(body.token_type).toBe('Bearer');
      expect(body.expires_in).toBe(3600);
      const header = JSON.parse(Buffer.from(body.access_token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg: string };
      expect(header.alg).toBe('HS256');
      const claims = decodeJwtPayload(body.access_token);
      expect(claims['azp']).toBe('our-supplier');
      expect(claims['exp']).toBe(Date.parse('2026-03-20T09:00:00Z') / 1000 + 3600);

      for (const [id, secret] of [
        ['nobody', 'x'],
        ['our-supplier', 'wrong-secret'],
      ] as const) {
        const denied = await requestToken(sim.url, id, secret);
        expect(denied.status).toBe(401);
        expect(JSON.parse(denied.body)).toMatchObject({ error: 'invalid_client' });
      }
    });

    it('rejects missing, forged and expired tokens with 401 and accepts a fresh one', async () => {
      expect((await peek(sim.url, token, 'masterdata')).status).toBe(204);
      const missing = await fetch(`${sim.url}/v1.0/cim/peek/masterdata`, { headers: { 'Content-Type': 'application/xml' } });
      expect(missing.status).toBe(401);
      const [h, p] = token.split('.');
      const forged = `${h ?? ''}.${p ?? ''}.${Buffer.from('not-the-signature').toString('base64url')}`;
      expect((await peek(sim.url, forged, 'masterdata')).status).toBe(401);

      sim.control.advanceTo('2026-03-20T09:59:59Z');
      expect((await peek(sim.url, token, 'masterdata')).status).toBe(204);
      sim.control.advanceTo('2026-03-20T10:00:00Z');
      const expired = await peek(sim.url, token, 'masterdata');
      expect(expired.status).toBe(401);
      expect(expired.headers.get('WWW-Authenticate')).toContain('token expired');

      const fresh = await accessToken(sim.url);
      expect((await peek(sim.url, fresh, 'masterdata')).status).toBe(204);
    });
  });

  describe('peek and dequeue', () => {
    beforeEach(() => start());

    it('peek is idempotent until the message is dequeued; dequeue of an unknown id is 404; empty is 204', async () => {
      await sendSwitch(MP_A, '2026-03-31T22:00:00Z', 'p1');
      await sendSwitch(MP_A, '2026-04-30T22:00:00Z', 'p2');
      const first = await peek(sim.url, token, 'masterdata');
      // The body is rendered when the message is queued (XML) and kept: a JSON peek in between renders the same message as JSON.
      const asJson = await peek(sim.url, token, 'masterdata', 'json');
      const again = await peek(sim.url, token, 'masterdata');
      expect(asJson.headers.get('MessageId')).toBe(first.headers.get('MessageId'));
      expect(asJson.headers.get('Content-Type')).toContain('application/json');
      expect(expectKind(parseCimJson(asJson.body), 'MarketResponse').records[0]?.originalTransactionIDReference).toBe('tx-p1');
      expect((await peek(sim.url, token, 'masterdata', 'json')).body).toBe(asJson.body);
      expect(first.status).toBe(200);
      expect(first.headers.get('Content-Type')).toContain('application/xml');
      const id = first.headers.get('MessageId');
      expect(id).toBeTruthy();
      expect(again.headers.get('MessageId')).toBe(id);
      expect(again.body).toBe(first.body);
      const r1 = expectKind(parseCimXml(first.body), 'MarketResponse');
      expect(r1.records[0]?.originalTransactionIDReference).toBe('tx-p1');

      expect((await dequeue(sim.url, token, id ?? '')).status).toBe(200);
      expect((await dequeue(sim.url, token, id ?? '')).status).toBe(404);
      const second = await peek(sim.url, token, 'masterdata', 'json');
      expect(second.status).toBe(200);
      expect(second.headers.get('Content-Type')).toContain('application/json');
      expect(second.headers.get('MessageId')).not.toBe(id);
      expect(expectKind(parseCimJson(second.body), 'MarketResponse').records[0]?.originalTransactionIDReference).toBe('tx-p2');
      expect((await dequeue(sim.url, token, second.headers.get('MessageId') ?? '')).status).toBe(200);
      expect((await peek(sim.url, token, 'masterdata')).status).toBe(204);
    });

    it('answers 404 for an unknown category, 415 without a format, and keeps actors apart', async () => {
      expect((await peek(sim.url, token, 'nonsense')).status).toBe(404);
      const noFormat = await fetch(`${sim.url}/v1.0/cim/peek/masterdata`, { headers: { Authorization: `Bearer ${token}` } });
      expect(noFormat.status).toBe(415);
      // The other supplier's daily data is not visible to us; timeseries is an alias of measuredata.
      sim.control.advanceTo('2026-03-21T23:00:00Z');
      token = await accessToken(sim.url);
      expect((await peek(sim.url, token, 'timeseries')).status).toBe(204);
      const other = await accessToken(sim.url, 'other-supplier', 'other-secret');
      const theirs = await peek(sim.url, other, 'timeseries');
      expect(theirs.status).toBe(200);
      const rsm012 = expectKind(parseCimXml(theirs.body), 'NotifyValidatedMeasureData');
      expect(rsm012.series[0]?.meteringPointId).toBe(MP_OTHER);
      expect(rsm012.series[0]?.period.resolution).toBe('PT1H');
      expect(rsm012.series[0]?.period.points).toHaveLength(24);
      expect((await dequeue(sim.url, token, theirs.headers.get('MessageId') ?? '')).status).toBe(404);
    });
  });

  describe('BRS-001 change of supplier', () => {
    beforeEach(() => start());

    it('accepts a valid request (202, then a confirmation A01 in masterdata)', async () => {
      await sendSwitch(MP_A, '2026-03-31T22:00:00Z', 'ok', 'json');
      const [confirm, ...rest] = await masterdata();
      expect(rest).toHaveLength(0);
      const response = expectKind(confirm as CimDocument, 'MarketResponse');
      expect(response.documentName).toBe('ConfirmRequestChangeOfSupplier');
      expect(response.reasonCode).toBe('A01');
      expect(response.header.receiver.id.value).toBe(OUR_GLN);
      expect(response.records[0]).toMatchObject({ originalTransactionIDReference: 'tx-ok', meteringPointId: MP_A, start: '2026-03-31T22:00:00Z', reasons: [] });
    });

    it('rejects with the scenario reason code, an unknown metering point and a date inside the lead time', async () => {
      await sendSwitch(MP_REJECTED, '2026-03-31T22:00:00Z', 'scenario');
      await sendSwitch(MP_UNKNOWN, '2026-03-31T22:00:00Z', 'unknown');
      await sendSwitch(MP_A, '2026-03-19T23:00:00Z', 'today'); // 2026-03-20, the simulator's today
      await sendSwitch(MP_A, '2026-03-31T10:00:00Z', 'not-midnight');
      const answers = (await masterdata()).map((d) => expectKind(d, 'MarketResponse'));
      expect(answers.map((a) => [a.documentName, a.reasonCode, a.records[0]?.originalTransactionIDReference, a.records[0]?.reasons[0]?.code])).toEqual([
        ['RejectRequestChangeOfSupplier', 'A02', 'tx-scenario', 'D16'],
        ['RejectRequestChangeOfSupplier', 'A02', 'tx-unknown', 'E10'],
        ['RejectRequestChangeOfSupplier', 'A02', 'tx-today', 'E17'],
        ['RejectRequestChangeOfSupplier', 'A02', 'tx-not-midnight', 'E17'],
      ]);
      sim.control.advanceTo('2026-04-02T00:00:00Z');
      token = await accessToken(sim.url);
      expect(await masterdata()).toHaveLength(0);
      expect(sim.control.supplierAt(MP_A, '2026-04-01T12:00:00Z')).toBeUndefined();
    });

    it('answers 400 with an error body for a document that does not parse, a wrong endpoint or a duplicate document', async () => {
      const broken = await post(sim.url, token, 'requestchangeofsupplier', '<cim:RequestChangeOfSupplier_MarketDocument');
      expect(broken.status).toBe(400);
      expect(broken.body).toContain('<Code>MALFORMED_XML</Code>');
      const doc = writeCimXml(changeOfSupplier(MP_A, '2026-03-31T22:00:00Z', 'x'));
      const wrong = await post(sim.url, token, 'requestendofsupply', doc);
      expect(wrong.status).toBe(400);
      expect(wrong.body).toContain('DocumentTypeMismatch');
      expect((await post(sim.url, token, 'requestchangeofsupplier', doc)).status).toBe(202);
      const duplicate = await post(sim.url, token, 'requestchangeofsupplier', doc);
      expect(duplicate.status).toBe(400);
      expect(duplicate.body).toContain('DuplicateMessageId');
    });

    it('a cancellation (RSM-002) before the effective date is confirmed and nothing arrives afterwards', async () => {
      await sendSwitch(MP_A, '2026-03-31T22:00:00Z', 'to-cancel');
      const cancel = await post(sim.url, token, 'requestcancelchangeofsupplier', writeCimXml(cancelChangeOfSupplier(MP_A, 'to-cancel', 'cancel')));
      expect(cancel.status).toBe(202);
      const [confirmSwitch, confirmCancel] = (await masterdata()).map((d) => expectKind(d, 'MarketResponse'));
      expect(confirmSwitch?.documentName).toBe('ConfirmRequestChangeOfSupplier');
      expect(confirmCancel?.documentName).toBe('ConfirmRequestCancelChangeOfSupplier');
      expect(confirmCancel?.records[0]?.originalTransactionIDReference).toBe('tx-cancel');

      sim.control.advanceTo('2026-04-05T00:00:00Z');
      token = await accessToken(sim.url);
      expect(await masterdata()).toHaveLength(0);
      expect((await peek(sim.url, token, 'measuredata')).status).toBe(204);
      expect(sim.control.supplierAt(MP_A, '2026-04-02T00:00:00Z')).toBeUndefined();

      // Cancelling again (nothing pending any more) is rejected.
      expect((await post(sim.url, token, 'requestcancelchangeofsupplier', writeCimXml(cancelChangeOfSupplier(MP_A, 'to-cancel', 'cancel-2')))).status).toBe(202);
      const [late] = (await masterdata()).map((d) => expectKind(d, 'MarketResponse'));
      expect(late?.documentName).toBe('RejectRequestCancelChangeOfSupplier');
      expect(late?.records[0]?.reasons[0]?.code).toBe('D16');
    });
  });

  describe('effective-date delivery', () => {
    async function switchAndDeliver(effectiveLocalMidnightUtc: string, dayEndUtc: string): Promise<{ master: CimDocument[]; series: NotifyValidatedMeasureData[] }> {
      await sendSwitch(MP_A, effectiveLocalMidnightUtc, 'eff');
      sim.control.advanceTo(dayEndUtc);
      token = await accessToken(sim.url);
      const master = await masterdata();
      const series = (await drain(sim.url, token, 'measuredata')).map((m) => expectKind(parseCimXml(m.body), 'NotifyValidatedMeasureData'));
      return { master, series };
    }

    it('on 2026-03-29 (23 hours) delivers RSM-004 and RSM-022 at the start and an RSM-012 with 92 quarters at its end', async () => {
      await start({ start: '2026-03-20T09:00:00Z' });
      const { master, series } = await switchAndDeliver('2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z');
      expect(master.map((d) => d.kind)).toEqual(['MarketResponse', 'GenericNotification', 'AccountingPointCharacteristics']);
      const rsm004 = master[1] as GenericNotification;
      expect(rsm004.records[0]).toMatchObject({ validityStart: '2026-03-28T23:00:00Z', meteringPointId: MP_A, originalTransactionIDReference: 'tx-eff' });
      const rsm022 = master[2] as AccountingPointCharacteristics;
      expect(rsm022.records[0]?.meteringPoint).toMatchObject({ mRID: MP_A, type: 'E17', settlementMethod: 'D01', meteringGridArea: '804', energySupplier: { codingScheme: 'A10', value: OUR_GLN }, supplyStart: '2026-03-28T23:00:00Z' });
      expect(series).toHaveLength(1);
      const s = series[0]?.series[0];
      expect(s?.period.timeInterval).toEqual({ start: '2026-03-28T23:00:00Z', end: '2026-03-29T22:00:00Z' });
      expect(s?.period.points).toHaveLength(92);
      expect(s?.period.points.every((p) => /^\d+\.\d{3}$/.test(p.quantity ?? ''))).toBe(true);
      expect(sim.control.supplierAt(MP_A, '2026-03-29T12:00:00Z')).toBe(OUR_GLN);

      sim.control.advanceTo('2026-03-30T22:00:00Z');
      token = await accessToken(sim.url);
      const next = (await drain(sim.url, token, 'measuredata')).map((m) => expectKind(parseCimXml(m.body), 'NotifyValidatedMeasureData'));
      expect(next.map((d) => d.series[0]?.period.points.length)).toEqual([96]);
    });

    it('on 2026-10-25 (25 hours) delivers an RSM-012 with 100 quarters', async () => {
      await start({ start: '2026-10-20T09:00:00Z' });
      const { master, series } = await switchAndDeliver('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z');
      expect(master.map((d) => d.kind)).toEqual(['MarketResponse', 'GenericNotification', 'AccountingPointCharacteristics']);
      expect(series).toHaveLength(1);
      expect(series[0]?.series[0]?.period.timeInterval).toEqual({ start: '2026-10-24T22:00:00Z', end: '2026-10-25T23:00:00Z' });
      expect(series[0]?.series[0]?.period.points).toHaveLength(100);
    });

    it('a forced switch (BRS-044) hands us the metering point with RSM-004/RSM-022 (D31) and daily data, unasked', async () => {
      await start({ forcedSwitchDate: '2026-03-25' });
      sim.control.advanceTo('2026-03-25T23:00:00Z');
      token = await accessToken(sim.url);
      const master = await masterdata();
      expect(master.map((d) => [d.kind, 'processType' in d.header ? d.header.processType : undefined])).toEqual([
        ['GenericNotification', 'D31'],
        ['AccountingPointCharacteristics', 'D31'],
      ]);
      expect((master[1] as AccountingPointCharacteristics).records[0]?.meteringPoint).toMatchObject({ mRID: MP_FORCED, type: 'E18', meteringGridArea: '131' });
      const series = (await drain(sim.url, token, 'measuredata')).map((m) => expectKind(parseCimXml(m.body), 'NotifyValidatedMeasureData'));
      expect(series.map((d) => [d.series[0]?.meteringPointId, d.series[0]?.period.points.length])).toEqual([[MP_FORCED, 96]]);
    });

    it('monthly RSM-014 and RSM-019 add up to the daily RSM-012 quantities', async () => {
      await start({ start: '2026-02-01T06:00:00Z', ourSupplyFrom: '2026-02-01' });
      sim.control.advanceTo('2026-03-01T00:00:00Z'); // past local midnight 2026-02-28T23:00Z
      token = await accessToken(sim.url);
      const daily = (await drain(sim.url, token, 'measuredata')).map((m) => expectKind(parseCimXml(m.body), 'NotifyValidatedMeasureData'));
      expect(daily).toHaveLength(28);
      const dailyTotal = sum(daily.flatMap((d) => d.series[0]?.period.points.map((p) => p.quantity) ?? []));
      const monthly = (await drain(sim.url, token, 'aggregations')).map((m) => parseCimXml(m.body));
      expect(monthly.map((d) => d.kind)).toEqual(['NotifyAggregatedMeasureData', 'NotifyWholesaleServices']);
      const rsm014 = monthly[0] as NotifyAggregatedMeasureData;
      expect(rsm014.header.processType).toBe('D04');
      expect(rsm014.series).toHaveLength(1);
      expect(rsm014.series[0]).toMatchObject({ meteringGridArea: '804', meteringPointType: 'E17', settlementMethod: 'D01', version: '1' });
      // After the quarterly transition DataHub aggregates in quarters.
      expect(rsm014.series[0]?.period).toMatchObject({ resolution: 'PT15M' });
      expect(rsm014.series[0]?.period.points).toHaveLength(28 * 96);
      expect(sum(rsm014.series[0]?.period.points.map((p) => p.quantity) ?? [])).toBe(dailyTotal);
      const rsm019 = monthly[1] as NotifyWholesaleServices;
      expect(rsm019.header.processType).toBe('D05');
      const hourly = rsm019.series.filter((s) => s.period.resolution === 'PT1H');
      expect(hourly.map((s) => [s.chargeCode, s.chargeType, s.meteringPointType, s.settlementMethod, s.period.points.length])).toEqual([
        ['41000', 'D03', 'E17', 'D01', 28 * 24],
        ['40000', 'D03', 'E17', 'D01', 28 * 24],
      ]);
      expect(sum(hourly[0]!.period.points.map((p) => p.quantity))).toBe(dailyTotal);
      const monthlySums = rsm019.series.filter((s) => s.period.resolution === 'P1M' && s.chargeCode !== undefined);
      expect(monthlySums.map((s) => s.chargeCode)).toEqual(['41000', '40000']);
      const systemTariff = monthlySums[0]?.period.points[0]?.amount ?? '';
      const totals = rsm019.series.filter((s) => s.period.resolution === 'P1M' && s.chargeCode === undefined);
      expect(totals.map((s) => s.chargeOwner?.value ?? null)).toEqual(['5790000432752', null]);
      // amount = total kWh × 0.072 exactly (total has 3 decimals → amount has at most 6).
      expect(Math.round(Number(systemTariff) * 1e6)).toBe(dailyTotal * 72);
    });
  });

  describe('determinism', () => {
    it('the same scenario and clock give byte-identical messages and ids', async () => {
      const run = async (): Promise<string[]> => {
        await start({ forcedSwitchDate: '2026-03-22' });
        await sendSwitch(MP_A, '2026-03-21T23:00:00Z', 'd');
        sim.control.advanceTo('2026-03-23T23:30:00Z');
        token = await accessToken(sim.url);
        const out: string[] = [];
        for (const c of ['masterdata', 'measuredata', 'aggregations']) for (const m of await drain(sim.url, token, c, c === 'measuredata' ? 'json' : 'xml')) out.push(`${m.messageId}\n${m.body}`);
        await sim.stop();
        return out;
      };
      const first = await run();
      const second = await run();
      sim = await startDataHubSimulator({ port: 0, scenario: testScenario() }); // for afterEach
      expect(first.length).toBe(2 + 2 + 1 + 2 + 2); // confirm, 004+022 (ours), 004+022 (forced), RSM-012: 2 days × 2 points
      expect(second).toEqual(first);
    });
  });

  describe('fault modes', () => {
    beforeEach(() => start());

    it('expired token: the next request answers 401 even with a fresh token, the one after succeeds', async () => {
      sim.control.setFaults({ expiredToken: 1 });
      const fresh = await accessToken(sim.url);
      const denied = await peek(sim.url, fresh, 'masterdata');
      expect(denied.status).toBe(401);
      expect(JSON.parse(denied.body)).toMatchObject({ error: 'invalid_token' });
      expect((await peek(sim.url, fresh, 'masterdata')).status).toBe(204);
    });

    it('a burst of 429 with Retry-After, then 503, then normal service (set over HTTP)', async () => {
      const set = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tooManyRequests: 2, retryAfterSeconds: 7, unavailable: 1 }) });
      expect(set.status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await peek(sim.url, token, 'masterdata');
        statuses.push(r.status);
        if (r.status === 429) expect(r.headers.get('Retry-After')).toBe('7');
      }
      expect(statuses).toEqual([429, 429, 503, 204]);
      const bad = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tooManyRequests: -1 }) });
      expect(bad.status).toBe(400);
    });

    it('duplicate delivery: the next message is enqueued twice with different ids and the same document mRID', async () => {
      sim.control.setFaults({ duplicateDelivery: 1 });
      await sendSwitch(MP_A, '2026-03-31T22:00:00Z', 'dup');
      await sendSwitch(MP_A, '2026-04-30T22:00:00Z', 'single');
      const messages = await drain(sim.url, token, 'masterdata');
      expect(messages).toHaveLength(3);
      const [a, b, c] = messages.map((m) => parseCimXml(m.body) as MarketResponse);
      expect(messages[0]?.messageId).not.toBe(messages[1]?.messageId);
      expect(a?.header.mRID).toBe(b?.header.mRID);
      expect(messages[0]?.body).toBe(messages[1]?.body);
      expect(c?.header.mRID).not.toBe(a?.header.mRID);
    });

    it('malformed message: a broken XML/JSON body is enqueued in the category', async () => {
      const set = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ malformedMessage: { category: 'timeseries' } }) });
      expect(set.status).toBe(200);
      const xml = await peek(sim.url, token, 'measuredata');
      expect(xml.status).toBe(200);
      expect(() => parseCimXml(xml.body)).toThrow(CimParseError);
      const json = await peek(sim.url, token, 'measuredata', 'json');
      expect(json.headers.get('MessageId')).toBe(xml.headers.get('MessageId'));
      expect(() => parseCimJson(json.body)).toThrow(CimParseError);
      expect((await dequeue(sim.url, token, xml.headers.get('MessageId') ?? '')).status).toBe(200);
      expect((await peek(sim.url, token, 'measuredata')).status).toBe(204);
    });

    it('the clock cannot go backwards over HTTP', async () => {
      const r = await fetch(`${sim.url}/sim/clock`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ to: '2026-01-01T00:00:00Z' }) });
      expect(r.status).toBe(400);
      const ok = await fetch(`${sim.url}/sim/clock`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ to: '2026-03-22T00:00:00Z' }) });
      expect(await ok.json()).toEqual({ now: '2026-03-22T00:00:00.000Z' });
      const other = await accessToken(sim.url, 'other-supplier', 'other-secret');
      expect((await drain(sim.url, other, 'measuredata')).length).toBe(2); // 2026-03-20 and 2026-03-21 for the other supplier's point
      expect(sim.control.supplierAt(MP_OTHER, '2026-03-21T00:00:00Z')).toBe(OTHER_GLN);
    });
  });
});
