export type { Decimal, DecimalParseProblem } from './decimal';
export {
  DecimalParseError,
  PrecisionLossError,
  parseDecimal,
  isDecimalString,
  toScaled,
  toExactScaled,
  fromScaled,
  formatScaled,
} from './decimal';
export { divRoundHalfAwayFromZero, roundHalfAwayFromZero, rescale } from './rounding';
export { Money, ORE_SCALE, DK_VAT_RATE, formatDkk, toOre, vatOf, vatAllocated, prorate, ratioToOre } from './money';
export type { QuantityArray, PriceArray } from './scaled';
export {
  QUANTITY_SCALE,
  PRICE_SCALE,
  AMOUNT_SCALE,
  MEAN_PRICE_SCALE,
  MEAN_AMOUNT_SCALE,
  parseQuantityMilliKwh,
  parsePriceNanoDkkPerKwh,
  mwhToKwhPrice,
  mwhToKwhPriceUnits,
  meanOfFour,
  sumProducts,
  ExactSum,
} from './scaled';
