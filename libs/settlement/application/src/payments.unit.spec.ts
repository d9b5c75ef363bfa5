import { isValidFiPaymentId71 } from '@dh/market-ids';
import { Money } from '@dh/money';
import { dueDateOf, overdueOf, parseRecordPayment, parseReference, paymentReference, PaymentCommandRejected } from './payments';

const INVOICE = '6f1c2a9e-1b7d-5c3e-9a41-0d2e8f7b6c5a';

describe('payment references', () => {
  it('derives a stable FI +71 payment id with a Luhn check digit from the invoice id', () => {
    const ref = paymentReference(INVOICE);
    expect(ref).toMatch(/^\+71<\d{15}$/);
    expect(isValidFiPaymentId71(ref.slice(4))).toBe(true);
    expect(paymentReference(INVOICE.toUpperCase())).toBe(ref);
    expect(paymentReference('6f1c2a9e-1b7d-5c3e-9a41-0d2e8f7b6c5b')).not.toBe(ref);
    expect(() => paymentReference('not-a-uuid')).toThrow(RangeError);
  });

  it('parses an invoice id, an FI line with or without creditor number, and refuses a wrong check digit', () => {
    const ref = paymentReference(INVOICE);
    expect(parseReference(INVOICE.toUpperCase())).toEqual({ kind: 'invoice-id', invoiceId: INVOICE });
    expect(parseReference(ref)).toEqual({ kind: 'fi', paymentId71: ref });
    expect(parseReference(`${ref}+85140000<`)).toEqual({ kind: 'fi', paymentId71: ref });
    expect(parseReference(` ${ref}< `)).toEqual({ kind: 'fi', paymentId71: ref });
    const wrong = ref.slice(0, -1) + String((Number(ref.slice(-1)) + 1) % 10);
    expect(parseReference(wrong)).toEqual({ kind: 'malformed' });
    expect(parseReference('faktura 42')).toEqual({ kind: 'malformed' });
    expect(parseReference('+71<12345')).toEqual({ kind: 'malformed' });
  });
});

describe('RecordPayment payload', () => {
  const ok = { paymentId: 'pbs-1', reference: INVOICE, amount: '10.00', paidAt: '2026-11-05T07:00:00+01:00', method: 'card' };
  it('normalises the instant and keeps the reference as sent', () => {
    expect(parseRecordPayment(ok)).toEqual({ paymentId: 'pbs-1', reference: INVOICE, amount: '10.00', paidAt: '2026-11-05T06:00:00.000Z', method: 'card' });
  });
  it.each([
    [{ amount: '10.5' }, 'amount'],
    [{ amount: '0.00' }, 'positive'],
    [{ amount: '-1.00' }, 'amount'],
    [{ method: 'cash' }, 'method'],
    [{ paymentId: 'has space' }, 'paymentId'],
    [{ paidAt: '2026-11-05' }, 'paidAt'],
    [{ reference: '' }, 'reference'],
  ])('refuses %p', (change, word) => {
    expect(() => parseRecordPayment({ ...ok, ...change })).toThrow(PaymentCommandRejected);
    expect(() => parseRecordPayment({ ...ok, ...change })).toThrow(word);
  });
});

describe('due date and overdue', () => {
  it('is the local issue date + terms, moved to the next banking day', () => {
    // Issued Monday 2026-11-02 (Copenhagen) → due Monday 2026-11-16.
    expect(dueDateOf(new Date('2026-11-02T08:00:00Z'))).toBe('2026-11-16');
    // 23:30 UTC on 1 Nov is already 2 Nov in Copenhagen.
    expect(dueDateOf(new Date('2026-11-01T23:30:00Z'))).toBe('2026-11-16');
    // Issued 2026-12-10 + 14 = Thursday 24 Dec (bank closing day) → Monday 28 Dec (25/26 are holidays, 27 Sunday).
    expect(dueDateOf(new Date('2026-12-10T09:00:00Z'))).toBe('2026-12-28');
    expect(dueDateOf(new Date('2026-11-02T08:00:00Z'), 30)).toBe('2026-12-02');
    expect(() => dueDateOf(new Date(), -1)).toThrow(RangeError);
  });

  it('is overdue only after the due date and with an amount still due', () => {
    const base = { invoiceId: INVOICE, customerId: 'c', dueDate: '2026-11-16' };
    expect(overdueOf({ ...base, amountDue: Money.parse('300.00'), today: '2026-11-16' })).toBeNull();
    expect(overdueOf({ ...base, amountDue: Money.parse('300.00'), today: '2026-11-17' })).toEqual({ ...base, amountDue: '300.00', daysOverdue: 1 });
    expect(overdueOf({ ...base, amountDue: Money.ZERO, today: '2026-11-20' })).toBeNull();
    expect(overdueOf({ ...base, amountDue: Money.parse('-5.00'), today: '2026-11-20' })).toBeNull();
  });
});
