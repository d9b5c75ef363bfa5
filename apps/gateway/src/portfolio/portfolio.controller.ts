import { Controller, Get, Param } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { RequireAnyScope } from '@dh/auth';
import { isValidGsrn } from '@dh/market-ids';
import { ProblemException } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { GSRN_MESSAGE } from '../customers/create-customer.dto';
import type { MeteringPointLookup } from '../customers/onboarding.service';

export interface PortfolioSummary {
  customers: { total: number; active: number; by_status: Record<string, number> };
  metering_points: { total: number; supplied: number; by_supply_status: Record<string, number>; by_price_area: Record<string, number> };
  processes: { open: number; by_status: Record<string, number> };
}

const OPEN_PROCESS_STATUSES = ['created', 'requested', 'pending'];

@Controller('api')
export class PortfolioController {
  constructor(
    private readonly commands: CommandGateway,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  private async countBy(table: string, column: string, where = 'true'): Promise<Record<string, number>> {
    const rows: { key: string | null; n: string }[] = await this.db.query(`SELECT ${column} AS key, count(*)::text AS n FROM read_models.${table} WHERE ${where} GROUP BY ${column}`);
    return Object.fromEntries(rows.map((r) => [r.key ?? 'unknown', Number(r.n)]));
  }

  /** CRM: active customers, metering points and open processes. */
  @Get('portfolio/summary')
  @RequireAnyScope('portfolio:read', 'staff:read')
  async summary(): Promise<PortfolioSummary> {
    const [customers, supply, areas, processes] = await Promise.all([
      this.countBy('customers', 'status'),
      this.countBy('metering_points', 'supply_status'),
      this.countBy('metering_points', 'price_area', `supply_status = 'active'`),
      this.countBy('processes', 'status'),
    ]);
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      customers: { total: sum(customers), active: customers.active ?? 0, by_status: customers },
      metering_points: { total: sum(supply), supplied: supply.active ?? 0, by_supply_status: supply, by_price_area: areas },
      processes: { open: OPEN_PROCESS_STATUSES.reduce((n, s) => n + (processes[s] ?? 0), 0), by_status: processes },
    };
  }

  /** CRM: a GSRN's metering point data, grid area and history from Eloverblik, before we supply it. */
  @Get('metering-points/:gsrn/lookup')
  @RequireAnyScope('metering-points:read', 'staff:read')
  async lookup(@Param('gsrn') gsrn: string): Promise<MeteringPointLookup> {
    if (!isValidGsrn(gsrn)) throw new ProblemException({ type: 'validation', title: 'Invalid GSRN', status: 400, errors: [{ field: 'gsrn', messages: [GSRN_MESSAGE] }] });
    return this.commands.send<MeteringPointLookup>('datahub-integration', 'LookupMeteringPoint', { gsrn });
  }
}
