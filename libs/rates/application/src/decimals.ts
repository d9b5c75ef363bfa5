import { formatScaled, toExactScaled } from '@dh/money';

/** DKK/MWh → DKK/kWh as text, exactly: the decimal point moves three places (`"702.67776"` → `"0.70267776"`). */
export function mwhTextToKwhText(dkkPerMwh: string): string {
  const { units, scale } = toExactScaled(dkkPerMwh);
  return formatScaled(units, scale + 3);
}

/** Same value, whatever the notation (`"1.50"` = `"1.5"`). */
export function sameDecimal(a: string, b: string): boolean {
  const x = toExactScaled(a);
  const y = toExactScaled(b);
  return x.units === y.units && x.scale === y.scale;
}
