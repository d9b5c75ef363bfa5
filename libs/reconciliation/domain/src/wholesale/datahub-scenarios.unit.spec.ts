import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readTestFile, testFilesIn } from '@dh/testing';
import { settleWholesaleBasis, type WholesaleResults } from '../index';
import {
  AMOUNT_COLUMNS,
  ENERGY_COLUMNS,
  MONTHLY_COLUMNS,
  TOTAL_COLUMNS,
  amountRow,
  energyRows,
  expectedRows,
  monthlyRow,
  scenarioBasis,
  totalRow,
  type CalculationArguments,
} from '../testing/datahub-scenario';

/**
 * Energinet's own scenario tests of DataHub's wholesale engine (opengeh-wholesale, see testdata/…/SOURCES.md):
 * from each scenario's `when/` basis data our library must produce exactly the rows of its `then/` files, to
 * the last decimal. Every `then/` file of a scenario is checked; the expected rows are read from the files.
 */
const SCENARIOS = path.resolve(__dirname, '../testdata/datahub-wholesale-scenarios');
/** Energinet's scenario harness default (`conftest.py` `DEFAULT_QUARTERLY_RESOLUTION`). */
const QUARTERLY_TRANSITION = Date.parse('2023-01-31T23:00:00Z');

function load(scenario: string) {
  const when = (file: string) => readTestFile(SCENARIOS, scenario, 'when', file);
  const yaml = parseYaml(when('calculation_arguments.yml')) as Record<string, unknown>[];
  const a = yaml[0]!;
  const args: CalculationArguments = { gridAreas: a['grid-areas'] as string[], periodStart: String(a['period-start-datetime']), periodEnd: String(a['period-end-datetime']) };
  const files: { args: CalculationArguments; [file: string]: string | CalculationArguments } = { args };
  for (const f of testFilesIn(SCENARIOS, scenario, 'when')) if (f.endsWith('.csv')) files[f] = when(f);
  return scenarioBasis(files, QUARTERLY_TRANSITION);
}

const WHOLESALE_FILES: Record<string, { columns: readonly string[]; rows: (r: WholesaleResults) => string[] }> = {
  'hourly_tariff_per_co_es.csv': { columns: AMOUNT_COLUMNS, rows: (r) => r.hourlyTariffs.map(amountRow) },
  'daily_tariff_per_co_es.csv': { columns: AMOUNT_COLUMNS, rows: (r) => r.dailyTariffs.map(amountRow) },
  'subscription_per_co_es.csv': { columns: AMOUNT_COLUMNS, rows: (r) => r.subscriptions.map(amountRow) },
  'fee_per_co_es.csv': { columns: AMOUNT_COLUMNS, rows: (r) => r.fees.map(amountRow) },
  'monthly_tariff_from_hourly_per_co_es.csv': { columns: MONTHLY_COLUMNS, rows: (r) => r.monthlyTariffsFromHourly.map(monthlyRow) },
  'monthly_tariff_from_daily_per_co_es.csv': { columns: MONTHLY_COLUMNS, rows: (r) => r.monthlyTariffsFromDaily.map(monthlyRow) },
  'monthly_subscription_per_co_es.csv': { columns: MONTHLY_COLUMNS, rows: (r) => r.monthlySubscriptions.map(monthlyRow) },
  'monthly_fee_per_co_es.csv': { columns: MONTHLY_COLUMNS, rows: (r) => r.monthlyFees.map(monthlyRow) },
  'total_monthly_amounts_per_co_es.csv': { columns: TOTAL_COLUMNS, rows: (r) => r.totalsPerChargeOwner.map(totalRow) },
  'total_monthly_amounts_per_es.csv': { columns: TOTAL_COLUMNS, rows: (r) => r.totalsPerEnergySupplier.map(totalRow) },
};

const sorted = (rows: string[]) => [...rows].sort();

describe.each([
  'given_minimal_standard_wholesale_scenario',
  'given_price_elements_starts_or_stops',
  'given_no_active_price_points_for_price_elements',
  'given_extra_fees_or_subscriptions_are_added',
])('Energinet scenario %s', (scenario) => {
  const basis = load(scenario);
  const { energy, wholesale } = settleWholesaleBasis(basis);
  const thenFiles = testFilesIn(SCENARIOS, scenario, 'then', 'wholesale_results');

  it('has expected wholesale results to compare with', () => {
    expect(thenFiles.length).toBeGreaterThan(0);
    expect(thenFiles.every((f) => f in WHOLESALE_FILES)).toBe(true);
  });

  it.each(thenFiles)('reproduces then/wholesale_results/%s row for row', (file) => {
    const expected = expectedRows(readTestFile(SCENARIOS, scenario, 'then', 'wholesale_results', file), WHOLESALE_FILES[file]!.columns);
    expect(expected.length).toBeGreaterThan(0);
    expect(sorted(WHOLESALE_FILES[file]!.rows(wholesale))).toEqual(sorted(expected));
  });

  const energyFiles = testFilesIn(SCENARIOS, scenario, 'then', 'energy_results');
  if (energyFiles.length > 0) {
    it.each(energyFiles)('reproduces then/energy_results/%s row for row', (file) => {
      const gridLossPoints = basis.meteringPointPeriods.filter((p) => basis.gridLossMeteringPoints.includes(p.meteringPointId));
      const results = basis.gridAreas.flatMap((ga) => energy.energyResults(ga, gridLossPoints));
      const perEs = file.endsWith('_per_es.csv');
      const type = { 'exchange.csv': 'net_exchange_per_ga', 'temporary_production.csv': 'temp_production', 'temporary_flex_consumption.csv': 'temp_flex_consumption' }[file] ?? file.replace('_per_es.csv', '').replace('.csv', '');
      const ours = results.filter((s) => s.timeSeriesType === type && (s.energySupplier !== null) === perEs).flatMap(energyRows);
      const expected = expectedRows(readTestFile(SCENARIOS, scenario, 'then', 'energy_results', file), ENERGY_COLUMNS);
      expect(expected.length).toBeGreaterThan(0);
      expect(sorted(ours)).toEqual(sorted(expected));
    });
  }
});
