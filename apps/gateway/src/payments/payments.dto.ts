import { IsIn, IsISO8601, IsString, IsUUID, Length, Matches } from 'class-validator';
import { PAYMENT_ID_PATTERN, PAYMENT_METHODS, type PaymentMethod } from '@dh/settlement-application';

/**
 * A payment confirmed by the payment service (PBS 602, card, MobilePay, bank transfer). `reference`
 * is kept as sent: an invoice id or an FI +71 payment line; one that matches no invoice (or is
 * malformed) is still recorded, as unmatched, for staff to match.
 */
export class RecordPaymentDto {
  @Matches(PAYMENT_ID_PATTERN, { message: "payment_id must be the provider's id: 1-128 characters of A-Z a-z 0-9 . _ : - (starting with a letter or digit)" })
  payment_id!: string;

  @IsString()
  @Length(1, 200, { message: 'reference must be 1-200 characters: an invoice id or an FI payment line "+71<…"' })
  reference!: string;

  @Matches(/^\d{1,13}\.\d{2}$/, { message: 'amount must be a positive DKK string with exactly 2 decimals ("123.45")' })
  amount!: string;

  @IsISO8601({ strict: true }, { message: 'paid_at must be an ISO-8601 instant' })
  @Matches(/^\d{4}-\d{2}-\d{2}T/, { message: 'paid_at must be an ISO-8601 instant' })
  paid_at!: string;

  @IsIn(PAYMENT_METHODS, { message: `method must be one of ${PAYMENT_METHODS.join(', ')}` })
  method!: PaymentMethod;
}

/** Staff matching an unmatched payment to an issued invoice. */
export class MatchPaymentDto {
  @IsUUID('all', { message: 'invoice_id must be an invoice id (UUID)' })
  invoice_id!: string;
}
