import { Controller, Get, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import { RequireAnyScope } from '@dh/auth';
import { localDateOf } from '@dh/dk-time';
import { RATES_CLOCK, RATES_POOL } from './staff-rates.controller';

export interface CatalogueProduct {
  product_id: string;
  name: string;
  /** The prices in force today (or, for a product not yet in force, its first prices). */
  valid_from: string;
  margin_dkk_per_kwh: string;
  monthly_subscription_dkk: string;
  export_fee_dkk_per_kwh: string | null;
  billing_frequencies: ('monthly' | 'quarterly')[];
  /** End of sale (exclusive), null while on sale. */
  valid_to: string | null;
  /** Price changes already decided for later dates. */
  upcoming: { valid_from: string; margin_dkk_per_kwh: string; monthly_subscription_dkk: string }[];
}

interface Row {
  product_id: string;
  valid_from: string;
  name: string;
  margin: string;
  subscription: string;
  export_fee: string | null;
  valid_to: string | null;
  billing_frequencies: ('monthly' | 'quarterly')[] | null;
  defined_at: Date;
}

/**
 * The product catalogue for CRM (`products:read`) and staff: what may be sold today. A product whose end of
 * sale has passed is left out; CRM's `product_id` on `POST /api/customers` must be one of these.
 */
@Controller('api/products')
export class ProductsController {
  constructor(
    @Inject(RATES_POOL) private readonly pool: Pool,
    @Inject(RATES_CLOCK) private readonly clock: { now(): Date },
  ) {}

  @Get()
  @RequireAnyScope('products:read', 'staff:read')
  async catalogue(): Promise<{ today: string; products: CatalogueProduct[] }> {
    const today = localDateOf(this.clock.now());
    const { rows } = await this.pool.query<Row>(
      `SELECT product_id, to_char(valid_from, 'YYYY-MM-DD') AS valid_from, name, margin_dkk_per_kwh::text AS margin, monthly_subscription_dkk::text AS subscription,
              export_fee_dkk_per_kwh::text AS export_fee, to_char(valid_to, 'YYYY-MM-DD') AS valid_to, billing_frequencies, defined_at
         FROM read_models.portal_products ORDER BY product_id, valid_from`,
    );
    const byProduct = new Map<string, Row[]>();
    for (const r of rows) byProduct.set(r.product_id, [...(byProduct.get(r.product_id) ?? []), r]);
    const products: CatalogueProduct[] = [];
    for (const [productId, versions] of byProduct) {
      // The latest definition decides the product's attributes (name, end of sale, billing frequencies).
      const latest = [...versions].sort((a, b) => a.defined_at.getTime() - b.defined_at.getTime()).pop()!;
      if (latest.valid_to !== null && latest.valid_to <= today) continue;
      const current = [...versions].filter((v) => v.valid_from <= today).pop() ?? versions[0]!;
      products.push({
        product_id: productId,
        name: latest.name,
        valid_from: current.valid_from,
        margin_dkk_per_kwh: current.margin,
        monthly_subscription_dkk: current.subscription,
        export_fee_dkk_per_kwh: current.export_fee,
        billing_frequencies: latest.billing_frequencies ?? ['monthly', 'quarterly'],
        valid_to: latest.valid_to,
        upcoming: versions.filter((v) => v.valid_from > current.valid_from).map((v) => ({ valid_from: v.valid_from, margin_dkk_per_kwh: v.margin, monthly_subscription_dkk: v.subscription })),
      });
    }
    return { today, products };
  }
}
