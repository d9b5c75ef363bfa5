import { toJsonObject } from './events';

/** What toJsonObject must give: the JSON round trip it replaced. */
const viaJson = (value: object): unknown => JSON.parse(JSON.stringify(value));

describe('toJsonObject', () => {
  it('gives exactly the JSON round trip of an InvoiceIssued-like payload (undefined keys left out, nulls kept)', () => {
    const line = { key: 'energy', kind: 'energy', description: 'Elektricitet', chargeId: null, month: undefined, quantityKwh: '745.000', unitPrice: null, amountExclVat: '100.00', estimated: false };
    const value = { invoiceId: 'x', lines: [line, { ...line, month: '2026-10', daysSupplied: 31 }], totals: { exclVat: '1.00', vat: '0.25', inclVat: '1.25' }, final: undefined, estimated: false };
    const copy = toJsonObject(value);
    expect(copy).toStrictEqual(viaJson(value));
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
    expect(Object.keys(copy.lines as object[])).toEqual(['0', '1']);
    expect('month' in (copy.lines as Record<string, unknown>[])[0]!).toBe(false);
    // A copy, not the same objects.
    expect(copy.totals).not.toBe(value.totals);
  });

  it('treats every value JSON treats specially as JSON does', () => {
    class Money {
      constructor(readonly amount: string) {}
      toJSON(): string {
        return `DKK ${this.amount}`;
      }
    }
    class Plain {
      a = 1;
      b = undefined;
    }
    const keyed = { toJSON: (key: string) => `key:${key}` };
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { x: 1, y: undefined });
    const own = JSON.parse('{"__proto__": {"polluted": true}, "z": 1}') as object;
    const values: object[] = [
      { n: -0, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ninf: Number.NEGATIVE_INFINITY, big: 1e300, small: 5e-324 },
      { arr: [undefined, () => 1, Symbol('s'), Number.NaN, -0, null, 'x', [undefined]] },
      { fn: () => 1, sym: Symbol('s'), undef: undefined, nul: null },
      { date: new Date('2026-10-01T00:00:00.000Z'), dates: [new Date(0)], money: new Money('1.00'), list: [new Money('2.00')] },
      { plain: new Plain(), keyed, inArray: [keyed, keyed], nullProto },
      { boxed: [Object(1) as object, Object('s') as object, Object(true) as object] },
      { own },
      new Date('2026-10-01T00:00:00.000Z'),
      [1, undefined, { a: undefined }],
      { deep: JSON.parse(`${'['.repeat(300)}1${']'.repeat(300)}`) as unknown },
      { unicode: 'æøå \u2028 "quoted" \\ \u0000' },
      { wh: [1, -0, null, Number.NaN, 2_147_483_648, Number.NEGATIVE_INFINITY, 'A04', true], sparse: Object.assign(new Array<unknown>(4), { 1: 7, 3: [-0] }) },
    ];
    for (const v of values) {
      expect(toJsonObject(v)).toStrictEqual(viaJson(v));
      expect(JSON.stringify(toJsonObject(v))).toBe(JSON.stringify(v));
    }
    expect(Object.getPrototypeOf(toJsonObject({ own }).own)).toBe(Object.prototype);
    expect(Object.keys(toJsonObject(own))).toEqual(['__proto__', 'z']);
  });

  it('refuses what JSON refuses', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => toJsonObject(cyclic)).toThrow(TypeError);
    expect(() => toJsonObject({ big: 1n })).toThrow(TypeError);
  });
});
