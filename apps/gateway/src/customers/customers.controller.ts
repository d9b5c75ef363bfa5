import { Body, Controller, Get, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { assertCustomerAccess, AuditPersonalDataRead, CurrentPrincipal, RequireAnyScope, RequireScopes, type Principal } from '@dh/auth';
import { maskCpr } from '@dh/market-ids';
import { CustomerReadModel } from '@dh/read-models';
import { PersonalDataErasedError, PiiVault, ProblemException, type ProblemDetails } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { CompleteIdentityDto, ContactDetailsDto, contactDetailsOf, CreateCustomerDto, SupplyTermsDto } from './create-customer.dto';
import { OnboardingService, type MeteringPointLookup } from './onboarding.service';
import { PII_VAULT } from '../tokens';
import { callerIdempotencyKey } from '../idempotency/caller-key';

export interface CustomerView {
  id: string;
  customer_type: string;
  status: string;
  customer_name: string | null;
  email: string | null;
  phone: string | null;
  /** Masked: the full CPR never leaves the system through this API. */
  cpr: string | null;
  cvr: string | null;
  address: { street: string | null; postcode: string | null; city: string | null };
  /** Received by forced switch (BRS-044) and not completed yet: no name and no CPR/CVR. */
  placeholder: boolean;
  created_at: string;
  personal_data_erased: boolean;
}

export interface ContactDetailsChanged {
  id: string;
  /** The fields whose value changed (empty: nothing differed, nothing was recorded). */
  changed: string[];
}

/** Name, contact and CPR/CVR from the vault's personal data (null once erased), the CPR masked: how staff, CRM and an export show them. */
export function maskedContact(personal: Record<string, string | null> | null): Pick<CustomerView, 'customer_name' | 'email' | 'phone' | 'cpr' | 'cvr'> {
  return {
    customer_name: personal?.name ?? null,
    email: personal?.email ?? null,
    phone: personal?.phone ?? null,
    cpr: personal?.cpr ? maskCpr(personal.cpr) : null,
    cvr: personal?.cvr ?? null,
  };
}

/** The customer record as CRM, the portal and staff read it; the CPR masked. */
export function customerView(customer: CustomerReadModel, personal: Record<string, string | null> | null): CustomerView {
  return {
    id: customer.customerId,
    customer_type: customer.customerType,
    status: customer.status,
    ...maskedContact(personal),
    address: { street: personal?.street ?? null, postcode: personal?.postcode ?? null, city: personal?.city ?? null },
    placeholder: personal !== null && !personal.cpr && !personal.cvr,
    created_at: customer.createdAt.toISOString(),
    personal_data_erased: personal === null,
  };
}

const nameRequired = (): ProblemException =>
  new ProblemException({ type: 'validation', title: 'Validation failed', status: 400, detail: 'customer_name is required', errors: [{ field: 'customer_name', messages: ['customer_name is required'] }] });

export interface CreatedCustomer {
  id: string;
  gsrn: string | null;
  process_id: string | null;
  metering_point: MeteringPointLookup | null;
}

const customerNotFound = (id: string): ProblemDetails => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });

@Controller('api/customers')
export class CustomersController {
  constructor(
    private readonly commands: CommandGateway,
    private readonly onboarding: OnboardingService,
    @InjectRepository(CustomerReadModel) private readonly customers: Repository<CustomerReadModel>,
    @Inject(PII_VAULT) private readonly vault: PiiVault,
  ) {}

  /** CRM: a new customer, and with a GSRN the metering point lookup and the switch or move-in. */
  @Post()
  @HttpCode(201)
  @RequireScopes('customers:write')
  async create(@Body() body: CreateCustomerDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string): Promise<CreatedCustomer> {
    const idempotencyKey = callerIdempotencyKey(principal, key);
    // Everything that can be refused is refused before the customer is created.
    const prepared = body.gsrn === undefined ? null : await this.onboarding.prepareSupply(this.termsOf(body));
    const result = await this.commands.send<{ customerId: string }>('portfolio', 'CreateCustomer', {
      name: body.customer_name,
      email: body.email,
      phone: body.phone ?? null,
      street: body.street ?? null,
      postcode: body.postcode ?? null,
      city: body.city ?? null,
      customerType: body.customer_type,
      cpr: body.cpr ?? null,
      cvr: body.cvr ?? null,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    if (prepared === null) return { id: result.customerId, gsrn: null, process_id: null, metering_point: null };
    const started = await this.onboarding.startSupply(result.customerId, prepared, idempotencyKey);
    return { id: result.customerId, gsrn: prepared.terms.gsrn, process_id: started.processId, metering_point: started.meteringPoint };
  }

  private termsOf(body: CreateCustomerDto): SupplyTermsDto {
    return Object.assign(new SupplyTermsDto(), {
      gsrn: body.gsrn,
      product_id: body.product_id,
      desired_start_date: body.desired_start_date,
      billing_frequency: body.billing_frequency,
      payment_model: body.payment_model,
      move_in: body.move_in,
      electric_heating: body.electric_heating,
    });
  }

  /** CRM: initiate a supplier switch (BRS-001) for an existing customer. */
  @Post(':id/switch')
  @HttpCode(202)
  @RequireScopes('processes:write')
  async switchSupplier(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: SupplyTermsDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string) {
    const idempotencyKey = callerIdempotencyKey(principal, key);
    const prepared = await this.onboarding.prepareSupply(Object.assign(body, { move_in: false }));
    await this.onboarding.assertCustomerExists(id);
    const started = await this.onboarding.startSupply(id, prepared, idempotencyKey);
    return { process_id: started.processId, gsrn: body.gsrn };
  }

  /** CRM: initiate a move-in (BRS-009) for an existing customer. */
  @Post(':id/move-in')
  @HttpCode(202)
  @RequireScopes('processes:write')
  async moveIn(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: SupplyTermsDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string) {
    const idempotencyKey = callerIdempotencyKey(principal, key);
    const prepared = await this.onboarding.prepareSupply(Object.assign(body, { move_in: true }));
    await this.onboarding.assertCustomerExists(id);
    const started = await this.onboarding.startSupply(id, prepared, idempotencyKey);
    return { process_id: started.processId, gsrn: body.gsrn };
  }

  /** CRM (or an admin): change contact details; the record is sealed again, the changed fields named in the event. */
  @Patch(':id')
  @RequireScopes('customers:write')
  @AuditPersonalDataRead('customer', { action: 'customer.update' })
  async update(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: ContactDetailsDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string): Promise<ContactDetailsChanged> {
    const idempotencyKey = callerIdempotencyKey(principal, key);
    const result = await this.commands.send<{ changed: string[] }>(
      'portfolio',
      'ChangeContactDetails',
      { customerId: id, details: contactDetailsOf(body), source: principal.kind === 'staff' ? 'staff' : 'crm', ...(idempotencyKey ? { idempotencyKey } : {}) },
      `${principal.kind}:${principal.id}`,
    );
    return { id, changed: result.changed };
  }

  /** CRM (or an admin): complete a customer received by forced switch (BRS-044) with name and CPR/CVR. */
  @Post(':id/identity')
  @HttpCode(200)
  @RequireScopes('customers:write')
  @AuditPersonalDataRead('customer', { action: 'customer.complete-identity' })
  async completeIdentity(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: CompleteIdentityDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string): Promise<{ id: string; customer_type: string; completed: true }> {
    if (body.customer_name === undefined) throw nameRequired();
    const idempotencyKey = callerIdempotencyKey(principal, key);
    const { name: _name, ...details } = contactDetailsOf(body);
    await this.commands.send(
      'portfolio',
      'CompleteCustomerIdentity',
      {
        customerId: id,
        customerType: body.customer_type,
        name: body.customer_name,
        cpr: body.customer_type === 'private' ? (body.cpr ?? null) : null,
        cvr: body.customer_type === 'business' ? (body.cvr ?? null) : null,
        details,
        source: principal.kind === 'staff' ? 'staff' : 'crm',
        ...(idempotencyKey ? { idempotencyKey } : {}),
      },
      `${principal.kind}:${principal.id}`,
    );
    // The read model catches up shortly after (GET /api/customers/{id} then shows the completed record).
    return { id, customer_type: body.customer_type, completed: true };
  }

  @Get(':id')
  @RequireAnyScope('customers:read', 'portal:read', 'staff:read')
  @AuditPersonalDataRead('customer')
  async get(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal): Promise<CustomerView> {
    assertCustomerAccess(principal, id, customerNotFound(id));
    const customer = await this.customers.findOneBy({ customerId: id });
    if (!customer) throw new ProblemException(customerNotFound(id));
    let personal: Record<string, string | null> | null = null;
    try {
      personal = await this.vault.decrypt(customer.customerId, customer.personalData);
    } catch (error) {
      if (!(error instanceof PersonalDataErasedError)) throw error;
    }
    return customerView(customer, personal);
  }
}
