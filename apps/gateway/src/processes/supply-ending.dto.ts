import { IsIn, Matches, registerDecorator } from 'class-validator';
import { isValidGsrn } from '@dh/market-ids';
import { GSRN_MESSAGE } from '../customers/create-customer.dto';

const LOCAL_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function IsGsrn() {
  return (target: object, propertyName: string) =>
    registerDecorator({ name: 'isGsrn', target: target.constructor, propertyName, options: { message: GSRN_MESSAGE }, validator: { validate: (value: unknown) => isValidGsrn(value) } });
}

/** BRS-010 move-out: the customer leaves the address; our supply ends on `effective_date` (the first day not supplied). */
export class MoveOutDto {
  @IsGsrn()
  gsrn!: string;

  @Matches(LOCAL_DATE, { message: 'effective_date must be a date YYYY-MM-DD (Danish local date, the first day not supplied)' })
  effective_date!: string;
}

export const END_OF_SUPPLY_REASONS = ['non-payment', 'contract-ended', 'other'] as const;

/** BRS-002 end of supply: reported between 60 calendar days and 3 business days before `effective_date`. */
export class EndOfSupplyDto extends MoveOutDto {
  @IsIn(END_OF_SUPPLY_REASONS, { message: 'reason must be non-payment, contract-ended or other' })
  reason!: (typeof END_OF_SUPPLY_REASONS)[number];
}
