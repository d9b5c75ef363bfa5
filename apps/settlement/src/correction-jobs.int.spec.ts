import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, noteIdOf, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { correctNextPage, runCorrectionJobs } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import {
  ENERGINET,
  gsrn,
  meteredPayload,
  OCTOBER_2026,
  seedFlatSpotPrices,
  seedRadiusGridArea,
  seedTaxAndSpotProduct,
  settlementTestHelpers,
  startSettlementTestService,
  startSpotSupply,
  type SettlementTestService,
} from './testing/settlement-test-support';

const POINTS = [61, 62, 63, 64, 65].map(gsrn);
const invoiceOf = (g: string): string => invoiceIdOf(g, OCTOBER_2026, `customer-${g}`);

/**
 * Issue 9: "a publication re-settles only the invoices that use what changed, in bounded transactions". A tax
 * rate and Energinet's national tariffs touch every invoice of their validity: the inputs consumer records one
 * job, and the correction worker corrects its invoices a page per transaction, resumable after a crash.
 */
describe('corrections of a publication in bounded transactions (correction jobs)', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const notes = async () => (await all('SettlementCorrectionIssued')).map((e) => ({ eventId: e.eventId, ...(e.data as unknown as SettlementCorrectionIssued) }));
  const job = async (causeEventId: string) =>
    (
      await infra.pool.query<{ pages: number; invoices: number; issued: number; done: boolean; cursor_invoice: string | null; selector: unknown }>(
        `SELECT pages, invoices, issued, done, cursor_invoice::text AS cursor_invoice, selector FROM settlement.correction_jobs WHERE cause_event_id = $1`,
        [causeEventId],
      )
    ).rows;

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_correction_jobs');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.008', reduced: '0.008' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    for (const g of POINTS) {
      await startSpotSupply(helpers, g, `customer-${g}`);
      await send('RecordMeteredData', meteredPayload(g, `oct-${g}`, '2026-10-01', '2026-11-01', () => '1.000'));
    }
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31 * POINTS.length);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(POINTS.length);
    }, 30_000, 100);
    await send('StartSettlementRun', { period: OCTOBER_2026 });
    await eventually(async () => expect(await all('SettlementCompleted')).toHaveLength(1), 60_000, 100);
    // The publications seeded before the run found no invoice; their jobs are done.
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.correction_jobs WHERE NOT done`)).toBe(0), 30_000, 100);
    expect(await notes()).toEqual([]);
    // From here the test drives the correction worker itself (no timer).
    await service.runtime.corrections.stop();
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  let taxEventId = '';

  it('a tax rate publication: the inputs consumer records one job and issues no note itself, whatever the number of invoices', async () => {
    await append('electricity-tax', 'rates', 'ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: '0.010', reducedDkkPerKwh: '0.010' });
    taxEventId = (await all('ElectricityTaxRateSet')).at(-1)!.eventId;
    await eventually(async () => expect(await job(taxEventId)).toHaveLength(1), 20_000, 100);
    expect(await count(`SELECT count(*) AS n FROM settlement.tax_rates`)).toBe(2);
    expect((await job(taxEventId))[0]).toMatchObject({ pages: 0, invoices: 0, done: false, cursor_invoice: null, selector: { kind: 'validity', ranges: [{ from: '2026-01-01', to: null }], chargeId: null } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await notes()).toEqual([]);
  });

  it('the worker corrects 5 invoices 2 per transaction, exactly once each, and resumes after a crash in the middle of a page', async () => {
    const deps = { store: infra.eventStore };
    const ordered = POINTS.map(invoiceOf).sort();
    // Page 1 (one transaction): two invoices.
    expect(await correctNextPage(deps, infra.pool, { pageSize: 2 })).toMatchObject({ invoices: 2, issued: 2, done: false });
    expect((await job(taxEventId))[0]).toMatchObject({ pages: 1, invoices: 2, cursor_invoice: ordered[1] });
    // Page 2 crashes after both its notes were appended, before its transaction commits: the cursor stays.
    let seen = 0;
    await expect(
      correctNextPage(deps, infra.pool, {
        pageSize: 2,
        afterInvoice: () => {
          if (++seen === 2) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect((await notes()).length).toBe(4);
    expect((await job(taxEventId))[0]).toMatchObject({ pages: 1, invoices: 2, cursor_invoice: ordered[1], done: false });
    // Restarted: page 2 again (its notes are there: nothing new) and page 3 (the last invoice).
    expect(await runCorrectionJobs(deps, infra.pool, { pageSize: 2 })).toBe(2);
    expect((await job(taxEventId))[0]).toMatchObject({ pages: 3, invoices: 5, done: true, cursor_invoice: ordered[4] });

    const all5 = await notes();
    expect(all5.map((n) => n.invoiceId).sort()).toEqual(ordered);
    for (const n of all5) {
      // 745 kWh × 0.002 DKK more = 1.49; the note id derives from the publication and the invoice.
      expect(n).toMatchObject({ cause: 'price', noteType: 'debit', noteId: noteIdOf(taxEventId, n.invoiceId) });
      expect(n.lines.map((l) => [l.kind, l.amountExclVat])).toEqual([['electricity-tax', '1.49']]);
    }
    // Nothing more to do: a further pass commits no page and issues nothing.
    expect(await runCorrectionJobs(deps, infra.pool, { pageSize: 2 })).toBe(0);
    expect(await notes()).toHaveLength(5);
  });

  it("Energinet's system tariff (a national charge) is a job over every invoice of its validity too", async () => {
    await append(`charge-${ENERGINET}:D03:41000`, 'rates', 'ChargePricesPublished', {
      chargeId: `${ENERGINET}:D03:41000`,
      owner: ENERGINET,
      gln: ENERGINET,
      chargeType: 'D03',
      code: '41000',
      description: 'Systemtarif',
      version: 2,
      publishedAt: new Date().toISOString(),
      rows: [{ validFrom: '2026-10-01', validTo: '2026-11-01', resolution: 'P1D', prices: ['0.08'] }],
    });
    const eventId = (await all('ChargePricesPublished')).at(-1)!.eventId;
    await eventually(async () => expect(await job(eventId)).toHaveLength(1), 20_000, 100);
    expect((await job(eventId))[0]!.selector).toEqual({ kind: 'validity', ranges: [{ from: '2026-10-01', to: '2026-11-01' }], chargeId: null });
    expect(await notes()).toHaveLength(5);
    expect(await runCorrectionJobs({ store: infra.eventStore }, infra.pool, { pageSize: 2 })).toBe(3);
    const system = (await notes()).filter((n) => n.noteId === noteIdOf(eventId, n.invoiceId));
    expect(system).toHaveLength(5);
    // 745 kWh × 0.01 DKK more = 7.45 each.
    for (const n of system) expect(n.lines.map((l) => [l.kind, l.amountExclVat])).toEqual([['system-tariff', '7.45']]);
  });

  /**
   * Two publications copied before their jobs ran: whichever job recomputes an invoice first issues one note with
   * both changes (the other finds nothing left). The note names every publication that changed its lines
   * (`metadata.causationIds`, derived from the per-line causes: the rows' old → new versions and the events that
   * brought them); a job whose own publication changed none of the note's lines does not claim it.
   */
  describe('overlapping publications', () => {
    const deps = () => ({ store: infra.eventStore });
    const noteEvents = async () => (await all('SettlementCorrectionIssued')).map((e) => ({ metadata: e.metadata, ...(e.data as unknown as SettlementCorrectionIssued) }));
    /** Another replica inside a page of this job: its row stays locked, so the worker takes the next job (`SKIP LOCKED`). */
    const holdJob = async (causeEventId: string) => {
      const client = await infra.pool.connect();
      await client.query('BEGIN');
      await client.query(`SELECT 1 FROM settlement.correction_jobs WHERE cause_event_id = $1 FOR UPDATE`, [causeEventId]);
      return async () => {
        await client.query('ROLLBACK');
        client.release();
      };
    };
    const tariff = (code: '40000' | '41000', version: number, price: string, publishedAt: string) =>
      append(`charge-${ENERGINET}:D03:${code}`, 'rates', 'ChargePricesPublished', {
        chargeId: `${ENERGINET}:D03:${code}`,
        owner: ENERGINET,
        gln: ENERGINET,
        chargeType: 'D03',
        code,
        description: code === '40000' ? 'Transmissions nettarif' : 'Systemtarif',
        version,
        publishedAt,
        rows: [{ validFrom: '2026-10-01', validTo: '2026-11-01', resolution: 'P1D', prices: [price] }],
      });
    const transmission = (version: number, price: string) => tariff('40000', version, price, new Date().toISOString());
    const published = async (type: string) => {
      const eventId = (await all(type)).at(-1)!.eventId;
      await eventually(async () => expect(await job(eventId)).toHaveLength(1), 20_000, 100);
      return eventId;
    };

    it('two jobs over the same invoices: each note carries both publications, its own trigger first', async () => {
      const before = (await noteEvents()).length;
      // The tax from 0.010 to 0.012 (+1.49 = 745 kWh × 0.002) and Energinet's transmission tariff from 0.04 to 0.05 (+7.45 = 745 kWh × 0.01).
      await append('electricity-tax', 'rates', 'ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: '0.012', reducedDkkPerKwh: '0.012' });
      const tax = await published('ElectricityTaxRateSet');
      await transmission(2, '0.05');
      const tariff = await published('ChargePricesPublished');
      // A replica holds the tax job's first page: the tariff's job corrects the first two invoices meanwhile (with the tax already copied).
      const release = await holdJob(tax);
      try {
        expect(await correctNextPage(deps(), infra.pool, { pageSize: 2 })).toMatchObject({ invoices: 2, issued: 2, done: false });
      } finally {
        await release();
      }
      // Then every job to its end: the tax job finds the first two corrected, the tariff job the other three.
      await runCorrectionJobs(deps(), infra.pool, { pageSize: 2 });
      const overlapping = (await noteEvents()).slice(before);
      expect(overlapping).toHaveLength(5);
      expect(overlapping.map((n) => n.invoiceId).sort()).toEqual(POINTS.map(invoiceOf).sort());
      for (const n of overlapping) {
        // VAT = the line's new VAT − its VAT as last corrected: transmission 29.80 (VAT 7.45) → 37.25 (VAT 9.3125 → 9.31): +1.86;
        // tax 7.45 (VAT 1.8625 → 1.86) → 8.94 (VAT 2.235 → 2.24): +0.38.
        expect(n.lines.map((l) => [l.kind, l.amountExclVat, l.vat])).toEqual([
          ['transmission-tariff', '7.45', '1.86'],
          ['electricity-tax', '1.49', '0.38'],
        ]);
        const trigger = n.noteId === noteIdOf(tax, n.invoiceId) ? tax : tariff;
        expect(n.noteId).toBe(noteIdOf(trigger, n.invoiceId));
        expect(n.metadata.causationId).toBe(trigger);
        expect(n.metadata['causationIds']).toEqual([trigger, trigger === tax ? tariff : tax]);
      }
      expect(overlapping.filter((n) => n.metadata.causationId === tariff)).toHaveLength(2);
    });

    it("a job whose own publication changed none of the note's lines names the publication that did", async () => {
      const before = (await noteEvents()).length;
      // The tax to 0.014 (+1.49 each); then the transmission tariff republished at the same 0.05 (version 3: nothing changes).
      await append('electricity-tax', 'rates', 'ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: '0.014', reducedDkkPerKwh: '0.014' });
      const tax = await published('ElectricityTaxRateSet');
      await transmission(3, '0.05');
      const republished = await published('ChargePricesPublished');
      // The tariff's job recomputes every invoice first (the tax job's row held by another replica).
      const release = await holdJob(tax);
      try {
        expect(await runCorrectionJobs(deps(), infra.pool, { pageSize: 10 })).toBe(1);
      } finally {
        await release();
      }
      await runCorrectionJobs(deps(), infra.pool, { pageSize: 10 });
      const notes5 = (await noteEvents()).slice(before);
      expect(notes5).toHaveLength(5);
      for (const n of notes5) {
        // Issued by the republication's job (its note id), caused by the tax only.
        expect(n.noteId).toBe(noteIdOf(republished, n.invoiceId));
        // Tax 8.94 (VAT 2.24) → 10.43 (VAT 2.6075 → 2.61): +1.49, VAT +0.37.
        expect(n.lines.map((l) => [l.kind, l.amountExclVat, l.vat])).toEqual([['electricity-tax', '1.49', '0.37']]);
        expect(n.metadata.causationId).toBe(tax);
        expect(n.metadata['causationIds']).toEqual([tax]);
      }
    });

    it("DataHub's corrected day, corrected at once while a spot publication's job waits: its note names both, the job then only the others", async () => {
      const before = (await noteEvents()).length;
      const day = '2026-10-10';
      // Day-ahead prices of 10 October republished at 1.10 (was 1.00): +0.10 on each of its 24 hours.
      await append(`spot-prices-DK2-${day}`, 'rates', 'SpotPricesPublished', {
        priceArea: 'DK2',
        deliveryDate: day,
        resolution: 'PT1H',
        source: 'test',
        version: 2,
        publishedAt: new Date().toISOString(),
        prices: Array.from({ length: 24 }, (_, h) => ({ start: new Date(Date.parse('2026-10-09T22:00:00.000Z') + h * 3_600_000).toISOString(), dkkPerMwh: '1100', dkkPerKwh: '1.10' })),
      });
      const spot = await published('SpotPricesPublished');
      // Then DataHub corrects the first point's 10 October (2 kWh an hour, version 2, received now): the inputs consumer corrects its invoice itself.
      const [first, ...others] = POINTS;
      await send('RecordMeteredData', { ...meteredPayload(first!, `oct10-v2-${first}`, day, '2026-10-11', () => '2.000'), receivedAt: new Date().toISOString() });
      const corrected = await eventually(async () => {
        const n = (await noteEvents()).slice(before);
        if (n.length !== 1) throw new Error(`${n.length} notes`);
        return n[0]!;
      }, 20_000, 100);
      const metered = (await all('MeteredDataReceived')).find((e) => e.data['gsrn'] === first && e.data['day'] === day && e.data['version'] === 2)!.eventId;
      expect(corrected).toMatchObject({ invoiceId: invoiceOf(first!), cause: 'metered-data', noteId: noteIdOf(metered, invoiceOf(first!)) });
      // Its energy line carries the new prices as well: the metered day first (the trigger), then the spot prices.
      expect(corrected.metadata.causationId).toBe(metered);
      expect(corrected.metadata['causationIds']).toEqual([metered, spot]);
      // The spot job: the other four invoices, the energy line only (24 kWh × 0.10 = 2.40); the first is left as it is.
      await runCorrectionJobs(deps(), infra.pool, { pageSize: 10 });
      const spotNotes = (await noteEvents()).slice(before + 1);
      expect(spotNotes.map((n) => n.invoiceId).sort()).toEqual(others.map(invoiceOf).sort());
      for (const n of spotNotes) {
        expect(n.lines.map((l) => [l.kind, l.amountExclVat])).toEqual([['energy', '2.40']]);
        expect(n.metadata.causationId).toBe(spot);
        expect(n.metadata['causationIds']).toEqual([spot]);
      }
    });

    it("one job's notes over several pages: two charges' rows of the same version, publication and validity each name their own publication", async () => {
      const before = (await noteEvents()).length;
      // Energinet's transmission tariff 0.05 → 0.06 and system tariff 0.08 → 0.09, both as version 4 published at the same instant.
      const publishedAt = new Date().toISOString();
      await tariff('40000', 4, '0.06', publishedAt);
      const transmission4 = await published('ChargePricesPublished');
      await tariff('41000', 4, '0.09', publishedAt);
      const system4 = await published('ChargePricesPublished');
      // The transmission job corrects every invoice, 2 per page (its source lookups kept from page to page), the system job's row held meanwhile.
      const release = await holdJob(system4);
      try {
        expect(await runCorrectionJobs(deps(), infra.pool, { pageSize: 2 })).toBe(3);
      } finally {
        await release();
      }
      await runCorrectionJobs(deps(), infra.pool, { pageSize: 2 });
      const notes5 = (await noteEvents()).slice(before);
      expect(notes5.map((n) => n.invoiceId).sort()).toEqual(POINTS.map(invoiceOf).sort());
      for (const n of notes5) {
        expect(n.noteId).toBe(noteIdOf(transmission4, n.invoiceId));
        // 0.01 DKK more per kWh on each tariff: 745 kWh, the first point 769 (its 10 October at 2 kWh an hour).
        const more = n.invoiceId === invoiceOf(POINTS[0]!) ? '7.69' : '7.45';
        expect(n.lines.map((l) => [l.kind, l.amountExclVat])).toEqual([
          ['system-tariff', more],
          ['transmission-tariff', more],
        ]);
        expect(n.metadata.causationId).toBe(transmission4);
        expect(n.metadata['causationIds']).toEqual([transmission4, system4]);
      }
    });
  });
});
