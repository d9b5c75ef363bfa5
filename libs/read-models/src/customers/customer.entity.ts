import { Column, Entity, PrimaryColumn } from 'typeorm';

/** TypeORM view of the customers read model, for the gateway's queries. The projection owns the table. */
@Entity({ schema: 'read_models', name: 'customers' })
export class CustomerReadModel {
  @PrimaryColumn({ name: 'customer_id', type: 'uuid' })
  customerId!: string;

  @Column({ name: 'customer_type', type: 'text' })
  customerType!: string;

  @Column({ name: 'personal_data', type: 'text' })
  personalData!: string;

  @Column({ type: 'text' })
  status!: string;

  @Column({ name: 'stream_revision', type: 'bigint' })
  streamRevision!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
