import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { JsonObject } from '@dh/event-store';
import { ProblemException } from '@dh/platform';
import { PORTAL_PRODUCTS_TABLE } from '@dh/read-models';
import { CommandGateway } from '../commands/command-gateway';
import type { SupplyTermsDto } from './create-customer.dto';

export interface MeteringPointLookup extends JsonObject {
  gsrn: string;
}

/** Keys derived from the caller's Idempotency-Key, so each step of a retried onboarding is absorbed. */
const stepKey = (key: string | undefined, step: string): JsonObject => (key ? { idempotencyKey: `${key}:${step}` } : {});

/**
 * CRM onboarding: look the metering point up in Eloverblik, register it, and start the DataHub
 * process (BRS-001 switch or BRS-009 move-in). Every step is idempotent, so a retry with the same
 * Idempotency-Key completes a half-done onboarding without doubling anything.
 */
@Injectable()
export class OnboardingService {
  constructor(
    private readonly commands: CommandGateway,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /** The product must exist in the catalogue (products defined in rates, projected for the gateway). */
  async assertProductExists(productId: string): Promise<void> {
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM ${PORTAL_PRODUCTS_TABLE} WHERE product_id = $1 LIMIT 1`, [productId]);
    if (rows.length === 0) {
      throw new ProblemException({
        type: 'validation',
        title: 'Request body is invalid',
        status: 400,
        errors: [{ field: 'product_id', messages: [`product_id "${productId}" is not in the product catalogue`] }],
      });
    }
  }

  lookup(gsrn: string): Promise<MeteringPointLookup> {
    return this.commands.send<MeteringPointLookup>('datahub-integration', 'LookupMeteringPoint', { gsrn });
  }

  async startSupply(customerId: string, terms: SupplyTermsDto, idempotencyKey: string | undefined): Promise<{ processId: string; meteringPoint: MeteringPointLookup }> {
    await this.assertProductExists(terms.product_id);
    const meteringPoint = await this.lookup(terms.gsrn);
    await this.commands.send('portfolio', 'RegisterMeteringPoint', {
      gsrn: terms.gsrn,
      type: meteringPoint.type ?? null,
      settlementMethod: meteringPoint.settlementMethod ?? null,
      gridArea: meteringPoint.gridArea ?? null,
      priceArea: meteringPoint.priceArea ?? null,
      // The production point beside it (own solar) when the lookup's master data names one.
      linkedProductionGsrn: typeof meteringPoint.linkedProductionGsrn === 'string' ? meteringPoint.linkedProductionGsrn : null,
      source: 'eloverblik',
    });
    const { processId } = await this.commands.send<{ processId: string }>('portfolio', terms.move_in ? 'RequestMoveIn' : 'RequestSwitch', {
      customerId,
      gsrn: terms.gsrn,
      effectiveDate: terms.desired_start_date,
      productId: terms.product_id,
      billingFrequency: terms.billing_frequency,
      paymentModel: terms.payment_model,
      electricHeating: terms.electric_heating === true,
      ...stepKey(idempotencyKey, terms.move_in ? 'move-in' : 'switch'),
    });
    if (terms.payment_model === 'aconto') await this.passExpectedConsumption(customerId, meteringPoint, idempotencyKey);
    return { processId, meteringPoint };
  }

  /**
   * Aconto customers: settlement needs the expected annual consumption for the first quarterly
   * estimate (`SetExpectedConsumption`, idempotent: the same value again appends nothing). Eloverblik's
   * measured history (12 months, or scaled to a year) is `source: 'eloverblik'`; DataHub's estimated
   * annual volume is `source: 'estimate'`. Without either nothing is sent (no aconto invoice until
   * it is set). Sent only for aconto, so onboarding of other customers does not depend on settlement.
   */
  private async passExpectedConsumption(customerId: string, meteringPoint: MeteringPointLookup, idempotencyKey: string | undefined): Promise<void> {
    const expected = meteringPoint.expectedAnnualConsumption;
    if (typeof expected !== 'object' || expected === null || Array.isArray(expected) || typeof expected.kwh !== 'string') return;
    const basis = typeof expected.basis === 'string' ? expected.basis : null;
    await this.commands.send('settlement', 'SetExpectedConsumption', {
      gsrn: meteringPoint.gsrn,
      customerId,
      expectedAnnualKwh: expected.kwh,
      source: basis === 'estimated-annual-volume' || basis === null ? 'estimate' : 'eloverblik',
      basis,
      ...stepKey(idempotencyKey, 'expected-consumption'),
    });
  }
}
