import { Column, Entity, PrimaryColumn } from 'typeorm';

/** TypeORM views of the settlement read model (owned by `settlementProjection`). numeric → string: exact. */
@Entity({ schema: 'read_models', name: 'settlement_invoices' })
export class SettlementInvoiceReadModel {
  @PrimaryColumn({ name: 'invoice_id', type: 'uuid' }) invoiceId!: string;
  @Column({ name: 'run_id', type: 'uuid', nullable: true }) runId!: string | null;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gsrn!: string;
  @Column({ type: 'text' }) period!: string;
  @Column({ name: 'period_start', type: 'text' }) periodStart!: string;
  @Column({ name: 'period_end', type: 'text' }) periodEnd!: string;
  @Column({ name: 'payment_model', type: 'text' }) paymentModel!: string;
  @Column({ type: 'jsonb' }) lines!: SettlementLineJson[];
  @Column({ name: 'total_excl_vat', type: 'numeric' }) totalExclVat!: string;
  @Column({ name: 'total_vat', type: 'numeric' }) totalVat!: string;
  @Column({ name: 'total_incl_vat', type: 'numeric' }) totalInclVat!: string;
  @Column({ name: 'aconto_paid', type: 'numeric' }) acontoPaid!: string;
  @Column({ name: 'aconto_difference', type: 'numeric' }) acontoDifference!: string;
  @Column({ name: 'net_amount_due', type: 'numeric' }) netAmountDue!: string;
  @Column({ type: 'boolean' }) estimated!: boolean;
  @Column({ name: 'as_of', type: 'timestamptz' }) asOf!: Date;
  @Column({ name: 'issued_at', type: 'timestamptz' }) issuedAt!: Date;
}

@Entity({ schema: 'read_models', name: 'settlement_notes' })
export class SettlementNoteReadModel {
  @PrimaryColumn({ name: 'note_id', type: 'uuid' }) noteId!: string;
  @Column({ name: 'invoice_id', type: 'uuid' }) invoiceId!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gsrn!: string;
  @Column({ type: 'text' }) period!: string;
  @Column({ name: 'note_type', type: 'text' }) noteType!: string;
  @Column({ type: 'text' }) cause!: string;
  @Column({ type: 'jsonb' }) lines!: SettlementLineJson[];
  @Column({ name: 'total_excl_vat', type: 'numeric' }) totalExclVat!: string;
  @Column({ name: 'total_vat', type: 'numeric' }) totalVat!: string;
  @Column({ name: 'total_incl_vat', type: 'numeric' }) totalInclVat!: string;
  @Column({ name: 'issued_at', type: 'timestamptz' }) issuedAt!: Date;
  /** `pending` until ERP acknowledges it has booked the note, then `acknowledged`. */
  @Column({ name: 'export_state', type: 'text' }) exportState!: string;
  @Column({ name: 'acknowledged_at', type: 'timestamptz', nullable: true }) acknowledgedAt!: Date | null;
  @Column({ name: 'erp_reference', type: 'text', nullable: true }) erpReference!: string | null;
}

@Entity({ schema: 'read_models', name: 'settlement_runs' })
export class SettlementRunReadModel {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' }) runId!: string;
  @Column({ type: 'text' }) period!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ name: 'items_total', type: 'int' }) itemsTotal!: number;
  @Column({ name: 'items_done', type: 'int' }) itemsDone!: number;
  @Column({ name: 'items_invoiced', type: 'int' }) itemsInvoiced!: number;
  @Column({ name: 'items_halted', type: 'int' }) itemsHalted!: number;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt!: Date;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt!: Date | null;
}

@Entity({ schema: 'read_models', name: 'settlement_halts' })
export class SettlementHaltReadModel {
  @PrimaryColumn({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @Column({ name: 'run_id', type: 'uuid', nullable: true }) runId!: string | null;
  @Column({ type: 'text' }) gsrn!: string;
  @Column({ type: 'text' }) period!: string;
  @Column({ type: 'text' }) reason!: string;
  @Column({ type: 'jsonb' }) detail!: Record<string, unknown>;
  @Column({ name: 'halted_at', type: 'timestamptz' }) haltedAt!: Date;
}

/** A metering point halted in a period and not invoiced since (`resolvedAt` null or before `haltedAt`). */
@Entity({ schema: 'read_models', name: 'settlement_halted_items' })
export class SettlementHaltedItemReadModel {
  @PrimaryColumn({ type: 'text' }) period!: string;
  @PrimaryColumn({ type: 'text' }) gsrn!: string;
  @Column({ name: 'run_id', type: 'uuid' }) runId!: string;
  @Column({ type: 'text' }) reason!: string;
  @Column({ type: 'jsonb' }) detail!: Record<string, unknown>;
  @Column({ type: 'timestamptz' }) since!: Date;
  @Column({ name: 'halted_at', type: 'timestamptz' }) haltedAt!: Date;
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true }) resolvedAt!: Date | null;
  @Column({ name: 'resolved_by_run_id', type: 'uuid', nullable: true }) resolvedByRunId!: string | null;
}

@Entity({ schema: 'read_models', name: 'aconto_payments' })
export class AcontoPaymentReadModel {
  @PrimaryColumn({ name: 'payment_id', type: 'text' }) paymentId!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gsrn!: string;
  @Column({ type: 'numeric' }) amount!: string;
  @Column({ name: 'paid_at', type: 'timestamptz' }) paidAt!: Date;
}

@Entity({ schema: 'read_models', name: 'aconto_invoices' })
export class AcontoInvoiceReadModel {
  @PrimaryColumn({ name: 'aconto_invoice_id', type: 'uuid' }) acontoInvoiceId!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gsrn!: string;
  @Column({ type: 'text' }) quarter!: string;
  @Column({ name: 'period_start', type: 'text' }) periodStart!: string;
  @Column({ name: 'period_end', type: 'text' }) periodEnd!: string;
  @Column({ name: 'amount_excl_vat', type: 'numeric' }) amountExclVat!: string;
  @Column({ type: 'numeric' }) vat!: string;
  @Column({ name: 'amount_incl_vat', type: 'numeric' }) amountInclVat!: string;
  @Column({ name: 'due_date', type: 'text' }) dueDate!: string;
  @Column({ type: 'text' }) trigger!: string;
  @Column({ name: 'settled_period', type: 'text', nullable: true }) settledPeriod!: string | null;
  @Column({ type: 'jsonb' }) basis!: AcontoBasisJson;
  @Column({ name: 'issued_at', type: 'timestamptz' }) issuedAt!: Date;
}

/** The basis of an aconto invoice, as in `AcontoInvoiceIssued.basis`. */
export interface AcontoBasisJson {
  expectedAnnualKwh: string;
  pricePerKwh: string;
  priceSource: string;
  referenceMonth: string;
  monthlySubscriptions: string;
  quarterShare: string;
  daysSupplied: number;
  daysInQuarter: number;
}

/** A line as stored in the events (amounts are 2-decimal DKK strings). */
export interface SettlementLineJson {
  key: string;
  kind: string;
  description: string;
  chargeId: string | null;
  month: string | null;
  quantityKwh: string | null;
  daysSupplied: number | null;
  daysInMonth?: number | null;
  unitPrice?: string | null;
  amountExclVat: string;
  vat: string;
  amountInclVat: string;
  estimated?: boolean;
}

export const SETTLEMENT_READ_MODEL_ENTITIES = [SettlementInvoiceReadModel, SettlementNoteReadModel, SettlementRunReadModel, SettlementHaltReadModel, SettlementHaltedItemReadModel, AcontoPaymentReadModel, AcontoInvoiceReadModel];
