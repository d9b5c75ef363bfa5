import { Inject, Injectable } from '@nestjs/common';
import { addDays, localDateOf } from '@dh/dk-time';
import { assertReportable, DEFAULT_LEAD_TIME_RULES, DomainRuleViolation } from '@dh/portfolio-domain';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { JsonObject } from '@dh/event-store';
import { ProblemException } from '@dh/platform';
import { PORTAL_PRODUCTS_TABLE } from '@dh/read-models';
import { CommandGateway } from '../commands/command-gateway';
import { PORTAL_CLOCK, type PortalClock } from '../portal/portal-access';
import type { SupplyTermsDto } from './create-customer.dto';

export interface MeteringPointLookup extends JsonObject {
  gsrn: string;
}

/** Keys derived from the caller's Idempotency-Key, so each step of a retried onboarding is absorbed. */
const stepKey = (key: string | undefined, step: string): JsonObject => (key ? { idempotencyKey: `${key}:${step}` } : {});

/**
 * How far ahead we take a supply start. The market sets no upper bound for BRS-001/BRS-009; a year is
 * our policy, so that a mistyped year (9999-12-31) is refused instead of sent to DataHub.
 */
export const MAX_DAYS_AHEAD = 366;

/** What `prepareSupply` checked and looked up; nothing has been written yet. */
export interface PreparedSupply {
  terms: SupplyTermsDto;
  meteringPoint: MeteringPointLookup;
}

/**
 * CRM onboarding: look the metering point up in Eloverblik, register it, and start the DataHub
 * process (BRS-001 switch or BRS-009 move-in). Everything that can be checked is checked first
 * (`prepareSupply`: product, dates against the market's reporting windows, the metering point in
 * Eloverblik), so a refusal never leaves a customer or a metering point behind. Every step after that
 * is idempotent, so a retry with the same Idempotency-Key completes a half-done onboarding (after a
 * crash or a 503) without doubling anything.
 */
@Injectable()
export class OnboardingService {
  constructor(
    private readonly commands: CommandGateway,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(PORTAL_CLOCK) private readonly clock: PortalClock,
  ) {}

  /** The supply start against the market's lead times (the same rules portfolio applies) and our one-year horizon. */
  assertStartDate(terms: SupplyTermsDto): void {
    const today = localDateOf(this.clock.now());
    const date = terms.desired_start_date;
    const refuse = (detail: string) => new ProblemException({ type: 'lead-time', title: 'The start date cannot be requested today', status: 422, detail, errors: [{ field: 'desired_start_date', messages: [detail] }] });
    if (date > addDays(today, MAX_DAYS_AHEAD)) throw refuse(`desired_start_date ${date} is more than ${MAX_DAYS_AHEAD} days ahead; today is ${today}`);
    try {
      assertReportable(DEFAULT_LEAD_TIME_RULES, terms.move_in ? 'move-in' : 'change of supplier', date, today);
    } catch (error) {
      if (error instanceof DomainRuleViolation) throw refuse(error.message);
      throw error;
    }
  }

  /** Every check that needs no write, and the Eloverblik lookup; throws the refusal before anything is stored. */
  async prepareSupply(terms: SupplyTermsDto): Promise<PreparedSupply> {
    this.assertStartDate(terms);
    await this.assertProductExists(terms.product_id, { billingFrequency: terms.billing_frequency, startDate: terms.desired_start_date });
    return { terms, meteringPoint: await this.lookup(terms.gsrn) };
  }

  /** A switch or move-in for an existing customer: 404 before anything is written when there is none. */
  async assertCustomerExists(customerId: string): Promise<void> {
    const { exists } = await this.commands.send<{ exists: boolean }>('portfolio', 'CustomerExists', { customerId });
    if (!exists) throw new ProblemException({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${customerId}` });
  }

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

  async startSupply(customerId: string, prepared: PreparedSupply, idempotencyKey: string | undefined): Promise<{ processId: string; meteringPoint: MeteringPointLookup }> {
    const { terms, meteringPoint } = prepared;
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
