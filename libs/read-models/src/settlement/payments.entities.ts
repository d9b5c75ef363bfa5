import { Column, Entity, PrimaryColumn } from 'typeorm';

/** TypeORM view of `read_models.payments` (owned by `paymentsProjection`). numeric → string: exact. */
@Entity({ schema: 'read_models', name: 'payments' })
export class PaymentReadModel {
  @PrimaryColumn({ name: 'payment_id', type: 'text' }) paymentId!: string;
  /** `matched` (PaymentReceived) or `unmatched` (kept for staff). */
  @Column({ type: 'text' }) status!: string;
  @Column({ name: 'customer_id', type: 'text', nullable: true }) customerId!: string | null;
  @Column({ name: 'invoice_id', type: 'uuid', nullable: true }) invoiceId!: string | null;
  /** The reference as the payment service sent it (unmatched payments; null when matched on arrival). */
  @Column({ type: 'text', nullable: true }) reference!: string | null;
  @Column({ type: 'numeric' }) amount!: string;
  @Column({ name: 'paid_at', type: 'timestamptz' }) paidAt!: Date;
  @Column({ type: 'text' }) method!: string;
  @Column({ name: 'unmatched_reason', type: 'text', nullable: true }) unmatchedReason!: string | null;
  @Column({ name: 'recorded_at', type: 'timestamptz' }) recordedAt!: Date;
  @Column({ name: 'matched_at', type: 'timestamptz', nullable: true }) matchedAt!: Date | null;
}

export const PAYMENT_READ_MODEL_ENTITIES = [PaymentReadModel];
