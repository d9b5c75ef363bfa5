import { correctSpotPrice, seedDisputedCustomer, seedRates, settleOctober, startBackOfficeStack, type BackOfficeStack, type DisputedCustomer } from '@dh/back-office-stack';
import type { InvoiceExplanation } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import { runDesk } from './desk-cli';

/**
 * The support engineers' CLI against a running gateway, settlement, rates and portfolio (from dist/:
 * `npm run build` first): a customer whose October invoice was corrected after a spot price correction.
 */
describe('desk CLI: the dispute desk from a terminal', () => {
  let stack: BackOfficeStack;
  let anna: DisputedCustomer;
  let support: string;
  let admin: string;

  const desk = async (token: string, ...argv: string[]): Promise<string[]> => {
    const lines: string[] = [];
    await runDesk([...argv, '--gateway', stack.gatewayUrl], { DESK_TOKEN: token }, (l) => lines.push(l));
    return lines;
  };
  const deskJson = async <T>(token: string, ...argv: string[]): Promise<T> => JSON.parse((await desk(token, ...argv, '--json')).join('\n')) as T;

  beforeAll(async () => {
    stack = await startBackOfficeStack({ name: 'desk_cli' });
    await seedRates(stack);
    anna = await seedDisputedCustomer(stack);
    await settleOctober(stack, [anna]);
    await correctSpotPrice(stack, [anna]);
    support = await stack.staffToken('support', 'employee-desk-support');
    admin = await stack.staffToken('admin', 'employee-desk-admin');
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it("lists a customer's stream with recorded time and causation, and refuses without a reason", async () => {
    await expect(desk(support, 'events', `customer-${anna.customerId}`)).rejects.toThrow(/400 access-reason-required/);
    const lines = await desk(support, 'events', `customer-${anna.customerId}`, '--reason', 'ticket 4711: invoice dispute');
    expect(lines[0]).toBe(`customer-${anna.customerId} (customer)`);
    expect(lines.filter((l) => /CustomerCreated|CustomerActivated/.test(l))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('v1.');
  });

  it('steps an invoice back in time: before the correction there is no note, now there is one; diff names the event', async () => {
    const stream = `invoice-${anna.invoiceId}`;
    type State = { state: { notes: unknown[]; current: { totals: { inclVat: string } }; issued: { totals: { inclVat: string } } } };
    const before = await deskJson<State>(support, 'state', stream, '--as-of', anna.beforeCorrection.toISOString(), '--reason', 'ticket 4711');
    expect(before.state.notes).toEqual([]);
    expect(before.state.current).toEqual(before.state.issued);
    const now = await deskJson<State>(support, 'state', stream, '--reason', 'ticket 4711');
    expect(now.state.notes).toHaveLength(1);
    const diff = await desk(support, 'diff', stream, '--from', anna.beforeCorrection.toISOString(), '--reason', 'ticket 4711');
    expect(diff.some((l) => l.includes('SettlementCorrectionIssued'))).toBe(true);
    expect(diff.some((l) => /changed +current\.lines\.energy\.amountExclVat/.test(l))).toBe(true);
  });

  it('traces the correction note to the spot price version that caused it', async () => {
    const events = await deskJson<{ events: { event_id: string; type: string }[] }>(support, 'events', `invoice-${anna.invoiceId}`, '--reason', 'ticket 4711');
    const note = events.events.find((e) => e.type === 'SettlementCorrectionIssued')!;
    const trace = await deskJson<{ causes: { type: string; stream_id: string; data: { version: number } }[] }>(support, 'trace', note.event_id, '--reason', 'ticket 4711');
    expect(trace.causes[0]).toMatchObject({ type: 'SpotPricesPublished', stream_id: 'spot-prices-DK1-2026-10-10', data: { version: 2 } });
  });

  it('explains the invoice: reproduced as issued, the note bridges issued and corrected, nothing pending, inputs named', async () => {
    const x = await deskJson<InvoiceExplanation>(support, 'explain', anna.invoiceId, '--reason', 'ticket 4711');
    expect(x.asIssued).toMatchObject({ outcome: 'settled', reproduced: true });
    expect(x.notes.map((n) => [n.noteId, n.cause])).toEqual([[anna.noteId, 'price']]);
    expect(x.bridge).toMatchObject({ issuedPlusNotesIsCorrected: true, pendingInclVat: '0.00' });
    if (x.now.outcome !== 'settled' || x.asIssued.outcome !== 'settled') throw new Error('expected settled computations');
    expect(x.asIssued.inputs.spot.find((d) => d.day === '2026-10-10')!.versions).toEqual([1]);
    expect(x.now.inputs.spot.find((d) => d.day === '2026-10-10')!.versions).toEqual([2]);
    expect(x.now.inputs.metered[0]).toMatchObject({ totalKwh: '372.500', versions: { '1': 31 }, qualities: { A04: 744, A03: 1 } });
    expect(x.lines.find((l) => l.key === 'energy')!.issued!.estimated).toBe(true);
    const text = await desk(support, 'explain', anna.invoiceId, '--reason', 'ticket 4711');
    expect(text.some((l) => l.startsWith('bridge: issued') && l.includes('(balances)'))).toBe(true);
  });

  it('changes a product margin as a new version (admin only); the catalogue shows it to CRM, the explanation shows what it would change', async () => {
    await expect(desk(support, 'define-product', 'standard', '--name', 'Standard spot', '--margin', '0.0595', '--subscription', '29.00', '--valid-from', '2026-01-01')).rejects.toThrow(/403 forbidden/);
    const changed = await desk(admin, 'define-product', 'standard', '--name', 'Standard spot', '--margin', '0.0595', '--subscription', '29.00', '--valid-from', '2026-01-01', '--billing', 'monthly', '--reason', 'price change approved 2026-11-20');
    expect(changed).toEqual(['recorded: product-standard version 2']);
    const products = await deskJson<{ products: { product_id: string; versions: { version: number; actor: string; data: { marginDkkPerKwh: string } }[] }[] }>(support, 'products');
    const standard = products.products.find((p) => p.product_id === 'standard')!;
    expect(standard.versions.map((v) => [v.version, v.data.marginDkkPerKwh, v.actor])).toEqual([
      [1, '0.0495', expect.any(String)],
      [2, '0.0595', 'staff:employee-desk-admin'],
    ]);
    let catalogue: { products: { product_id: string; margin_dkk_per_kwh: string; billing_frequencies: string[] }[] } = { products: [] };
    await eventually(async () => {
      catalogue = (await (await fetch(`${stack.gatewayUrl}/api/products`, { headers: stack.crm })).json()) as typeof catalogue;
      expect(catalogue.products.find((p) => p.product_id === 'standard')).toMatchObject({ margin_dkk_per_kwh: '0.0595', billing_frequencies: ['monthly'] });
    }, 20_000, 200);
    // A product's new prices correct the invoices of the supplies on it: a second note (price) of
    // 372.500 kWh × 0.01 DKK/kWh = 3.725 DKK on energy, the difference of two lines each rounded once; nothing pending.
    const x = await eventually(async () => {
      const e = await deskJson<InvoiceExplanation>(support, 'explain', anna.invoiceId, '--reason', 'ticket 4711');
      expect(e.notes.map((n) => n.cause)).toEqual(['price', 'price']);
      expect(['3.72', '3.73']).toContain(e.notes[1]!.lines.find((l) => l.key === 'energy')!.amountExclVat);
      expect(e.lines.find((l) => l.key === 'energy')!.pendingExclVat).toBe('0.00');
      return e;
    }, 20_000, 500);
    expect(x.now.outcome === 'settled' && x.now.inputs.charges['product-margin']!.rows[0]!.prices).toEqual(['0.059500000']);
    const audit = await deskJson<{ entries: { action: string; subject_id: string; reason: string | null }[] }>(admin, 'audit', '--action', 'rates.define-product');
    expect(audit.entries[0]).toMatchObject({ subject_id: 'standard', reason: 'price change approved 2026-11-20' });
  });

  it('a manual spot price correction is a new version with its reason, and settlement issues the correction note for it', async () => {
    const day = await deskJson<{ versions: { data: { prices: { start: string }[] } }[] }>(support, 'spot-prices', '--price-area', 'DK1', '--date', '2026-10-12');
    const start = day.versions[0]!.data.prices[40]!.start;
    const corrected = await desk(admin, 'correct-spot', '--price-area', 'DK1', '--date', '2026-10-12', '--price', `${start}=1999.5`, '--why', 'Nord Pool price notice 2026-10-13');
    expect(corrected).toEqual(['recorded: spot-prices-DK1-2026-10-12 version 2']);
    const versions = await desk(support, 'spot-prices', '--price-area', 'DK1', '--date', '2026-10-12');
    expect(versions.some((l) => l.includes('manual') && l.includes('Nord Pool price notice 2026-10-13'))).toBe(true);
    await eventually(async () => {
      const x = await deskJson<InvoiceExplanation>(support, 'explain', anna.invoiceId, '--reason', 'ticket 4711');
      expect(x.notes.map((n) => n.cause)).toEqual(['price', 'price', 'price']);
    }, 30_000, 500);
  });

  it('recomputes on demand: a dry run (support) shows the note, applying it (admin) issues exactly that note once, cause recompute', async () => {
    // Prices as known just before the manual spot correction of 2026-10-12: the dry run takes that correction back.
    const day = await deskJson<{ versions: { data: { version: number; publishedAt: string } }[] }>(support, 'spot-prices', '--price-area', 'DK1', '--date', '2026-10-12');
    const corrected = day.versions.find((v) => v.data.version === 2)!.data.publishedAt;
    const asOf = new Date(Date.parse(corrected) - 1000).toISOString();
    expect((await deskJson<{ wouldIssue: { noteType: string } }>(support, 'recompute', anna.invoiceId, '--reason', 'ticket 4712')).wouldIssue.noteType).toBe('none');
    const dry = await deskJson<{ wouldIssue: { noteType: string; lines: { key: string }[]; totals: { inclVat: string } } }>(support, 'recompute', anna.invoiceId, '--as-of', asOf, '--reason', 'ticket 4712');
    expect(dry.wouldIssue.noteType).toBe('credit');
    expect(dry.wouldIssue.lines.map((l) => l.key)).toContain('energy');
    // Each line names the input that caused it: the spot prices of 2026-10-12, version 2 as last corrected → version 1 as known at asOf.
    const text = await desk(support, 'recompute', anna.invoiceId, '--as-of', asOf, '--reason', 'ticket 4712');
    expect(text.some((l) => /^ {4}spot price DK1 2026-10-12: v[0-9/]*2 → v1/.test(l))).toBe(true);
    await expect(desk(support, 'recompute', anna.invoiceId, '--as-of', asOf, '--apply', '--reason', 'ticket 4712')).rejects.toThrow(/403 forbidden/);
    const applied = await desk(admin, 'recompute', anna.invoiceId, '--as-of', asOf, '--apply', '--reason', 'ticket 4712');
    expect(applied.at(-1)).toMatch(/^applied: note [0-9a-f-]{36}$/);
    // The note is exactly the dry run's; applied again nothing more is issued.
    const x = await deskJson<InvoiceExplanation>(support, 'explain', anna.invoiceId, '--reason', 'ticket 4712');
    expect(x.notes.map((n) => n.cause)).toEqual(['price', 'price', 'price', 'recompute']);
    expect(x.notes[3]!.totals.inclVat).toBe(dry.wouldIssue.totals.inclVat);
    expect((await desk(admin, 'recompute', anna.invoiceId, '--as-of', asOf, '--apply', '--reason', 'ticket 4712')).at(-1)).toBe('applied: unchanged, nothing issued');
    // The customer's invoices (and a period's) the same way, page by page.
    const many = await desk(support, 'recompute', '--customer', anna.customerId, '--reason', 'ticket 4712');
    expect(many.filter((l) => l.startsWith('invoice '))).toEqual([expect.stringMatching(new RegExp(`^invoice ${anna.invoiceId} `))]);
    expect((await desk(support, 'recompute', '--period', '2026-10', '--reason', 'ticket 4712')).some((l) => l.startsWith(`invoice ${anna.invoiceId} `))).toBe(true);
    // The customer's dry runs are audited under the customer named in the query (the period's have no subject).
    const reads = await deskJson<{ entries: { subject_id: string | null; reason: string | null }[] }>(admin, 'audit', '--action', 'invoice.recompute.many');
    expect(reads.entries).toEqual(expect.arrayContaining([expect.objectContaining({ subject_id: anna.customerId, reason: 'ticket 4712' })]));
    const audit = await deskJson<{ entries: { action: string; subject_id: string; reason: string | null }[] }>(admin, 'audit', '--action', 'invoice.recompute.apply');
    expect(audit.entries[0]).toMatchObject({ subject_id: anna.invoiceId, reason: 'ticket 4712' });
  });

  it("reads the audit log (admin only): the support engineer's reads with their reason", async () => {
    await expect(desk(support, 'audit')).rejects.toThrow(/403 forbidden/);
    const entries = await deskJson<{ entries: { action: string; reason: string | null; outcome: string }[] }>(admin, 'audit', '--actor', 'employee-desk-support', '--limit', '50');
    expect(entries.entries.some((e) => e.action === 'invoice.explain' && e.reason === 'ticket 4711' && e.outcome === 'success')).toBe(true);
    expect(entries.entries.some((e) => e.action === 'stream.events' && e.outcome === 'refused')).toBe(true);
  });
});
