import { localDayIntervals } from '@dh/dk-time';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceExplanation, type SettlementCorrectionIssued } from '@dh/settlement-application';
import type { InvoiceRecomputation } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import { days, gsrn, meteredPayload, OCTOBER_2026, PUBLISHED, seedRadiusGridArea, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

const MP = gsrn(21);
const INVOICE = invoiceIdOf(MP, OCTOBER_2026, 'customer-21');

/**
 * The dispute desk's invoice explanation: one invoice issued, then corrected by a new RSM-012 version
 * and a new spot price version, then a product price change that no correction picks up (so "as now"
 * differs from "as corrected" and the difference is shown, not hidden).
 */
describe('ExplainInvoice and RecomputeInvoice (read-only settlement queries)', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  let beforeMargin: Date;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count } = helpers;
  const spotDay = (day: string, version: number, publishedAt: string, dkkPerKwh: (hourIndex: number) => string) =>
    append(`spot-prices-DK2-${day}`, 'rates', 'SpotPricesPublished', {
      priceArea: 'DK2',
      deliveryDate: day,
      resolution: 'PT1H',
      source: 'test',
      version,
      publishedAt,
      prices: localDayIntervals(day, 'PT1H').map((h, i) => ({ start: h.toISOString(), dkkPerMwh: String(Number(dkkPerKwh(i)) * 1000), dkkPerKwh: dkkPerKwh(i) })),
    });

  beforeAll(async () => {
    service = await startSettlementTestService('explain');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await append('electricity-tax', 'rates', 'ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: '0.01', reducedDkkPerKwh: '0.01' });
    await append('product-spot', 'rates', 'ProductDefined', { productId: 'spot', name: 'Spot', marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '39.00', validFrom: '2026-01-01' });
    for (const day of days('2026-10-01', '2026-11-01')) await spotDay(day, 1, PUBLISHED, () => '1.00');
    await append(`supply-${MP}`, 'portfolio', 'SupplyStarted', { gsrn: MP, customerId: 'customer-21', startDate: '2026-01-01', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'monthly', paymentModel: 'actual' });
    await send('RecordMeteredData', meteredPayload(MP, 'doc-1', '2026-10-01', '2026-11-01', () => '1.000'));
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31), 30_000, 100);
    await send('StartSettlementRun', { period: OCTOBER_2026 });
    await eventually(async () => expect((await infra.eventStore.readStream(`invoice-${INVOICE}`)).length).toBe(1), 30_000, 100);

    // A corrected day, received after the invoice was issued: version 2 with one hour at 3.000 kWh.
    const v2 = { ...meteredPayload(MP, 'doc-2', '2026-10-10', '2026-10-11', (h) => (h.getTime() === localDayIntervals('2026-10-10', 'PT1H')[4]!.getTime() ? '3.000' : '1.000')), receivedAt: new Date().toISOString() };
    await send('RecordMeteredData', v2);
    // A corrected spot price for 2026-10-20, published now: hour 0 at 2.00 DKK/kWh.
    await spotDay('2026-10-20', 2, new Date().toISOString(), (i) => (i === 0 ? '2.00' : '1.00'));
    await eventually(async () => expect((await infra.eventStore.readStream(`invoice-${INVOICE}`)).filter((e) => e.type === 'SettlementCorrectionIssued')).toHaveLength(2), 30_000, 100);
    beforeMargin = new Date();
    await new Promise((r) => setTimeout(r, 20));
    // A new product margin for the whole year: corrects the invoice too (a third note, cause price).
    await append('product-spot', 'rates', 'ProductDefined', { productId: 'spot', name: 'Spot', marginDkkPerKwh: '0.06', monthlySubscriptionDkk: '39.00', validFrom: '2026-01-01' });
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(2), 30_000, 100);
    await eventually(async () => expect((await infra.eventStore.readStream(`invoice-${INVOICE}`)).filter((e) => e.type === 'SettlementCorrectionIssued')).toHaveLength(3), 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('explains an invoice: as issued (reproduced from what was known then), the notes that corrected it, and as it would be computed now', async () => {
    const x = await send<InvoiceExplanation>('ExplainInvoice', { invoiceId: INVOICE });
    expect(x.invoice).toMatchObject({ invoiceId: INVOICE, gsrn: MP, period: '2026-10', periodStart: '2026-10-01', periodEnd: '2026-10-31' });
    expect(x.issued.totals).toEqual({ exclVat: '1179.15', vat: '294.79', inclVat: '1473.94' });
    expect(x.asIssued).toMatchObject({ outcome: 'settled', reproduced: true, differingLines: [] });

    // Notes: +2 kWh (metered data: 2.94 excl., VAT per line 0.53 + 0.15 + 0.03 + 0.02 + 0.01), then +1.00 on energy (price),
    // then the margin 0.06 instead of 0.05 on 747 kWh = +7.47 on energy, VAT 196.34 (of 785.35) → 198.21 (of 792.82): +1.87 (price).
    expect(x.notes.map((n) => [n.cause, n.noteType, n.totals.inclVat])).toEqual([
      ['metered-data', 'debit', '3.68'],
      ['price', 'debit', '1.25'],
      ['price', 'debit', '9.34'],
    ]);
    expect(x.bridge).toMatchObject({ issuedInclVat: '1473.94', notesInclVat: '14.27', correctedInclVat: '1488.21', issuedPlusNotesIsCorrected: true });

    // Now equals the corrected invoice: nothing pending.
    const energy = x.lines.find((l) => l.key === 'energy')!;
    expect([energy.issued?.quantityKwh, energy.corrected?.quantityKwh, energy.now?.quantityKwh]).toEqual(['745.000', '747.000', '747.000']);
    expect([energy.issued?.amountExclVat, energy.corrected?.amountExclVat, energy.now?.amountExclVat, energy.pendingExclVat]).toEqual(['782.25', '792.82', '792.82', '0.00']);
    expect(energy.sources).toEqual({ metered: ['consumption'], spot: true, charges: ['product-margin'], rules: [] });
    expect(x.lines.find((l) => l.key === 'grid-subscription:2026-10')!.formula).toMatch(/30\.00 DKK\/month × 31 days supplied ÷ 31 days in 2026-10/);
    expect(x.bridge.pendingInclVat).toBe('0.00');
  });

  it('names the inputs of each computation: metered data versions and qualities, spot price versions, charge rows', async () => {
    const x = await send<InvoiceExplanation>('ExplainInvoice', { invoiceId: INVOICE });
    if (x.asIssued.outcome !== 'settled' || x.now.outcome !== 'settled') throw new Error('expected both computations to settle');
    const issuedMetered = x.asIssued.inputs.metered[0]!;
    expect([issuedMetered.versions, issuedMetered.totalKwh, issuedMetered.qualities]).toEqual([{ '1': 31 }, '745.000', { A04: 745 }]);
    const nowMetered = x.now.inputs.metered[0]!;
    expect([nowMetered.versions, nowMetered.totalKwh]).toEqual([{ '1': 30, '2': 1 }, '747.000']);
    expect(nowMetered.days.find((d) => d.day === '2026-10-10')).toMatchObject({ version: 2, documentId: 'doc-2', positions: 24 });
    expect(x.asIssued.inputs.spot.find((d) => d.day === '2026-10-20')!.versions).toEqual([1]);
    expect(x.now.inputs.spot.find((d) => d.day === '2026-10-20')!.versions).toEqual([2]);
    expect(x.now.inputs.charges['grid-tariff']!.rows.map((r) => [r.validFrom, r.version, r.days, r.prices[0]])).toEqual([['2026-01-01', 1, 31, '0.300000000']]);
    expect(x.asIssued.inputs.charges['product-margin']!.rows.map((r) => r.prices[0])).toEqual(['0.050000000']);
    expect(x.now.inputs.charges['product-margin']!.rows.map((r) => r.prices[0])).toEqual(['0.060000000']);
    expect(x.now.inputs.supply).toEqual({
      productId: 'spot',
      billingFrequency: 'monthly',
      paymentModel: 'actual',
      periods: [{ start: '2026-01-01', end: null }],
      products: [{ productId: 'spot', firstDay: '2026-10-01', lastDay: '2026-10-31', days: 31 }],
    });
  });

  it('dry-runs a correction: the note a recomputation would issue (none now, every input corrected; at an asOf before the margin, its reversal), appending nothing', async () => {
    const before = (await infra.eventStore.readStream(`invoice-${INVOICE}`)).length;
    const dry = await send<InvoiceRecomputation>('RecomputeInvoice', { invoiceId: INVOICE });
    expect(dry.wouldIssue).toMatchObject({ noteType: 'none' });
    // Prices as known before the margin was published: the margin's note taken back.
    const earlier = await send<InvoiceRecomputation>('RecomputeInvoice', { invoiceId: INVOICE, asOf: beforeMargin.toISOString() });
    expect(earlier.wouldIssue).toMatchObject({ noteType: 'credit', totals: { exclVat: '-7.47', inclVat: '-9.34' } });
    expect(earlier.wouldIssue.lines.map((l) => [l.kind, l.amountExclVat])).toEqual([['energy', '-7.47']]);
    // The line names its cause: the product margin as last corrected (0.06, published after beforeMargin) → as known then (0.05).
    expect(earlier.basis).toMatchObject({ outcome: 'settled', reproduced: true, differingLines: [] });
    expect(earlier.wouldIssue.lines[0]!.causes).toEqual([
      expect.objectContaining({ input: 'product-price', role: 'product-margin', firstDay: '2026-10-01', lastDay: '2026-10-31', days: 31, old: expect.objectContaining({ prices: ['0.060000000'] }), new: expect.objectContaining({ prices: ['0.050000000'] }) }),
    ]);
    expect((await infra.eventStore.readStream(`invoice-${INVOICE}`)).length).toBe(before);
  });

  it('applies a dry run: exactly its note, once (cause recompute); a dry run the invoice has moved past is refused', async () => {
    const dry = await send<InvoiceRecomputation>('RecomputeInvoice', { invoiceId: INVOICE, asOf: beforeMargin.toISOString() });
    expect(dry.wouldIssue.noteType).toBe('credit');
    const apply = { invoiceId: INVOICE, asOf: dry.asOf, basedOnRevision: dry.basedOnRevision };
    const applied = await send<{ outcome: string; noteId: string; alreadyApplied: boolean; note: SettlementCorrectionIssued }>('ApplyInvoiceRecomputation', apply);
    // Exactly the dry run's lines (their causes stay in the dry run, the public note carries the lines).
    const noteLines = dry.wouldIssue.lines.map(({ causes: _causes, ...l }) => l);
    expect(applied).toMatchObject({ outcome: 'issued', alreadyApplied: false, note: { cause: 'recompute', noteType: 'credit', totals: dry.wouldIssue.totals } });
    expect(applied.note.lines).toEqual(noteLines);
    const stream = await infra.eventStore.readStream(`invoice-${INVOICE}`);
    expect(stream.filter((e) => e.type === 'SettlementCorrectionIssued')).toHaveLength(4);
    expect(stream.at(-1)!.metadata.actor).toBe('test');
    // Applied again: the same note, nothing new.
    expect(await send('ApplyInvoiceRecomputation', apply)).toMatchObject({ outcome: 'issued', noteId: applied.noteId, alreadyApplied: true });
    expect(await infra.eventStore.readStream(`invoice-${INVOICE}`)).toHaveLength(stream.length);
    // A dry run of an earlier revision (before the last automatic note): the invoice has moved on, dry-run again.
    await expect(send('ApplyInvoiceRecomputation', { ...apply, basedOnRevision: dry.basedOnRevision - 1 })).rejects.toMatchObject({ type: 'recomputation-stale' });
    await expect(send('ApplyInvoiceRecomputation', { invoiceId: INVOICE, asOf: 'yesterday', basedOnRevision: 1 })).rejects.toMatchObject({ type: 'validation' });
  });

  it("dry-runs a customer's invoices and a period's, a page at a time", async () => {
    const byCustomer = await send<{ recomputations: InvoiceRecomputation[]; next: string | null }>('RecomputeInvoices', { customerId: 'customer-21' });
    // Now (after the recompute note took the margin back) a recomputation would charge it again.
    expect(byCustomer.recomputations.map((r) => [r.invoiceId, r.wouldIssue.noteType])).toEqual([[INVOICE, 'debit']]);
    expect(byCustomer.next).toBeNull();
    const byPeriod = await send<{ recomputations: InvoiceRecomputation[]; next: string | null }>('RecomputeInvoices', { period: '2026-10', limit: 1 });
    expect(byPeriod.recomputations.map((r) => r.invoiceId)).toEqual([INVOICE]);
    expect((await send<{ recomputations: InvoiceRecomputation[] }>('RecomputeInvoices', { customerId: 'someone-else' })).recomputations).toEqual([]);
    await expect(send('RecomputeInvoices', {})).rejects.toMatchObject({ type: 'validation' });
    await expect(send('RecomputeInvoices', { period: '2026-13' })).rejects.toMatchObject({ type: 'validation' });
  });

  it('answers not-found and validation refusals', async () => {
    await expect(send('ExplainInvoice', { invoiceId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ type: 'not-found' });
    await expect(send('ExplainInvoice', { invoiceId: 'nope' })).rejects.toMatchObject({ type: 'validation' });
  });
});
