import { Column, Entity, PrimaryColumn } from 'typeorm';

export interface ProcessHistoryEntry {
  from: string | null;
  status: string;
  at: string;
  reason?: string;
}

@Entity({ schema: 'read_models', name: 'processes' })
export class ProcessReadModel {
  @PrimaryColumn({ name: 'process_id', type: 'uuid' })
  processId!: string;

  @Column({ type: 'text', nullable: true })
  kind!: string | null;

  @Column({ type: 'text', nullable: true })
  gsrn!: string | null;

  @Column({ name: 'customer_id', type: 'uuid', nullable: true })
  customerId!: string | null;

  @Column({ name: 'effective_date', type: 'date', nullable: true })
  effectiveDate!: string | null;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'jsonb', nullable: true })
  rejection!: { reasonCode: string; reasonText: string } | null;

  @Column({ type: 'jsonb' })
  history!: ProcessHistoryEntry[];

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ schema: 'read_models', name: 'metering_points' })
export class MeteringPointReadModel {
  @PrimaryColumn({ type: 'text' })
  gsrn!: string;

  @Column({ type: 'text', nullable: true })
  type!: string | null;

  @Column({ name: 'settlement_method', type: 'text', nullable: true })
  settlementMethod!: string | null;

  @Column({ name: 'grid_area', type: 'text', nullable: true })
  gridArea!: string | null;

  @Column({ name: 'price_area', type: 'text', nullable: true })
  priceArea!: string | null;

  @Column({ name: 'customer_id', type: 'uuid', nullable: true })
  customerId!: string | null;

  @Column({ name: 'supply_status', type: 'text' })
  supplyStatus!: string;

  @Column({ name: 'supply_start', type: 'date', nullable: true })
  supplyStart!: string | null;

  @Column({ name: 'supply_end', type: 'date', nullable: true })
  supplyEnd!: string | null;

  @Column({ name: 'product_id', type: 'text', nullable: true })
  productId!: string | null;

  @Column({ name: 'billing_frequency', type: 'text', nullable: true })
  billingFrequency!: string | null;

  @Column({ name: 'payment_model', type: 'text', nullable: true })
  paymentModel!: string | null;
}
