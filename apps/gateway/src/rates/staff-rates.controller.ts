import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import type { Pool } from 'pg';
import { AuditLog, CurrentPrincipal, RequireScopes, type AuthenticatedRequest, type Principal } from '@dh/auth';
import { localDateOf } from '@dh/dk-time';
import type { EventStore, JsonObject } from '@dh/event-store';
import { ProblemException } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { patternParam } from '../staff/query-params';
import { CorrectChargePricesDto, CorrectSpotPricesDto, DefineProductDto, MapGridAreaDto, SetTaxRateDto } from './rates.dto';
import { inForceOn, streamVersions, type VersionView } from './rates-versions';

export const RATES_POOL = Symbol('RATES_POOL');
export const RATES_EVENT_STORE = Symbol('RATES_EVENT_STORE');
export const RATES_CLOCK = Symbol('RATES_CLOCK');

const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;
const CHARGE_ID = /^[A-Za-z0-9:._-]{1,100}$/;

interface ChangeResult {
  streamId: string;
  appended: boolean;
  version?: number;
}

/**
 * Rates and products for staff: products (margin, subscription, validity, billing frequencies), electricity
 * tax rates, grid-area mapping and manual price corrections. Reads for `staff:read`, changes for
 * `rates:write` (admin). Every change is a new event in the fact's own stream, never an overwrite; the
 * lists show every version with who set it and when, and each change is written to the audit log.
 */
@Controller('api/staff/rates')
export class StaffRatesController {
  constructor(
    private readonly commands: CommandGateway,
    private readonly audit: AuditLog,
    @Inject(RATES_POOL) private readonly pool: Pool,
    @Inject(RATES_EVENT_STORE) private readonly store: EventStore,
    @Inject(RATES_CLOCK) private readonly clock: { now(): Date },
  ) {}

  private today(): string {
    return localDateOf(this.clock.now());
  }

  private async change(request: AuthenticatedRequest, principal: Principal, command: string, payload: JsonObject, subject: { type: string; id: string }, reason?: string): Promise<ChangeResult> {
    const result = await this.commands.send<ChangeResult>('rates', command, payload, `staff:${principal.id}`);
    await this.audit.record({
      actor: principal,
      action: `rates.${command.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `-${c.toLowerCase()}`))}`,
      subjectType: subject.type,
      subjectId: subject.id,
      purpose: reason ?? request.header('x-access-reason') ?? null,
      requestId: request.header('x-request-id') ?? null,
      outcome: 'success',
      status: 200,
    });
    return result;
  }

  @Get('products')
  @RequireScopes('staff:read')
  async products(): Promise<{ today: string; products: { product_id: string; in_force: VersionView | null; versions: VersionView[] }[] }> {
    const ids = (await this.pool.query<{ product_id: string }>(`SELECT DISTINCT product_id FROM read_models.portal_products ORDER BY product_id`)).rows.map((r) => r.product_id);
    const today = this.today();
    const products = await Promise.all(
      ids.map(async (id) => {
        const versions = await streamVersions(this.store, `product-${id}`, 'ProductDefined');
        return { product_id: id, in_force: inForceOn(versions, today), versions };
      }),
    );
    return { today, products };
  }

  @Post('products')
  @HttpCode(200)
  @RequireScopes('rates:write')
  async defineProduct(@Body() body: DefineProductDto, @CurrentPrincipal() principal: Principal, @Req() request: AuthenticatedRequest): Promise<ChangeResult & { versions: VersionView[] }> {
    const result = await this.change(
      request,
      principal,
      'DefineProduct',
      {
        productId: body.product_id,
        name: body.name,
        marginDkkPerKwh: body.margin_dkk_per_kwh,
        monthlySubscriptionDkk: body.monthly_subscription_dkk,
        validFrom: body.valid_from,
        ...(body.export_fee_dkk_per_kwh !== undefined ? { exportFeeDkkPerKwh: body.export_fee_dkk_per_kwh } : {}),
        ...(body.valid_to !== undefined ? { validTo: body.valid_to } : {}),
        ...(body.billing_frequencies !== undefined ? { billingFrequencies: body.billing_frequencies } : {}),
      },
      { type: 'product', id: body.product_id },
    );
    const versions = await streamVersions(this.store, result.streamId, 'ProductDefined');
    return { ...result, version: versions.length, versions };
  }

  @Get('tax-rates')
  @RequireScopes('staff:read')
  async taxRates(): Promise<{ versions: VersionView[] }> {
    return { versions: await streamVersions(this.store, 'electricity-tax-rates', 'ElectricityTaxRateSet') };
  }

  @Post('tax-rates')
  @HttpCode(200)
  @RequireScopes('rates:write')
  async setTaxRate(@Body() body: SetTaxRateDto, @CurrentPrincipal() principal: Principal, @Req() request: AuthenticatedRequest): Promise<ChangeResult & { versions: VersionView[] }> {
    const result = await this.change(
      request,
      principal,
      'SetElectricityTaxRate',
      { validFrom: body.valid_from, validTo: body.valid_to ?? null, normalDkkPerKwh: body.normal_dkk_per_kwh, reducedDkkPerKwh: body.reduced_dkk_per_kwh },
      { type: 'electricity-tax', id: body.valid_from },
    );
    const versions = await streamVersions(this.store, result.streamId, 'ElectricityTaxRateSet');
    return { ...result, version: versions.length, versions };
  }

  @Get('grid-areas')
  @RequireScopes('staff:read')
  async gridAreas(): Promise<{ grid_areas: { grid_area: string; current: VersionView | null; versions: VersionView[] }[] }> {
    const ids = (await this.pool.query<{ grid_area: string }>(`SELECT grid_area FROM read_models.portal_grid_areas ORDER BY grid_area`)).rows.map((r) => r.grid_area);
    return {
      grid_areas: await Promise.all(
        ids.map(async (id) => {
          const versions = await streamVersions(this.store, `grid-area-${id}`, 'GridAreaMapped');
          return { grid_area: id, current: versions[versions.length - 1] ?? null, versions };
        }),
      ),
    };
  }

  @Post('grid-areas')
  @HttpCode(200)
  @RequireScopes('rates:write')
  async mapGridArea(@Body() body: MapGridAreaDto, @CurrentPrincipal() principal: Principal, @Req() request: AuthenticatedRequest): Promise<ChangeResult & { versions: VersionView[] }> {
    const result = await this.change(
      request,
      principal,
      'MapGridArea',
      { gridArea: body.grid_area, priceArea: body.price_area, gridCompanyGln: body.grid_company_gln, gridTariffChargeId: body.grid_tariff_charge_id, gridSubscriptionChargeId: body.grid_subscription_charge_id },
      { type: 'grid-area', id: body.grid_area },
    );
    const versions = await streamVersions(this.store, result.streamId, 'GridAreaMapped');
    return { ...result, version: versions.length, versions };
  }

  @Get('charges')
  @RequireScopes('staff:read')
  async charges(): Promise<{ charges: { charge_id: string; owner: string | null; charge_type: string | null; description: string | null; version: number; rows: unknown }[] }> {
    const { rows } = await this.pool.query<{ charge_id: string; owner: string | null; charge_type: string | null; description: string | null; version: number; rows: unknown }>(
      `SELECT charge_id, owner, charge_type, description, version, rows FROM read_models.portal_charges ORDER BY charge_id`,
    );
    return { charges: rows };
  }

  @Get('charges/:chargeId/versions')
  @RequireScopes('staff:read')
  async chargeVersions(@Param('chargeId') chargeId: string): Promise<{ charge_id: string; versions: VersionView[] }> {
    if (!CHARGE_ID.test(chargeId)) throw new ProblemException({ type: 'validation', title: 'Invalid charge id', status: 400, detail: 'chargeId must be GLN:Dxx:CODE' });
    const versions = await streamVersions(this.store, `charge-${chargeId}`, 'ChargePricesPublished');
    if (versions.length === 0) throw new ProblemException({ type: 'not-found', title: 'Charge not found', status: 404, detail: `No prices of charge ${chargeId}` });
    return { charge_id: chargeId, versions };
  }

  @Post('charges/:chargeId/corrections')
  @HttpCode(200)
  @RequireScopes('rates:write')
  async correctCharge(@Param('chargeId') chargeId: string, @Body() body: CorrectChargePricesDto, @CurrentPrincipal() principal: Principal, @Req() request: AuthenticatedRequest): Promise<ChangeResult> {
    if (!CHARGE_ID.test(chargeId)) throw new ProblemException({ type: 'validation', title: 'Invalid charge id', status: 400, detail: 'chargeId must be GLN:Dxx:CODE' });
    return this.change(
      request,
      principal,
      'CorrectChargePrices',
      { chargeId, rows: body.rows.map((r) => ({ validFrom: r.valid_from, validTo: r.valid_to ?? null, resolution: r.resolution, prices: r.prices })), reason: body.reason },
      { type: 'charge', id: chargeId },
      body.reason,
    );
  }

  @Get('spot-prices')
  @RequireScopes('staff:read')
  async spotPrices(@Query('price_area') priceArea?: string, @Query('date') date?: string): Promise<{ price_area: string; date: string; versions: VersionView[] }> {
    const area = patternParam('price_area', priceArea, /^DK[12]$/, 'DK1 or DK2');
    const day = patternParam('date', date, LOCAL_DATE, 'a date YYYY-MM-DD');
    if (area === undefined || day === undefined) throw new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail: 'price_area and date are required' });
    return { price_area: area, date: day, versions: await streamVersions(this.store, `spot-prices-${area}-${day}`, 'SpotPricesPublished') };
  }

  @Post('spot-prices/corrections')
  @HttpCode(200)
  @RequireScopes('rates:write')
  async correctSpot(@Body() body: CorrectSpotPricesDto, @CurrentPrincipal() principal: Principal, @Req() request: AuthenticatedRequest): Promise<ChangeResult> {
    return this.change(
      request,
      principal,
      'CorrectSpotPrices',
      { priceArea: body.price_area, deliveryDate: body.delivery_date, prices: body.prices.map((p) => ({ start: p.start, dkkPerMwh: p.dkk_per_mwh })), reason: body.reason },
      { type: 'spot-prices', id: `${body.price_area}-${body.delivery_date}` },
      body.reason,
    );
  }
}
