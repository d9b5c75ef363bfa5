import { IsBoolean, IsEmail, IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, ValidateIf, registerDecorator, ValidationOptions } from 'class-validator';
import { isLocalDate } from '@dh/dk-time';
import { isValidCpr, isValidCvr, isValidGsrn } from '@dh/market-ids';

export function Satisfies(check: (value: unknown) => boolean, message: string, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'satisfies',
      target: target.constructor,
      propertyName,
      options: { message, ...options },
      validator: { validate: (value: unknown) => check(value) },
    });
}

const LOCAL_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** Dates of a supply we could ever handle; the onboarding also holds them to the market's reporting windows. */
export const EARLIEST_DATE = '2000-01-01';
export const LATEST_DATE = '2099-12-31';

/** A real calendar date (2027-02-31 is not) between EARLIEST_DATE and LATEST_DATE. */
export function isSaneLocalDate(value: unknown): boolean {
  return typeof value === 'string' && LOCAL_DATE.test(value) && isLocalDate(value) && value >= EARLIEST_DATE && value <= LATEST_DATE;
}

export const DATE_MESSAGE = (field: string) => `${field} must be a calendar date YYYY-MM-DD (Danish local date) between ${EARLIEST_DATE} and ${LATEST_DATE}`;

/**
 * Free text that goes to DataHub (the customer name in RSM-001): no control or format characters
 * (NUL, ESC, BEL, bidirectional overrides), nothing XML cannot carry, and at most
 * `MAX_MARKET_NAME_LENGTH` characters. The CIM writer refuses such text too; refusing it here answers
 * 400 before anything is stored.
 *
 * The length is ours, not DataHub's: DataHub 3's own schemas leave the name unbounded.
 * `marketEvaluationPoint.customer_MarketParticipant.name` is a plain `xs:string` without `maxLength`
 * in `urn-ediel-org-structure-requestchangeofsupplier-0-1.xsd` and a plain `string` in
 * `Request-Change-of-Supplier-assembly-model.schema.json` (Energinet-DataHub/opengeh-edi,
 * `source/IncomingMessages.Domain/Schemas/Cim/`, commit b1cd5ead3fcb, June 2025; no version of the
 * XSD in its history had one). The only bounded free text in that schema family is
 * `Characters70_String` (70 characters), the customer's e-mail in RSM-027/RSM-028
 * (`requestchangecustomercharacteristics`, `characteristicsofacustomeratanap`). Without a bound from
 * DataHub we use that one for names too: it fits every real name, and a longer one is a mistake or an
 * attack we would rather refuse than send.
 */
export const MAX_MARKET_NAME_LENGTH = 70;
const UNSAFE_TEXT = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\uFFFE\uFFFF]/u;

export function isMarketText(value: unknown, maxLength = MAX_MARKET_NAME_LENGTH): boolean {
  return typeof value === 'string' && value.trim().length > 0 && [...value].length <= maxLength && !UNSAFE_TEXT.test(value);
}

export const GSRN_MESSAGE = 'gsrn must be 18 digits with a valid GS1 check digit (the last digit)';

/** Supply terms of an onboarding or a switch: the mission's CRM onboarding fields. */
export class SupplyTermsDto {
  @Satisfies(isValidGsrn, GSRN_MESSAGE)
  gsrn!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  product_id!: string;

  @Satisfies(isSaneLocalDate, DATE_MESSAGE('desired_start_date'))
  desired_start_date!: string;

  @IsIn(['monthly', 'quarterly'], { message: 'billing_frequency must be "monthly" or "quarterly"' })
  billing_frequency!: 'monthly' | 'quarterly';

  @IsIn(['aconto', 'actual'], { message: 'payment_model must be "aconto" or "actual"' })
  payment_model!: 'aconto' | 'actual';

  /** A move-in (BRS-009) rather than a change of supplier (BRS-001). */
  @IsOptional()
  @IsBoolean()
  move_in?: boolean;

  /** The home is registered for electric heating (elvarme): reduced electricity tax above the yearly threshold. Default false. */
  @IsOptional()
  @IsBoolean({ message: 'electric_heating must be true or false' })
  electric_heating?: boolean;
}

/**
 * Body of POST /api/customers: the customer, and optionally the metering point to onboard (then the
 * supply terms are required). Messages never echo the submitted CPR.
 */
export class CreateCustomerDto {
  @Satisfies(isMarketText, `customer_name must be 1 to ${MAX_MARKET_NAME_LENGTH} characters without control or format characters (it is sent to DataHub)`)
  customer_name!: string;

  @IsEmail({}, { message: 'email must be a valid e-mail address' })
  @MaxLength(254)
  email!: string;

  @IsOptional()
  @Matches(/^\+?[0-9 ]{8,15}$/, { message: 'phone must be 8 to 15 digits, optionally with a leading +' })
  phone?: string;

  @IsIn(['private', 'business'], { message: 'customer_type must be "private" or "business"' })
  customer_type!: 'private' | 'business';

  /** The customer's address (optional; changed later with PATCH /api/customers/{id}). */
  @IsOptional()
  @Satisfies((v) => isMarketText(v, 100), 'street must be 1 to 100 characters without control or format characters')
  street?: string;

  @IsOptional()
  @Matches(/^[0-9]{4}$/, { message: 'postcode must be a Danish postcode of 4 digits' })
  postcode?: string;

  @IsOptional()
  @Satisfies((v) => isMarketText(v, 60), 'city must be 1 to 60 characters without control or format characters')
  city?: string;

  @ValidateIf((dto: CreateCustomerDto) => dto.customer_type === 'private' || dto.cpr !== undefined)
  @Satisfies(isValidCpr, 'cpr must be 10 digits (DDMMYY-SSSS) with a valid birth date')
  cpr?: string;

  @ValidateIf((dto: CreateCustomerDto) => dto.customer_type === 'business' || dto.cvr !== undefined)
  @Satisfies(isValidCvr, 'cvr must be 8 digits with a valid modulus-11 check')
  cvr?: string;

  @ValidateIf((dto: CreateCustomerDto) => dto.gsrn !== undefined)
  @Satisfies(isValidGsrn, GSRN_MESSAGE)
  gsrn?: string;

  @ValidateIf((dto: CreateCustomerDto) => dto.gsrn !== undefined)
  @IsString({ message: 'product_id is required with a gsrn' })
  @IsNotEmpty()
  @MaxLength(64)
  product_id?: string;

  @ValidateIf((dto: CreateCustomerDto) => dto.gsrn !== undefined)
  @Satisfies(isSaneLocalDate, DATE_MESSAGE('desired_start_date'))
  desired_start_date?: string;

  @ValidateIf((dto: CreateCustomerDto) => dto.gsrn !== undefined)
  @IsIn(['monthly', 'quarterly'], { message: 'billing_frequency must be "monthly" or "quarterly"' })
  billing_frequency?: 'monthly' | 'quarterly';

  @ValidateIf((dto: CreateCustomerDto) => dto.gsrn !== undefined)
  @IsIn(['aconto', 'actual'], { message: 'payment_model must be "aconto" or "actual"' })
  payment_model?: 'aconto' | 'actual';

  @IsOptional()
  @IsBoolean()
  move_in?: boolean;

  /** With a gsrn: the home is registered for electric heating (elvarme). Default false. */
  @IsOptional()
  @IsBoolean({ message: 'electric_heating must be true or false' })
  electric_heating?: boolean;
}

export class CancelProcessDto {
  @IsIn(['customer-withdrew', 'customer-paid', 'requested-in-error'], { message: 'reason must be customer-withdrew, customer-paid or requested-in-error' })
  reason!: 'customer-withdrew' | 'customer-paid' | 'requested-in-error';
}

const PHONE = /^\+?[0-9 ]{8,15}$/;
const POSTCODE = /^[0-9]{4}$/;

/**
 * Body of PATCH /api/customers/{id} and PATCH /api/portal/profile: the contact details to change.
 * A field left out keeps its value; `null` removes it (not the name).
 */
export class ContactDetailsDto {
  @IsOptional()
  @Satisfies(isMarketText, `customer_name must be 1 to ${MAX_MARKET_NAME_LENGTH} characters without control or format characters (it is sent to DataHub)`)
  customer_name?: string;

  @IsOptional()
  @IsEmail({}, { message: 'email must be a valid e-mail address' })
  @MaxLength(254)
  email?: string | null;

  @IsOptional()
  @Matches(PHONE, { message: 'phone must be 8 to 15 digits, optionally with a leading +' })
  phone?: string | null;

  @IsOptional()
  @Satisfies((v) => isMarketText(v, 100), 'street must be 1 to 100 characters without control or format characters')
  street?: string | null;

  @IsOptional()
  @Matches(POSTCODE, { message: 'postcode must be a Danish postcode of 4 digits' })
  postcode?: string | null;

  @IsOptional()
  @Satisfies((v) => isMarketText(v, 60), 'city must be 1 to 60 characters without control or format characters')
  city?: string | null;
}

/**
 * Body of POST /api/customers/{id}/identity: completes a customer received by forced switch (BRS-044)
 * with `customer_name` (required here), `customer_type` and its CPR or CVR.
 */
export class CompleteIdentityDto extends ContactDetailsDto {
  @IsIn(['private', 'business'], { message: 'customer_type must be "private" or "business"' })
  customer_type!: 'private' | 'business';

  @ValidateIf((dto: CompleteIdentityDto) => dto.customer_type === 'private' || dto.cpr !== undefined)
  @Satisfies(isValidCpr, 'cpr must be 10 digits (DDMMYY-SSSS) with a valid birth date')
  cpr?: string;

  @ValidateIf((dto: CompleteIdentityDto) => dto.customer_type === 'business' || dto.cvr !== undefined)
  @Satisfies(isValidCvr, 'cvr must be 8 digits with a valid modulus-11 check')
  cvr?: string;
}

/** The contact details of a DTO as the portfolio service names them (only the fields given). */
export function contactDetailsOf(dto: ContactDetailsDto): Record<string, string | null> {
  const details: Record<string, string | null> = {};
  const fields: [keyof ContactDetailsDto, string][] = [['customer_name', 'name'], ['email', 'email'], ['phone', 'phone'], ['street', 'street'], ['postcode', 'postcode'], ['city', 'city']];
  for (const [from, to] of fields) if (dto[from] !== undefined) details[to] = dto[from] ?? null;
  return details;
}
