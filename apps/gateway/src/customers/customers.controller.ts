import { Body, Controller, Get, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { maskCpr } from '@dh/market-ids';
import { CustomerReadModel } from '@dh/read-models';
import { PersonalDataErasedError, PiiVault, ProblemException } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { CreateCustomerDto } from './create-customer.dto';
import { PII_VAULT } from '../tokens';

export interface CustomerView {
  id: string;
  customerType: string;
  status: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  /** Masked: the full CPR never leaves the system through this API. */
  cpr: string | null;
  cvr: string | null;
  createdAt: string;
  personalDataErased: boolean;
}

@Controller('api/customers')
export class CustomersController {
  constructor(
    private readonly commands: CommandGateway,
    @InjectRepository(CustomerReadModel) private readonly customers: Repository<CustomerReadModel>,
    @Inject(PII_VAULT) private readonly vault: PiiVault,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: CreateCustomerDto, @Headers('idempotency-key') idempotencyKey?: string): Promise<{ id: string }> {
    const result = await this.commands.send<{ customerId: string }>('portfolio', 'CreateCustomer', {
      name: body.name,
      email: body.email,
      phone: body.phone ?? null,
      customerType: body.customerType,
      cpr: body.cpr ?? null,
      cvr: body.cvr ?? null,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    return { id: result.customerId };
  }

  @Get(':id')
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<CustomerView> {
    const customer = await this.customers.findOneBy({ customerId: id });
    if (!customer) throw new ProblemException({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });
    let personal: Record<string, string | null> | null = null;
    try {
      personal = await this.vault.decrypt(customer.customerId, customer.personalData);
    } catch (error) {
      if (!(error instanceof PersonalDataErasedError)) throw error;
    }
    return {
      id: customer.customerId,
      customerType: customer.customerType,
      status: customer.status,
      name: personal?.name ?? null,
      email: personal?.email ?? null,
      phone: personal?.phone ?? null,
      cpr: personal?.cpr ? maskCpr(personal.cpr) : null,
      cvr: personal?.cvr ?? null,
      createdAt: customer.createdAt.toISOString(),
      personalDataErased: personal === null,
    };
  }
}
