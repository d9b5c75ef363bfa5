import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';
import type { PoolClient } from 'pg';
import { localDayIntervals, localDayStart } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';
import { DeadLetterQueues, type CommandClient, type EventEnvelope } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { projectionChecksum, rebuildProjection, settlementProjection } from '@dh/read-models';
import { invoiceIdOf, meteredPointsOf, type InvoiceIssued, type SettlementCompleted, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { SETTLEMENT_METERED_DATA_QUEUE, type SettlementRuntime } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

const MP1 = gsrn(1);
const MP2 = gsrn(2);
const MP3 = gsrn(3);
const MP4 = gsrn(4);
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;

describe('settlement: runs with competing workers, corrections, aconto and a rebuildable read model', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let runtime: SettlementRuntime;
  let commands: CommandClient;
  let subscriber: ChannelModel;
  const published: EventEnvelope[] = [];

  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;

  beforeAll(async () => {
    service = await startSettlementTestService('settlement', { projectReadModel: true });
    ({ infra, runtime, commands } = service);
    subscriber = await connect(service.vhost.url);
    const channel = await subscriber.createChannel();
    await channel.assertExchange('domain.events', 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'domain.events', 'settlement.completed');
    await channel.bindQueue(queue, 'domain.events', 'settlement.correction');
    await channel.consume(queue, (m) => m && published.push(JSON.parse(m.content.toString('utf8')) as EventEnvelope), { noAck: true });


    // Rates (context `rates`): flat prices with at most 2 decimals, so every amount below is checkable by hand.
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.01', reduced: '0.01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    // Portfolio (context `portfolio`): three monthly supplies, MP2 on aconto, and a quarterly one the month run must skip.
    const supply = (g: string, customerId: string, billingFrequency: string, paymentModel: string) =>
      append(`supply-${g}`, 'portfolio', 'SupplyStarted', { gsrn: g, customerId, startDate: '2026-01-01', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency, paymentModel });
    await supply(MP1, 'customer-1', 'monthly', 'actual');
    await supply(MP2, 'customer-2', 'monthly', 'aconto');
    await supply(MP3, 'customer-3', 'monthly', 'actual');
    await supply(MP4, 'customer-4', 'quarterly', 'actual');

    // Metered data through the command bus: 1.000 kWh every hour of October (745 hours: 25 October has 25).
    await send('RecordMeteredData', meteredPayload(MP1, 'doc-mp1', '2026-10-01', '2026-11-01', () => '1.000'));
    await send('RecordMeteredData', meteredPayload(MP2, 'doc-mp2', '2026-10-01', '2026-11-01', () => '1.000'));
    await send('RecordMeteredData', meteredPayload(MP3, 'doc-mp3a', '2026-10-01', '2026-10-15', () => '1.000'));
    await send('RecordMeteredData', meteredPayload(MP3, 'doc-mp3b', '2026-10-16', '2026-11-01', () => '1.000'));
    await send('RecordAcontoPayment', { customerId: 'customer-2', gsrn: MP2, amount: '1000.00', paidAt: '2026-10-05T10:00:00Z' });

    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31 + 31 + 30);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(4);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
      expect(await count(`SELECT count(*) AS n FROM settlement.aconto_payments`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.grid_areas`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.tax_rates`)).toBe(1);
    }, 30_000, 100);
  }, 120_000);

  afterAll(async () => {
    await subscriber?.close();
    await service?.stop();
  }, 60_000);

  let runId: string;

  it('re-delivered metered data appends nothing; a document split over days gives one event per local day', async () => {
    const again = await send<{ alreadyRecorded: boolean; days: unknown[] }>('RecordMeteredData', meteredPayload(MP1, 'doc-mp1', '2026-10-01', '2026-11-01', () => '1.000'));
    expect(again).toEqual({ alreadyRecorded: true, days: [] });
    expect((await infra.eventStore.readStream(`metered-data-${MP1}`)).length).toBe(31);
  });

  it('settles a month: 3 items over 2 competing workers, each exactly once; the one with a gap halts with its reason and gets no invoice', async () => {
    const started = await send<{ runId: string; items: number; alreadyStarted: boolean }>('StartSettlementRun', { period: PERIOD });
    runId = started.runId;
    expect(started).toMatchObject({ items: 3, alreadyStarted: false });

    const completed = await eventually(() => {
      const c = published.find((e) => e.type === 'SettlementCompleted');
      if (!c) throw new Error('no settlement.completed yet');
      return c;
    }, 30_000, 100);
    const data = completed.data as unknown as SettlementCompleted;
    expect(data.runId).toBe(runId);
    expect(data.periodLabel).toBe('2026-10');
    // settlement.completed v2 carries counts; each item's outcome is its own row.
    expect(data).toMatchObject({ items: 3, invoiced: 2, halted: 1 });
    expect(completed.metadata.schemaVersion).toBe(2);
    const outcomes = await infra.pool.query(`SELECT gsrn, outcome, invoice_ids, reason FROM settlement.run_items WHERE run_id = $1 ORDER BY gsrn`, [runId]);
    expect(outcomes.rows).toEqual([
      { gsrn: MP1, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MP1, PERIOD, 'customer-1')], reason: null },
      { gsrn: MP2, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MP2, PERIOD, 'customer-2')], reason: null },
      { gsrn: MP3, outcome: 'halted', invoice_ids: null, reason: 'missing-metered-data' },
    ]);

    // MP1 and MP2 settled by the kernel on the run's prices, resolved once (MP3 halts on its gap either way).
    expect(runtime.runPrices.misses).toBe(1);
    expect(runtime.runPrices.hits).toBeGreaterThanOrEqual(1);
    expect(runtime.workers).toHaveLength(2);
    expect(runtime.workers.reduce((s, w) => s + w.stats().applied, 0)).toBe(3);
    expect(await all('SettlementWorkItemScheduled')).toHaveLength(3);
    expect(await all('InvoiceIssued')).toHaveLength(2);
    expect(await all('SettlementBatchCompleted')).toHaveLength(1);
    expect(await all('SettlementCompleted')).toHaveLength(1);
    // The run's stream holds parameters and counts only; the items are on the batch's stream.
    expect((await infra.eventStore.readStream('settlement-run-2026-10')).map((e) => e.type)).toEqual(['SettlementRunStarted', 'SettlementRunScheduled', 'SettlementCompleted']);
    const halts = await all('SettlementHaltedForMeteringPoint');
    expect(halts).toHaveLength(1);
    expect(halts[0]!.data).toMatchObject({ runId, gsrn: MP3, reason: 'missing-metered-data', detail: { seriesGsrn: MP3, interval: { start: localDayStart('2026-10-15').toISOString() } } });
    expect((await infra.eventStore.readStream(`invoice-${invoiceIdOf(MP3, PERIOD, 'customer-3')}`)).length).toBe(0);

    const [issued] = await infra.eventStore.readStream(`invoice-${invoiceIdOf(MP1, PERIOD, 'customer-1')}`);
    const invoice = issued!.data as unknown as InvoiceIssued;
    // 745 h × 1.000 kWh at flat prices; each line rounded once, VAT 25 % of the rounded line.
    expect(invoice.lines.map((l) => [l.kind, l.quantityKwh, l.amountExclVat, l.vat])).toEqual([
      ['energy', '745.000', '782.25', '195.56'],
      ['grid-tariff', '745.000', '223.50', '55.88'],
      ['system-tariff', '745.000', '52.15', '13.04'],
      ['transmission-tariff', '745.000', '29.80', '7.45'],
      ['electricity-tax', '745.000', '7.45', '1.86'],
      ['grid-subscription', null, '30.00', '7.50'],
      ['system-subscription', null, '15.00', '3.75'],
      ['product-subscription', null, '39.00', '9.75'],
    ]);
    expect(invoice.totals).toEqual({ exclVat: '1179.15', vat: '294.79', inclVat: '1473.94' });
    expect(invoice).toMatchObject({ customerId: 'customer-1', periodStart: '2026-10-01', periodEnd: '2026-10-31', aconto: { paid: '0.00', difference: '1473.94', netAmountDue: '1473.94' } });

    await eventually(async () => {
      const run = await infra.pool.query(`SELECT status, items_total, items_done, items_invoiced, items_halted FROM read_models.settlement_runs WHERE run_id = $1`, [runId]);
      expect(run.rows).toEqual([{ status: 'completed', items_total: 3, items_done: 3, items_invoiced: 2, items_halted: 1 }]);
    }, 20_000, 100);
  });

  it('aconto: the payment in the period is settled against the invoice total', async () => {
    const [issued] = await infra.eventStore.readStream(`invoice-${invoiceIdOf(MP2, PERIOD, 'customer-2')}`);
    expect((issued!.data as unknown as InvoiceIssued).aconto).toEqual({ paid: '1000.00', difference: '473.94', netAmountDue: '473.94' });
  });

  it('a second run of the same period settles only what is not invoiced (MP3, still missing a day) and issues nothing new', async () => {
    const invoices = (await all('InvoiceIssued')).length;
    const again = await send<{ runId: string; seq: number; items: number; alreadyStarted: boolean }>('StartSettlementRun', { period: PERIOD, runId: randomUUID() });
    expect(again).toMatchObject({ seq: 2, items: 1, alreadyStarted: false });
    expect(again.runId).not.toBe(runId);
    await eventually(async () => {
      const c = published.find((e) => e.type === 'SettlementCompleted' && (e.data as unknown as SettlementCompleted).runId === again.runId);
      expect(c?.data).toMatchObject({ items: 1, invoiced: 0, halted: 1 });
    }, 30_000, 100);
    expect((await all('InvoiceIssued')).length).toBe(invoices);
    // While MP3 is still missing its day, the two runs are the period's runs.
    expect(await count(`SELECT count(*) AS n FROM settlement.runs WHERE period_label = '2026-10'`)).toBe(2);
  });

  it('a corrected RSM-012 (version 2 of one day) issues one debit note with the exact difference', async () => {
    const corrected = meteredPayload(MP1, 'doc-mp1-v2', '2026-10-10', '2026-10-11', (h) => (h.getTime() === localDayIntervals('2026-10-10', 'PT1H')[10]!.getTime() ? '2.000' : '1.000'));
    const recorded = await send<{ days: { day: string; version: number }[] }>('RecordMeteredData', corrected);
    expect(recorded.days).toEqual([{ day: '2026-10-10', version: 2 }]);
    const note = await eventually(() => {
      const n = published.filter((e) => e.type === 'SettlementCorrectionIssued');
      if (n.length !== 1) throw new Error(`${n.length} notes`);
      return n[0]!.data as unknown as SettlementCorrectionIssued;
    }, 20_000, 100);
    expect(note.invoiceId).toBe(invoiceIdOf(MP1, PERIOD, 'customer-1'));
    expect(note.noteType).toBe('debit');
    // +1 kWh: Δ amount = price; Δ VAT = VAT(new line) − VAT(issued line), e.g. energy 195.83 − 195.56.
    expect(note.lines.map((l) => [l.kind, l.quantityKwh, l.amountExclVat, l.vat])).toEqual([
      ['energy', '1.000', '1.05', '0.27'],
      ['grid-tariff', '1.000', '0.30', '0.07'],
      ['system-tariff', '1.000', '0.07', '0.02'],
      ['transmission-tariff', '1.000', '0.04', '0.01'],
      ['electricity-tax', '1.000', '0.01', '0.01'],
    ]);
    expect(note.totals).toEqual({ exclVat: '1.47', vat: '0.38', inclVat: '1.85' });
    expect(note.correctedInvoice.totals).toEqual({ exclVat: '1180.62', vat: '295.17', inclVat: '1475.79' });
    // The superseded version stays readable.
    expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${MP1}' AND day = '2026-10-10'`)).toBe(2);
  });

  it('a new spot-price version for an invoiced day issues the exact difference on every invoice it changes', async () => {
    const hour5 = localDayIntervals('2026-10-10', 'PT1H')[5]!.getTime();
    await append('spot-prices-DK2-2026-10-10', 'rates', 'SpotPricesPublished', {
      priceArea: 'DK2',
      deliveryDate: '2026-10-10',
      resolution: 'PT1H',
      source: 'test',
      version: 2,
      publishedAt: '2026-11-05T00:00:00.000Z',
      prices: localDayIntervals('2026-10-10', 'PT1H').map((h) => (h.getTime() === hour5 ? { start: h.toISOString(), dkkPerMwh: '2000', dkkPerKwh: '2.00' } : { start: h.toISOString(), dkkPerMwh: '1000', dkkPerKwh: '1.00' })),
    });
    const notes = await eventually(() => {
      const n = published.filter((e) => e.type === 'SettlementCorrectionIssued' && (e.data as unknown as SettlementCorrectionIssued).cause === 'price');
      if (n.length !== 2) throw new Error(`${n.length} price notes`);
      return n.map((e) => e.data as unknown as SettlementCorrectionIssued).sort((a, b) => (a.gsrn < b.gsrn ? -1 : 1));
    }, 20_000, 100);
    // 1 kWh in that hour, spot +1.00: energy +1.00; VAT 783.30 → 195.83 becomes 784.30 → 196.08 (MP1, after its RSM-012 correction)
    // and 782.25 → 195.56 becomes 783.25 → 195.81 (MP2): +0.25 both.
    expect(notes.map((n) => [n.gsrn, n.noteType, n.lines.map((l) => [l.kind, l.quantityKwh, l.amountExclVat, l.vat]), n.totals])).toEqual([
      [MP1, 'debit', [['energy', '0.000', '1.00', '0.25']], { exclVat: '1.00', vat: '0.25', inclVat: '1.25' }],
      [MP2, 'debit', [['energy', '0.000', '1.00', '0.25']], { exclVat: '1.00', vat: '0.25', inclVat: '1.25' }],
    ]);
  });

  it('an incorrect switch (SupplyReversed) credits the invoice in full', async () => {
    await append(`supply-${MP2}`, 'portfolio', 'SupplyReversed', { gsrn: MP2, startDate: '2026-01-01' });
    const note = await eventually(() => {
      const n = published.filter((e) => e.type === 'SettlementCorrectionIssued' && (e.data as unknown as SettlementCorrectionIssued).cause === 'supply-reversed');
      if (n.length !== 1) throw new Error(`${n.length} notes`);
      return n[0]!.data as unknown as SettlementCorrectionIssued;
    }, 20_000, 100);
    // The invoice as last corrected (1179.15 + 1.00 excl., 294.79 + 0.25 VAT) is credited in full.
    expect(note).toMatchObject({ gsrn: MP2, noteType: 'credit', cause: 'supply-reversed', totals: { exclVat: '-1180.15', vat: '-295.04', inclVat: '-1475.19' } });
    expect(note.lines).toHaveLength(8);
  });

  it('rebuilding the settlement read model from the event store gives the same invoices and notes, line for line', async () => {
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM read_models.settlement_notes`)).toBe(4);
      expect(await count(`SELECT count(*) AS n FROM read_models.settlement_invoices`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM read_models.aconto_payments`)).toBe(1);
    }, 20_000, 100);
    const checksum = async (): Promise<string> => {
      const client: PoolClient = await infra.pool.connect();
      try {
        return await projectionChecksum(settlementProjection, client);
      } finally {
        client.release();
      }
    };
    const before = await checksum();
    const lines = (await infra.pool.query(`SELECT invoice_id, lines, total_incl_vat, aconto_difference FROM read_models.settlement_invoices ORDER BY invoice_id`)).rows;
    await infra.pool.query(`UPDATE read_models.settlement_invoices SET total_incl_vat = 0`);
    expect(await checksum()).not.toBe(before);
    await rebuildProjection(infra.pool, infra.eventStore, settlementProjection);
    expect(await checksum()).toBe(before);
    expect((await infra.pool.query(`SELECT invoice_id, lines, total_incl_vat, aconto_difference FROM read_models.settlement_invoices ORDER BY invoice_id`)).rows).toEqual(lines);
  });

  it('parks an RSM-012 whose GSRN has a wrong check digit in the DLQ with the reason, and records the valid data behind it', async () => {
    const good = gsrn(9);
    const wrongDigit = `${good.slice(0, 17)}${(Number(good[17]) + 1) % 10}`;
    const series = (g: string, documentId: string) => ({
      gsrn: g,
      documentId,
      seriesId: 's1',
      receivedAt: '2026-10-06T08:00:00Z',
      resolution: 'PT1H',
      start: localDayStart('2026-10-05').toISOString(),
      end: localDayStart('2026-10-06').toISOString(),
      points: localDayIntervals('2026-10-05', 'PT1H').map((_, i) => ({ position: i + 1, quantity: '0.500' })),
    });
    await append(`datahub-document-poison-${randomUUID()}`, 'datahub', 'ValidatedMeasureDataReceived', series(wrongDigit, 'doc-wrong-digit'));
    await append(`datahub-document-valid-${randomUUID()}`, 'datahub', 'ValidatedMeasureDataReceived', series(good, 'doc-valid-after'));

    await eventually(async () => expect((await infra.eventStore.readStream(`metered-data-${good}`)).length).toBe(1), 20_000, 100);
    expect(await infra.eventStore.readStream(`metered-data-${wrongDigit}`)).toEqual([]);
    expect(runtime.meteredData.stats()).toMatchObject({ halted: null, deadLettered: 1 });
    expect(runtime.meteredData.status().state).toBe('running');
    // Operators see it in the DLQ, with its reason, and can replay or discard it there.
    const deadLetters = new DeadLetterQueues(infra.amqp, infra.pool);
    expect((await deadLetters.list()).find((q) => q.queue === SETTLEMENT_METERED_DATA_QUEUE)).toMatchObject({ messages: 1 });
    const [parked] = await deadLetters.peek(SETTLEMENT_METERED_DATA_QUEUE);
    expect(parked.failure_reason).toMatch(/^poison: gsrn is not a valid GSRN/);
    expect(JSON.parse(parked.body)).toMatchObject({ type: 'ValidatedMeasureDataReceived', data: { gsrn: wrongDigit } });
  });

  it('records a document of many series together: every series in metered-data streams and settlement\'s copy, each once', async () => {
    const documentId = `bundle-${randomUUID()}`;
    const points = (n: number) => localDayIntervals('2026-10-07', 'PT1H').map((_, i) => ({ position: i + 1, quantity: `${n}.${String(i).padStart(3, '0')}` }));
    const gsrns = Array.from({ length: 40 }, (_, i) => gsrn(500 + i));
    // One document, one append, as datahub-integration stores a bundle: the series arrive together and are batched.
    await infra.eventStore.appendToStream(
      `datahub-document-${documentId}`,
      gsrns.map((g, n) => ({
        eventId: randomUUID(),
        type: 'ValidatedMeasureDataReceived',
        data: {
          documentId,
          seriesId: `s${n}`,
          gsrn: g,
          receivedAt: '2026-10-08T06:00:00Z',
          resolution: 'PT1H',
          start: localDayStart('2026-10-07').toISOString(),
          end: localDayStart('2026-10-08').toISOString(),
          points: points(n),
        },
        metadata: { correlationId: documentId, causationId: null, actor: 'test', schemaVersion: 1, context: 'datahub' },
        occurredAt: new Date(),
      })),
      { expectedRevision: 'no_stream' },
    );
    await eventually(
      async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn IN (${gsrns.map((g) => `'${g}'`).join(',')})`)).toBe(40),
      30_000,
      100,
    );
    for (const g of [gsrns[0]!, gsrns[39]!]) expect(await infra.eventStore.readStream(`metered-data-${g}`)).toHaveLength(1);
    const transactions = await count(
      `SELECT count(DISTINCT transaction_id) AS n FROM event_store.events WHERE stream_id IN (${gsrns.map((g) => `'metered-data-${g}'`).join(',')})`,
    );
    // Batched: the series waiting together were appended in shared transactions (2 for 40 series when measured).
    expect(transactions).toBeLessThan(40);
    const row = await infra.pool.query<{ version: number; points: null; first_position: number; wh: number[]; qualities: [string, number][] }>(
      `SELECT version, points, first_position, wh, qualities FROM settlement.metered_data WHERE gsrn = $1 AND day = '2026-10-07'`,
      [gsrns[39]],
    );
    expect(row.rows).toHaveLength(1);
    expect(row.rows[0]!.version).toBe(1);
    // Stored as integer Wh (issue 8), exactly the decimals DataHub sent.
    expect(row.rows[0]!.points).toBeNull();
    expect(row.rows[0]!.wh[23]).toBe(39023);
    expect(meteredPointsOf({ firstPosition: row.rows[0]!.first_position, wh: row.rows[0]!.wh, qualities: row.rows[0]!.qualities })[23]).toEqual({ position: 24, quantityKwh: '39.023', quality: 'A04' });
  });

  it('keeps day versions in metered_streams instead of reading streams; a stream another path moved is read again, versions stay exact', async () => {
    const day = '2026-10-09';
    const gsrns = Array.from({ length: 6 }, (_, i) => gsrn(600 + i));
    // Schema version 1 (points as objects, stored before issue 8) and 2 (integer Wh, packed) are both read.
    const bundle = async (documentId: string, kwh: string, schemaVersion: 1 | 2) => {
      const hours = localDayIntervals(day, 'PT1H').length;
      const points: JsonObject =
        schemaVersion === 1
          ? { points: localDayIntervals(day, 'PT1H').map((_, i) => ({ position: i + 1, quantity: kwh })) }
          : { firstPosition: 1, wh: Array.from({ length: hours }, () => Math.round(Number(kwh) * 1000)), qualities: [['A04', hours - 1], ['A03', 1]] };
      await infra.eventStore.appendToStream(
        `datahub-document-${documentId}`,
        gsrns.map((g, n) => ({
          eventId: randomUUID(),
          type: 'ValidatedMeasureDataReceived',
          data: {
            documentId,
            seriesId: `s${n}`,
            gsrn: g,
            receivedAt: '2026-10-10T06:00:00Z',
            resolution: 'PT1H',
            start: localDayStart(day).toISOString(),
            end: localDayStart('2026-10-10').toISOString(),
            ...points,
          },
          metadata: { correlationId: documentId, causationId: null, actor: 'test', schemaVersion, context: 'datahub' },
          occurredAt: new Date(),
        })),
        { expectedRevision: 'no_stream' },
      );
    };
    const versions = async () =>
      (
        await infra.pool.query<{ gsrn: string; version: number }>(`SELECT gsrn, max(version)::int AS version FROM settlement.metered_data WHERE gsrn = ANY($1) AND day = $2 GROUP BY gsrn ORDER BY gsrn`, [gsrns, day])
      ).rows.map((r) => r.version);
    // Every revision recorded is the stream's own (a series recorded by the path that reads its stream leaves none: read next time).
    const expectRecordedRevisionsCurrent = async (atLeast: number) => {
      const rows = (await infra.pool.query<{ gsrn: string; revision: string }>(`SELECT gsrn, revision::text FROM settlement.metered_streams WHERE gsrn = ANY($1)`, [gsrns])).rows;
      expect(rows.length).toBeGreaterThanOrEqual(atLeast);
      for (const r of rows) expect(r.revision).toBe(String((await infra.eventStore.readStream(`metered-data-${r.gsrn}`)).length - 1));
    };

    await bundle(`v1-${randomUUID()}`, '1.000', 1);
    await eventually(async () => expect(await versions()).toEqual([1, 1, 1, 1, 1, 1]), 30_000, 100);
    await expectRecordedRevisionsCurrent(1);

    // Version 2 of one point through the command, beside the consumer: its recorded revision is now stale.
    await send('RecordMeteredData', meteredPayload(gsrns[2]!, `manual-${randomUUID()}`, day, '2026-10-10', () => '2.000'));
    await eventually(async () => expect(await versions()).toEqual([1, 1, 2, 1, 1, 1]), 30_000, 100);

    // The next bundle: the batch's append conflicts on that stream, the series are recorded one by one, then known again.
    await bundle(`v2-${randomUUID()}`, '3.000', 2);
    await eventually(async () => expect(await versions()).toEqual([2, 2, 3, 2, 2, 2]), 30_000, 100);
    for (const g of gsrns) {
      const stream = await infra.eventStore.readStream(`metered-data-${g}`);
      expect(stream.map((e) => (e.data as { version: number }).version)).toEqual(g === gsrns[2] ? [1, 2, 3] : [1, 2]);
    }
    await bundle(`v3-${randomUUID()}`, '4.750', 2);
    await eventually(async () => expect(await versions()).toEqual([3, 3, 4, 3, 3, 3]), 30_000, 100);
    await expectRecordedRevisionsCurrent(1);
    const latest = await infra.pool.query<{ first_position: number; wh: number[]; qualities: [string, number][] }>(
      `SELECT first_position, wh, qualities FROM settlement.metered_data WHERE gsrn = $1 AND day = $2 ORDER BY version DESC LIMIT 1`,
      [gsrns[0], day],
    );
    expect(meteredPointsOf({ firstPosition: latest.rows[0]!.first_position, wh: latest.rows[0]!.wh, qualities: latest.rows[0]!.qualities }).slice(-2)).toEqual([
      { position: 23, quantityKwh: '4.750', quality: 'A04' },
      { position: 24, quantityKwh: '4.750', quality: 'A03' },
    ]);
    expect(runtime.meteredData.stats()).toMatchObject({ halted: null });
  });

  it('records a series delivered alone as a batch of one: its days and its stream revision in the same transaction, without reading the stream next time', async () => {
    const day = '2026-10-11';
    const g = gsrn(700);
    const documentId = `alone-${randomUUID()}`;
    const hours = localDayIntervals(day, 'PT1H').length;
    // One document of one series: nothing else waits in the queue, so the consumer gets it alone.
    await infra.eventStore.appendToStream(
      `datahub-document-${documentId}`,
      [
        {
          eventId: randomUUID(),
          type: 'ValidatedMeasureDataReceived',
          data: {
            documentId,
            seriesId: 's0',
            gsrn: g,
            receivedAt: '2026-10-12T06:00:00Z',
            resolution: 'PT1H',
            start: localDayStart(day).toISOString(),
            end: localDayStart('2026-10-12').toISOString(),
            firstPosition: 1,
            wh: Array.from({ length: hours }, (_, i) => 1000 + i),
            qualities: [['A04', hours]],
          },
          metadata: { correlationId: documentId, causationId: null, actor: 'test', schemaVersion: 2, context: 'datahub' },
          occurredAt: new Date(),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    // Before, the lone series was recorded by the path that reads its stream, and its revision was forgotten (the next batch read the whole stream).
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_streams WHERE gsrn = '${g}' AND revision = 0`)).toBe(1), 30_000, 100);
    const row = await infra.pool.query<{ version: number; document_id: string; first_position: number; wh: number[]; qualities: [string, number][] }>(
      `SELECT version, document_id, first_position, wh, qualities FROM settlement.metered_data WHERE gsrn = $1 AND day = $2`,
      [g, day],
    );
    expect(row.rows).toHaveLength(1);
    expect(row.rows[0]).toMatchObject({ version: 1, document_id: `${documentId}:s0` });
    expect(meteredPointsOf({ firstPosition: row.rows[0]!.first_position, wh: row.rows[0]!.wh, qualities: row.rows[0]!.qualities })[23]).toEqual({ position: 24, quantityKwh: '1.023', quality: 'A04' });
    const stream = await infra.eventStore.readStream(`metered-data-${g}`);
    expect(stream.map((e) => e.type)).toEqual(['MeteredDataReceived']);
    expect(runtime.meteredData.stats()).toMatchObject({ halted: null });
  });
});
