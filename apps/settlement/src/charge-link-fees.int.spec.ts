import { randomUUID } from 'node:crypto';
import { localDayStart } from '@dh/dk-time';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, RADIUS, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, startSpotSupply, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

/** Customer A supplied to 14 October 2026, customer B from the 15th: two invoices of October. */
const POINT = gsrn(44);
/** Another of our metering points without fee links. */
const OTHER = gsrn(45);
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
const FEE = `${RADIUS}:D02:GEB-01`;
const READING_FEE = `${RADIUS}:D02:GEB-02`;
const A = `customer-a-${POINT}`;
const B = `customer-b-${POINT}`;

describe('settlement: fees (D02) DataHub links to a metering point (RSM-031), end to end', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const invoiceId = (customerId: string, g = POINT) => invoiceIdOf(g, PERIOD, customerId);
  const issued = async (customerId: string, g = POINT): Promise<InvoiceIssued> => {
    const stream = await infra.eventStore.readStream(`invoice-${invoiceId(customerId, g)}`);
    const e = stream.find((x) => x.type === 'InvoiceIssued');
    if (e === undefined) throw new Error(`no invoice for ${customerId}`);
    return e.data as unknown as InvoiceIssued;
  };
  const fees = (invoice: InvoiceIssued) => invoice.lines.filter((l) => l.kind === 'fee').map((l) => [l.key, l.amountExclVat, l.vat]);
  const notes = async () => (await all('SettlementCorrectionIssued')).map((e) => e.data as unknown as SettlementCorrectionIssued);
  const link = (chargeId: string, from: string, to: string | null, factor = '1') => {
    const [owner, chargeType, code] = chargeId.split(':');
    return { chargeId, owner: owner!, chargeType: chargeType!, code: code!, factor, from: localDayStart(from).toISOString(), to: to === null ? null : localDayStart(to).toISOString() };
  };
  const links = (documentId: string, l: ReturnType<typeof link>[]) =>
    append(`charge-links-${POINT}`, 'rates', 'ChargeLinksRecorded', { gsrn: POINT, links: l, source: { documentId, recordId: '1', receivedAt: '2026-11-10T08:00:00.000Z', processType: 'D17' } });

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_charge_link_fees');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.008', reduced: '0.008' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    // The fees' price lists (P1M, from 1 January 2026), then DataHub's links, before the supplies and metered data.
    await helpers.charge(RADIUS, 'D02', 'GEB-01', 'Gebyr for genåbning', 'P1M', ['95.00']);
    await helpers.charge(RADIUS, 'D02', 'GEB-02', 'Gebyr for aflæsning', 'P1M', ['12.345678']);
    // Their master data (RSM-034 D18): the reopening fee with VAT (VATPayer D01), the reading fee without (D02).
    for (const [code, vatPayer] of [['GEB-01', 'D01'], ['GEB-02', 'D02']] as const) {
      await append(`price-list-${RADIUS}:D02:${code}`, 'rates', 'ChargeInformationRecorded', {
        chargeId: `${RADIUS}:D02:${code}`,
        owner: RADIUS,
        chargeType: 'D02',
        code,
        name: code,
        description: null,
        resolution: 'P1M',
        taxIndicator: false,
        vatPayer,
        transparentInvoicing: false,
        from: localDayStart('2026-01-01').toISOString(),
        to: null,
        source: { documentId: 'rsm034-fees', recordId: code, receivedAt: '2026-09-01T08:00:00.000Z', processType: 'D18' },
      });
    }
    await links('rsm031-fees', [
      // A one-day fee link on B's move-in day, two pieces of the reading fee on A's 5 October,
      // and a fee linked in September (open-ended: its clipped start would be 1 October): never October's.
      link(FEE, '2026-10-15', '2026-10-16'),
      link(READING_FEE, '2026-10-05', '2026-10-06', '2'),
      link(FEE, '2026-09-15', null),
    ]);
    await startSpotSupply(helpers, POINT, A);
    await append(`metering-point-${POINT}`, 'portfolio', 'SupplyEnded', { gsrn: POINT, endDate: '2026-10-15' });
    await startSpotSupply(helpers, POINT, B, { from: '2026-10-15', at: '2026-09-20T10:00:00.000Z' });
    await startSpotSupply(helpers, OTHER, `customer-${OTHER}`);
    for (const g of [POINT, OTHER]) await send('RecordMeteredData', meteredPayload(g, `oct-${g}`, '2026-10-01', '2026-11-01', () => '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(62);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(3);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies WHERE end_date IS NOT NULL`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.datahub_charge_links`)).toBe(3);
      expect(await count(`SELECT count(*) AS n FROM settlement.charges WHERE charge_type = 'D02'`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.datahub_charge_information`)).toBe(2);
    }, 30_000, 100);
    await send('StartSettlementRun', { period: PERIOD });
    await eventually(async () => expect(await all('SettlementCompleted')).toHaveLength(1), 30_000, 100);
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.invoices`)).toBe(3), 10_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it("each fee is on exactly one invoice, the customer supply's that holds its day; the September fee and the other point have none", async () => {
    // 95.00 × 1 = 95.00 (VAT 23.75); 12.345678 × 2 = 24.691356 → 24.69, no VAT (VATPayer D02).
    expect(fees(await issued(B))).toEqual([[`fee:${FEE}@2026-10-15`, '95.00', '23.75']]);
    expect(fees(await issued(A))).toEqual([[`fee:${READING_FEE}@2026-10-05`, '24.69', '0.00']]);
    expect((await issued(A)).lines.find((l) => l.kind === 'fee')).toMatchObject({ amountInclVat: '24.69', vatExempt: true });
    expect(fees(await issued(`customer-${OTHER}`, OTHER))).toEqual([]);
  });

  it('a later run of the period issues nothing again (no fee twice)', async () => {
    const before = (await all('InvoiceIssued')).length;
    expect(before).toBe(3);
    // Every customer supply of the period is invoiced: asking for another run of it settles nothing again.
    await send('StartSettlementRun', { period: PERIOD, runId: randomUUID() });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await all('InvoiceIssued')).toHaveLength(before);
    expect(await notes()).toEqual([]);
  });

  it("a new price version of the fee corrects only B's invoice, by the fee line", async () => {
    await append(`charge-${FEE}`, 'rates', 'ChargePricesPublished', {
      chargeId: FEE,
      owner: RADIUS,
      gln: RADIUS,
      chargeType: 'D02',
      code: 'GEB-01',
      description: 'Gebyr for genåbning',
      version: 2,
      publishedAt: new Date().toISOString(),
      rows: [{ validFrom: '2026-10-01', validTo: null, resolution: 'P1M', prices: ['100.00'] }],
    });
    const [note] = await eventually(async () => {
      const n = await notes();
      if (n.length !== 1) throw new Error(`${n.length} notes`);
      return n;
    }, 20_000, 100);
    expect(note).toMatchObject({ invoiceId: invoiceId(B), cause: 'price', noteType: 'debit' });
    expect(note!.lines.map((l) => [l.key, l.amountExclVat, l.vat])).toEqual([[`fee:${FEE}@2026-10-15`, '5.00', '1.25']]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await notes()).toHaveLength(1);
  });

  it('a fee link DataHub stops on its own day is credited; a fee link added after invoicing is debited', async () => {
    // Stopped: termination date = effective date.
    await links('rsm031-stop', [link(FEE, '2026-10-15', '2026-10-15')]);
    const stopped = await eventually(async () => {
      const n = await notes();
      if (n.length !== 2) throw new Error(`${n.length} notes`);
      return n[1]!;
    }, 20_000, 100);
    expect(stopped).toMatchObject({ invoiceId: invoiceId(B), noteType: 'credit' });
    expect(stopped.lines.map((l) => [l.key, l.amountExclVat, l.vat])).toEqual([[`fee:${FEE}@2026-10-15`, '-100.00', '-25.00']]);
    // Added: three pieces of the reading fee on 20 October (B's): 12.345678 × 3 = 37.037034 → 37.04, no VAT.
    await links('rsm031-add', [link(READING_FEE, '2026-10-20', '2026-10-21', '3')]);
    const added = await eventually(async () => {
      const n = await notes();
      if (n.length !== 3) throw new Error(`${n.length} notes`);
      return n[2]!;
    }, 20_000, 100);
    expect(added).toMatchObject({ invoiceId: invoiceId(B), noteType: 'debit' });
    expect(added.lines.map((l) => [l.key, l.amountExclVat, l.vat])).toEqual([[`fee:${READING_FEE}@2026-10-20`, '37.04', '0.00']]);
    // A's invoice was looked at for both (its period overlaps the links) and is unchanged.
    await new Promise((r) => setTimeout(r, 500));
    expect((await notes()).filter((n) => n.invoiceId === invoiceId(A))).toEqual([]);
  });

  it("a change of the fee's VAT class (VATPayer D02 → D01) after invoicing corrects the VAT of each invoice carrying the fee, once", async () => {
    const information = (vatPayer: 'D01' | 'D02', documentId: string) =>
      append(`price-list-${READING_FEE}`, 'rates', 'ChargeInformationRecorded', {
        chargeId: READING_FEE,
        owner: RADIUS,
        chargeType: 'D02',
        code: 'GEB-02',
        name: 'GEB-02',
        description: null,
        resolution: 'P1M',
        taxIndicator: false,
        vatPayer,
        transparentInvoicing: false,
        from: localDayStart('2026-01-01').toISOString(),
        to: null,
        source: { documentId, recordId: 'GEB-02', receivedAt: '2026-11-12T08:00:00.000Z', processType: 'D18' },
      });
    const before = (await notes()).length;
    expect(before).toBe(3);
    // DataHub now says the reading fee carries VAT (D01): its lines keep their amounts and gain 25 % VAT.
    await information('D01', 'rsm034-vat');
    const corrected = await eventually(async () => {
      const n = await notes();
      if (n.length !== before + 2) throw new Error(`${n.length} notes`);
      return n.slice(before);
    }, 20_000, 100);
    const byInvoice = new Map(corrected.map((n) => [n.invoiceId, n]));
    // A: 2 pieces on 5 October, 24.69 excl. VAT (12.345678 × 2 = 24.691356 → 24.69); VAT 24.69 × 0.25 = 6.1725 → 6.17.
    const a = byInvoice.get(invoiceId(A));
    expect(a).toMatchObject({ cause: 'price', noteType: 'debit', totals: { exclVat: '0.00', vat: '6.17', inclVat: '6.17' } });
    expect(a!.lines.map((l) => [l.key, l.amountExclVat, l.vat, l.amountInclVat])).toEqual([[`fee:${READING_FEE}@2026-10-05`, '0.00', '6.17', '6.17']]);
    // B: 3 pieces on 20 October, 37.04 excl. VAT (12.345678 × 3 = 37.037034 → 37.04); VAT 37.04 × 0.25 = 9.26.
    const b = byInvoice.get(invoiceId(B));
    expect(b).toMatchObject({ cause: 'price', noteType: 'debit', totals: { exclVat: '0.00', vat: '9.26', inclVat: '9.26' } });
    expect(b!.lines.map((l) => [l.key, l.amountExclVat, l.vat, l.amountInclVat])).toEqual([[`fee:${READING_FEE}@2026-10-20`, '0.00', '9.26', '9.26']]);
    // The invoices as corrected carry the fee with VAT; the other point (no fee link) is not corrected.
    expect(b!.correctedInvoice.lines.find((l) => l.key === `fee:${READING_FEE}@2026-10-20`)).toMatchObject({ amountExclVat: '37.04', vat: '9.26', amountInclVat: '46.30' });
    expect(corrected.map((n) => n.invoiceId).sort()).toEqual([invoiceId(A), invoiceId(B)].sort());
    // Exactly once: the same master data again (a resent D18) changes no VATPayer: no job, nothing issued.
    const jobs = await count(`SELECT count(*) AS n FROM settlement.correction_jobs`);
    await information('D01', 'rsm034-vat-again');
    const again = (await all('ChargeInformationRecorded')).at(-1)!;
    // Copied (the row carries the resent event's revision) in the transaction that would have recorded its job.
    await eventually(
      async () => expect(await count(`SELECT stream_revision AS n FROM settlement.datahub_charge_information WHERE charge_id = '${READING_FEE}'`)).toBe(Number(again.streamRevision)),
      20_000,
      100,
    );
    expect(await count(`SELECT count(*) AS n FROM settlement.correction_jobs WHERE cause_event_id = '${again.eventId}'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM settlement.correction_jobs`)).toBe(jobs);
    await new Promise((r) => setTimeout(r, 500));
    expect(await notes()).toHaveLength(before + 2);
  });

  it("a D18 that shortens a row corrects the invoices whose fee day it no longer covers (outside the D18's own validity), once", async () => {
    const row = (vatPayer: 'D01' | 'D02', from: string, to: string | null, documentId: string) =>
      append(`price-list-${READING_FEE}`, 'rates', 'ChargeInformationRecorded', {
        chargeId: READING_FEE,
        owner: RADIUS,
        chargeType: 'D02',
        code: 'GEB-02',
        name: 'GEB-02',
        description: null,
        resolution: 'P1M',
        taxIndicator: false,
        vatPayer,
        transparentInvoicing: false,
        from: localDayStart(from).toISOString(),
        to: to === null ? null : localDayStart(to).toISOString(),
        source: { documentId, recordId: 'GEB-02', receivedAt: '2026-11-13T08:00:00.000Z', processType: 'D18' },
      });
    const before = (await notes()).length;
    expect(before).toBe(5);
    // A new row from 10 October without VAT (D02): B's fee of the 20th (37.04) loses its 9.26 VAT; A's of the 5th keeps it.
    await row('D02', '2026-10-10', null, 'rsm034-oct');
    const [exempt] = await eventually(async () => {
      const n = await notes();
      if (n.length !== before + 1) throw new Error(`${n.length} notes`);
      return n.slice(before);
    }, 20_000, 100);
    expect(exempt).toMatchObject({ invoiceId: invoiceId(B), noteType: 'credit' });
    expect(exempt!.lines.map((l) => [l.key, l.amountExclVat, l.vat])).toEqual([[`fee:${READING_FEE}@2026-10-20`, '0.00', '-9.26']]);
    // The same row now ends on the 15th: the 20th is back under the January row (D01), outside this D18's [10th, 15th).
    await row('D02', '2026-10-10', '2026-10-15', 'rsm034-oct-end');
    const shortened = (await all('ChargeInformationRecorded')).at(-1)!.eventId;
    const [back] = await eventually(async () => {
      const n = await notes();
      if (n.length !== before + 2) throw new Error(`${n.length} notes`);
      return n.slice(before + 1);
    }, 20_000, 100);
    expect(back).toMatchObject({ invoiceId: invoiceId(B), noteType: 'debit' });
    expect(back!.lines.map((l) => [l.key, l.amountExclVat, l.vat])).toEqual([[`fee:${READING_FEE}@2026-10-20`, '0.00', '9.26']]);
    // Its job selects from the 15th (where the VATPayer changed), open-ended, not the D18's own [10th, 15th).
    const { rows } = await infra.pool.query<{ selector: { from: string; to: string | null } }>(`SELECT selector FROM settlement.correction_jobs WHERE cause_event_id = $1`, [shortened]);
    expect(rows.map((r) => [r.selector.from, r.selector.to])).toEqual([[localDayStart('2026-10-15').toISOString(), null]]);
    // Once: the same D18 resent records no job and issues nothing.
    const jobs = await count(`SELECT count(*) AS n FROM settlement.correction_jobs`);
    await row('D02', '2026-10-10', '2026-10-15', 'rsm034-oct-end-again');
    const again = (await all('ChargeInformationRecorded')).at(-1)!;
    await eventually(
      async () =>
        expect(
          await count(`SELECT stream_revision AS n FROM settlement.datahub_charge_information WHERE charge_id = '${READING_FEE}' AND valid_from = '${localDayStart('2026-10-10').toISOString()}'`),
        ).toBe(Number(again.streamRevision)),
      20_000,
      100,
    );
    expect(await count(`SELECT count(*) AS n FROM settlement.correction_jobs`)).toBe(jobs);
    await new Promise((r) => setTimeout(r, 500));
    expect(await notes()).toHaveLength(before + 2);
  });
});
