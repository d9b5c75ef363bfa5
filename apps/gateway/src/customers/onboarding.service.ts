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
  /**
   * The product must be in the catalogue; with supply terms, it must also be offered with the billing
   * frequency asked for and still be on sale on the start date (the latest definition decides both).
   */
  async assertProductExists(productId: string, terms?: { billingFrequency: string; startDate: string }): Promise<void> {
    const refuse = (field: string, message: string): never => {
      throw new ProblemException({ type: 'validation', title: 'Request body is invalid', status: 400, errors: [{ field, messages: [message] }] });
    };
    const rows: { billing_frequencies: string[] | null; valid_to: string | null }[] = await this.db.query(
      `SELECT billing_frequencies, to_char(valid_to, 'YYYY-MM-DD') AS valid_to FROM ${PORTAL_PRODUCTS_TABLE} WHERE product_id = $1 ORDER BY defined_at DESC LIMIT 1`,
      [productId],
    );
    const latest = rows[0];
    if (latest === undefined) return refuse('product_id', `product_id "${productId}" is not in the product catalogue`);
    if (terms === undefined) return;
    if (latest.billing_frequencies !== null && !latest.billing_frequencies.includes(terms.billingFrequency)) {
      refuse('billing_frequency', `product "${productId}" is offered with billing ${latest.billing_frequencies.join(' or ')}, not ${terms.billingFrequency}`);
    }
    if (latest.valid_to !== null && terms.startDate >= latest.valid_to) refuse('product_id', `product "${productId}" is no longer on sale from ${latest.valid_to}`);
  }

  lookup(gsrn: string): Promise<MeteringPointLookup> {
    return this.commands.send<MeteringPointLookup>('datahub-integration', 'LookupMeteringPoint', { gsrn });
  }

  async startSupply(customerId: string, terms: SupplyTermsDto, idempotencyKey: string | undefined): Promise<{ processId: string; meteringPoint: MeteringPointLookup }> {
    await this.assertProductExists(terms.product_id, { billingFrequency: terms.billing_frequency, startDate: terms.desired_start_date });
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
