import { Body, Controller, Get, Inject, Patch, Query } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { AuditPersonalDataRead, CurrentPrincipal, RequireAnyScope, RequireScopes, type Principal } from '@dh/auth';
import { CustomerReadModel } from '@dh/read-models';
import { PersonalDataErasedError, PiiVault, ProblemException, type ProblemDetails } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { customerView, type ContactDetailsChanged, type CustomerView } from '../customers/customers.controller';
import { ContactDetailsDto, contactDetailsOf } from '../customers/create-customer.dto';
import { PII_VAULT } from '../tokens';
import { CUSTOMER_ID_PARAM, portalCustomerId } from './portal-access';

const customerNotFound = (): ProblemDetails => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: 'No such customer' });

/**
 * The customer's own profile in the portal: read it (`portal:read`; staff name the customer with
 * `?customer_id=`, audited) and change the contact details (`portal:write`, the customer only: staff
 * and CRM change them through `PATCH /api/customers/{id}`).
 */
@Controller('api/portal/profile')
export class PortalProfileController {
  constructor(
    private readonly commands: CommandGateway,
    @InjectRepository(CustomerReadModel) private readonly customers: Repository<CustomerReadModel>,
    @Inject(PII_VAULT) private readonly vault: PiiVault,
  ) {}

  @Get()
  @RequireAnyScope('portal:read', 'staff:read')
  @AuditPersonalDataRead('customer', { idQuery: CUSTOMER_ID_PARAM, action: 'portal.profile.read' })
  async read(@Query(CUSTOMER_ID_PARAM) requested: string | undefined, @CurrentPrincipal() principal: Principal): Promise<CustomerView> {
    const customerId = portalCustomerId(principal, requested, customerNotFound());
    const customer = await this.customers.findOneBy({ customerId });
    if (!customer) throw new ProblemException(customerNotFound());
    let personal: Record<string, string | null> | null = null;
    try {
      personal = await this.vault.decrypt(customerId, customer.personalData);
    } catch (error) {
      if (!(error instanceof PersonalDataErasedError)) throw error;
    }
    return customerView(customer, personal);
  }

  @Patch()
  @RequireScopes('portal:write')
  async update(@Body() body: ContactDetailsDto, @CurrentPrincipal() principal: Principal): Promise<ContactDetailsChanged> {
    if (principal.kind !== 'customer') {
      throw new ProblemException({ type: 'forbidden', title: 'Forbidden', status: 403, detail: 'The profile is changed by the customer; staff and CRM use PATCH /api/customers/{id}' });
    }
    const customerId = portalCustomerId(principal, undefined, customerNotFound());
    const result = await this.commands.send<{ changed: string[] }>('portfolio', 'ChangeContactDetails', { customerId, details: contactDetailsOf(body), source: 'portal' }, `customer:${principal.id}`);
    return { id: customerId, changed: result.changed };
  }
}
