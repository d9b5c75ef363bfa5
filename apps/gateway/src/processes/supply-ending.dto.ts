import { IsIn, registerDecorator } from 'class-validator';
import { isValidGsrn } from '@dh/market-ids';
import { DATE_MESSAGE, GSRN_MESSAGE, isSaneLocalDate, Satisfies } from '../customers/create-customer.dto';

function IsGsrn() {
  return (target: object, propertyName: string) =>
    registerDecorator({ name: 'isGsrn', target: target.constructor, propertyName, options: { message: GSRN_MESSAGE }, validator: { validate: (value: unknown) => isValidGsrn(value) } });
}

/** BRS-010 move-out: the customer leaves the address; our supply ends on `effective_date` (the first day not supplied). */
export class MoveOutDto {
  @IsGsrn()
  gsrn!: string;

  @Satisfies(isSaneLocalDate, `${DATE_MESSAGE('effective_date')} (the first day not supplied)`)
  effective_date!: string;
}

export const END_OF_SUPPLY_REASONS = ['non-payment', 'contract-ended', 'other'] as const;

/** BRS-002 end of supply: reported between 60 calendar days and 3 business days before `effective_date`. */
export class EndOfSupplyDto extends MoveOutDto {
  @IsIn(END_OF_SUPPLY_REASONS, { message: 'reason must be non-payment, contract-ended or other' })
  reason!: (typeof END_OF_SUPPLY_REASONS)[number];
}
