/**
 * A metering point as the gateway reads it from the metering points read model: master data and our
 * current supply on it (dates as YYYY-MM-DD). CRM's portfolio overview returns it as it is; the portal
 * reads it to answer for the customer's own supplies.
 */
export interface MeteringPointRow {
  gsrn: string;
  type: string | null;
  settlement_method: string | null;
  grid_area: string | null;
  price_area: string | null;
  customer_id: string | null;
  supply_status: string;
  supply_start: string | null;
  supply_end: string | null;
  product_id: string | null;
  billing_frequency: string | null;
  payment_model: string | null;
}

/**
 * The SELECT list of a {@link MeteringPointRow}; `alias` qualifies the columns when the query joins another table.
 * `castToText`: every column cast to `text` (all are strings to the gateway), so the list's result types stay the same
 * whatever the table's column types become (a named statement must not change its result type; see consumption.query.ts).
 */
export function meteringPointColumns(alias?: string, options: { castToText?: boolean } = {}): string {
  const c = (name: string) => (alias ? `${alias}.${name}` : name);
  const col = (name: string) => (options.castToText ? `${c(name)}::text AS ${name}` : c(name));
  return `${col('gsrn')}, ${col('type')}, ${col('settlement_method')}, ${col('grid_area')}, ${col('price_area')}, ${col('customer_id')}, ${col('supply_status')},
  to_char(${c('supply_start')}, 'YYYY-MM-DD') AS supply_start, to_char(${c('supply_end')}, 'YYYY-MM-DD') AS supply_end, ${col('product_id')}, ${col('billing_frequency')}, ${col('payment_model')}`;
}
