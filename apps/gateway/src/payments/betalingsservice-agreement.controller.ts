import { Body, Controller, HttpCode, Param, ParseUUIDPipe, Put } from '@nestjs/common';
import { IsOptional, Matches } from 'class-validator';
import { CurrentPrincipal, RequireScopes, type Principal } from '@dh/auth';
import { CommandGateway } from '../commands/command-gateway';

/** CRM registers the customer's Betalingsservice agreement (tilmeldingsaftale) taken at onboarding. */
export class BetalingsserviceAgreementDto {
  @Matches(/^\d{1,9}$/, { message: 'agreement_number must be the Betalingsservice agreement number (aftalenr), 1-9 digits' })
  agreement_number!: string;

  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'start_date must be a date YYYY-MM-DD' })
  start_date?: string;
}

@Controller('api/customers')
export class BetalingsserviceAgreementController {
  constructor(private readonly commands: CommandGateway) {}

  /**
   * The customer's agreement, from CRM: their invoices and aconto invoices are then collected by Betalingsservice
   * (0601) instead of an FI slip. Agreements registered at the customer's bank arrive in Betalingsservice's 0603 too.
   */
  @Put(':id/betalingsservice-agreement')
  @HttpCode(200)
  @RequireScopes('customers:write')
  async register(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: BetalingsserviceAgreementDto, @CurrentPrincipal() principal: Principal) {
    const r = await this.commands.send<{ customerId: string; customerNumber: string; agreementNumber: string; alreadyRegistered: boolean }>(
      'settlement',
      'RegisterBetalingsserviceAgreement',
      { customerId: id, agreementNumber: body.agreement_number, ...(body.start_date ? { startDate: body.start_date } : {}) },
      `${principal.kind}:${principal.id}`,
    );
    return { customer_id: r.customerId, customer_number: r.customerNumber, agreement_number: r.agreementNumber, state: 'active', already_registered: r.alreadyRegistered };
  }
}
