import { FastLine } from './fast-line';
import type { PeriodPrices } from './period-prices';

/** The kWh lines of one invoice, in invoice order, plus the production line's quantity. */
export class Lines {
  readonly energy: FastLine;
  readonly grid: FastLine;
  readonly system: FastLine;
  readonly transmission: FastLine;
  readonly tax: FastLine;
  readonly reducedTax: FastLine;
  readonly exportEnergy: FastLine;
  readonly exportFee: FastLine;
  producedWh = 0;
  productionEstimated = false;

  constructor(p: PeriodPrices, hourlySpot: boolean) {
    const r = p.rates;
    this.energy = new FastLine('energy', `${p.product.name}: spot price + margin`, p.product.margin.chargeId, hourlySpot ? 25n : 100n);
    this.grid = new FastLine('grid-tariff', r.gridTariff.description, r.gridTariff.chargeId, 100n);
    this.system = new FastLine('system-tariff', r.systemTariff.description, r.systemTariff.chargeId, 100n);
    this.transmission = new FastLine('transmission-tariff', r.transmissionTariff.description, r.transmissionTariff.chargeId, 100n);
    this.tax = new FastLine('electricity-tax', r.electricityTax.description, r.electricityTax.chargeId, 100n);
    this.reducedTax = new FastLine('electricity-tax-reduced', r.reducedElectricityTax.description, r.reducedElectricityTax.chargeId, 100n);
    this.exportEnergy = new FastLine('export-energy', 'Net export bought at the spot price', null, 25n, -1n);
    this.exportFee = new FastLine('export-fee', p.exportFee?.charge.description ?? '', p.exportFee?.charge.chargeId ?? null, 100n);
  }

  flush(): void {
    this.energy.flush();
    this.grid.flush();
    this.system.flush();
    this.transmission.flush();
    this.tax.flush();
    this.reducedTax.flush();
    this.exportEnergy.flush();
    this.exportFee.flush();
  }
}
