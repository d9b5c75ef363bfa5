import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { DATE_MESSAGE, isSaneLocalDate, Satisfies } from '../customers/create-customer.dto';

/** A product change of a customer's supply from a day (`ChangeProduct` → `ProductChanged`). */
export class ProductChangeDto {
  /** A product of the catalogue (`GET /api/products`), on sale on `effective_date`. */
  @IsString({ message: 'product_id is required' })
  @IsNotEmpty({ message: 'product_id is required' })
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'product_id is a product id of the catalogue (letters, digits, ".", "_", "-")' })
  product_id!: string;

  @Satisfies(isSaneLocalDate, `${DATE_MESSAGE('effective_date')} (the first day on the new product)`)
  effective_date!: string;
}
