import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateNested } from 'class-validator';

const LOCAL_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;
const DATE_MESSAGE = (field: string) => `${field} must be a date YYYY-MM-DD (Danish local date)`;
const DECIMAL_MESSAGE = (field: string) => `${field} must be a decimal string, e.g. "0.0495"`;

/** A product version: prices from `valid_from`; every change is kept as a new version. */
export class DefineProductDto {
  @Matches(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/, { message: 'product_id must be 1-64 letters, digits or : . _ -' })
  product_id!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @Matches(DECIMAL, { message: DECIMAL_MESSAGE('margin_dkk_per_kwh') })
  margin_dkk_per_kwh!: string;

  @Matches(DECIMAL, { message: DECIMAL_MESSAGE('monthly_subscription_dkk') })
  monthly_subscription_dkk!: string;

  @IsOptional()
  @Matches(DECIMAL, { message: DECIMAL_MESSAGE('export_fee_dkk_per_kwh') })
  export_fee_dkk_per_kwh?: string;

  @Matches(LOCAL_DATE, { message: DATE_MESSAGE('valid_from') })
  valid_from!: string;

  /** End of sale (exclusive): CRM's catalogue no longer offers the product from this date. */
  @IsOptional()
  @Matches(LOCAL_DATE, { message: DATE_MESSAGE('valid_to') })
  valid_to?: string;

  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(['monthly', 'quarterly'], { each: true, message: 'billing_frequencies must list "monthly" and/or "quarterly"' })
  billing_frequencies?: ('monthly' | 'quarterly')[];
}

export class SetTaxRateDto {
  @Matches(LOCAL_DATE, { message: DATE_MESSAGE('valid_from') })
  valid_from!: string;

  @IsOptional()
  @Matches(LOCAL_DATE, { message: DATE_MESSAGE('valid_to') })
  valid_to?: string | null;

  /** Elafgift per kWh (elafgiftsloven), as enacted. */
  @Matches(DECIMAL, { message: DECIMAL_MESSAGE('normal_dkk_per_kwh') })
  normal_dkk_per_kwh!: string;

  /** The reduced rate above the electric-heating threshold. */
  @Matches(DECIMAL, { message: DECIMAL_MESSAGE('reduced_dkk_per_kwh') })
  reduced_dkk_per_kwh!: string;
}

export class MapGridAreaDto {
  @Matches(/^\d{3}$/, { message: 'grid_area must be a three-digit grid area code, e.g. "804"' })
  grid_area!: string;

  @IsIn(['DK1', 'DK2'], { message: 'price_area must be DK1 or DK2' })
  price_area!: 'DK1' | 'DK2';

  @Matches(/^\d{13}$/, { message: 'grid_company_gln must be a 13-digit GLN' })
  grid_company_gln!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  grid_tariff_charge_id!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  grid_subscription_charge_id!: string;
}

export class SpotPriceFixDto {
  /** Start of the interval (ISO instant, UTC). */
  @Matches(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/, { message: 'start must be an ISO instant, e.g. 2026-10-10T16:00:00Z' })
  start!: string;

  @Matches(DECIMAL, { message: DECIMAL_MESSAGE('dkk_per_mwh') })
  dkk_per_mwh!: string;
}

export class CorrectSpotPricesDto {
  @IsIn(['DK1', 'DK2'], { message: 'price_area must be DK1 or DK2' })
  price_area!: 'DK1' | 'DK2';

  @Matches(LOCAL_DATE, { message: DATE_MESSAGE('delivery_date') })
  delivery_date!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => SpotPriceFixDto)
  prices!: SpotPriceFixDto[];

  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;
}

export class ChargeRowFixDto {
  @Matches(LOCAL_DATE, { message: DATE_MESSAGE('valid_from') })
  valid_from!: string;

  @IsOptional()
  @Matches(LOCAL_DATE, { message: DATE_MESSAGE('valid_to') })
  valid_to?: string | null;

  @IsIn(['PT1H', 'P1D', 'P1M'], { message: 'resolution must be PT1H (24 prices), P1D or P1M (one price)' })
  resolution!: 'PT1H' | 'P1D' | 'P1M';

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(24)
  @Matches(DECIMAL, { each: true, message: 'prices must be decimal strings' })
  prices!: string[];
}

export class CorrectChargePricesDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => ChargeRowFixDto)
  rows!: ChargeRowFixDto[];

  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;
}
