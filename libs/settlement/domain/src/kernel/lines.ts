import { FastLine } from './fast-line';
import type { PeriodPrices } from './period-prices';

/** The kWh lines of one invoice, in invoice order, plus the production line's quantity. */
export class Lines {
  readonly energy: FastLine;
  readonly grid: FastLine;
  readonly system: FastLine;
  readonly transmission: FastLine;
  readonly tax: FastLine;
  /** The lines few invoices have, made when first used (`reducedTax`, …); null while unused. */
  private reducedTaxLine: FastLine | null = null;
  private exportEnergyLine: FastLine | null = null;
  private exportFeeLine: FastLine | null = null;
  producedWh = 0;
  productionEstimated = false;

  constructor(
    private readonly p: PeriodPrices,
    hourlySpot: boolean,
  ) {
    const r = p.rates;
    this.energy = new FastLine('energy', `${p.product.name}: spot price + margin`, p.product.margin.chargeId, hourlySpot ? 25n : 100n);
    this.grid = new FastLine('grid-tariff', r.gridTariff.description, r.gridTariff.chargeId, 100n);
    this.system = new FastLine('system-tariff', r.systemTariff.description, r.systemTariff.chargeId, 100n);
    this.transmission = new FastLine('transmission-tariff', r.transmissionTariff.description, r.transmissionTariff.chargeId, 100n);
    this.tax = new FastLine('electricity-tax', r.electricityTax.description, r.electricityTax.chargeId, 100n);
  }

  get reducedTax(): FastLine {
    const r = this.p.rates.reducedElectricityTax;
    return (this.reducedTaxLine ??= new FastLine('electricity-tax-reduced', r.description, r.chargeId, 100n));
  }

  get exportEnergy(): FastLine {
    return (this.exportEnergyLine ??= new FastLine('export-energy', 'Net export bought at the spot price', null, 25n, -1n));
  }

  get exportFee(): FastLine {
    const fee = this.p.exportFee?.charge;
    return (this.exportFeeLine ??= new FastLine('export-fee', fee?.description ?? '', fee?.chargeId ?? null, 100n));
  }

  /** True when something was added to the reduced electricity tax line. */
  get reducedTaxTouched(): boolean {
    return this.reducedTaxLine?.touched ?? false;
  }

  /** True when an hour had a net export (the export-energy line was used). */
  get exportTouched(): boolean {
    return this.exportEnergyLine?.touched ?? false;
  }

  flush(): void {
    this.energy.flush();
    this.grid.flush();
    this.system.flush();
    this.transmission.flush();
    this.tax.flush();
    this.reducedTaxLine?.flush();
    this.exportEnergyLine?.flush();
    this.exportFeeLine?.flush();
  }
}
