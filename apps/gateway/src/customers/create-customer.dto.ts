import { IsEmail, IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, ValidateIf, registerDecorator, ValidationOptions } from 'class-validator';
import { isValidCpr, isValidCvr } from '@dh/market-ids';

function Satisfies(check: (value: unknown) => boolean, message: string, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'satisfies',
      target: target.constructor,
      propertyName,
      options: { message, ...options },
      validator: { validate: (value: unknown) => check(value) },
    });
}

/** Body of POST /api/customers. Messages never echo the submitted CPR. */
export class CreateCustomerDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @IsEmail({}, { message: 'email must be a valid e-mail address' })
  @MaxLength(254)
  email!: string;

  @IsOptional()
  @Matches(/^\+?[0-9 ]{8,15}$/, { message: 'phone must be 8 to 15 digits, optionally with a leading +' })
  phone?: string;

  @IsIn(['private', 'business'], { message: 'customerType must be "private" or "business"' })
  customerType!: 'private' | 'business';

  @ValidateIf((dto: CreateCustomerDto) => dto.customerType === 'private' || dto.cpr !== undefined)
  @Satisfies(isValidCpr, 'cpr must be 10 digits (DDMMYY-SSSS) with a valid birth date')
  cpr?: string;

  @ValidateIf((dto: CreateCustomerDto) => dto.customerType === 'business' || dto.cvr !== undefined)
  @Satisfies(isValidCvr, 'cvr must be 8 digits with a valid modulus-11 check')
  cvr?: string;
}
