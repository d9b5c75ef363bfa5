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

/** The SELECT list of a {@link MeteringPointRow}; `alias` qualifies the columns when the query joins another table. */
export function meteringPointColumns(alias?: string): string {
  const c = (name: string) => (alias ? `${alias}.${name}` : name);
  return `${c('gsrn')}, ${c('type')}, ${c('settlement_method')}, ${c('grid_area')}, ${c('price_area')}, ${c('customer_id')}, ${c('supply_status')},
  to_char(${c('supply_start')}, 'YYYY-MM-DD') AS supply_start, to_char(${c('supply_end')}, 'YYYY-MM-DD') AS supply_end, ${c('product_id')}, ${c('billing_frequency')}, ${c('payment_model')}`;
}
