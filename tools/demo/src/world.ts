/**
 * One consistent simulated market for the demo and the end-to-end tests: the same metering points
 * seen by the DataHub simulator (after we supply them) and by Eloverblik (before we do).
 */

export const OUR_GLN = '5799999933318';
export const OTHER_SUPPLIER_GLN = '5791111111116';
export const DATAHUB_GLN = '5790001330552';
export const DATAHUB_CLIENT = { clientId: 'our-supplier', clientSecret: 's3cret-our-supplier' };
export const ELOVERBLIK_REFRESH_TOKEN = 'demo-refresh-token';

export interface WorldMeteringPoint {
  gsrn: string;
  gridArea: string;
  priceArea: 'DK1' | 'DK2';
  annualKwh: number;
  role:
    | 'switch-accepted'
    | 'switch-rejected'
    | 'switch-cancelled'
    | 'forced-switch'
    | 'second-switch'
    | 'move-out'
    | 'end-of-supply-cancelled'
    | 'incorrect-switch'
    | 'solar-switch'
    | 'move-in'
    | 'move-between-customers'
    | 'late-move-in';
  /** The production (E18) metering point beside it (own solar), known to Eloverblik. */
  productionGsrn?: string;
}

export const METERING_POINTS: readonly WorldMeteringPoint[] = [
  { gsrn: '571313180400000018', gridArea: '804', priceArea: 'DK1', annualKwh: 4000, role: 'switch-accepted' },
  { gsrn: '571313180400000049', gridArea: '131', priceArea: 'DK2', annualKwh: 3500, role: 'switch-rejected' },
  { gsrn: '571313180400000032', gridArea: '131', priceArea: 'DK2', annualKwh: 2500, role: 'switch-cancelled' },
  { gsrn: '571313180400000056', gridArea: '804', priceArea: 'DK1', annualKwh: 5000, role: 'forced-switch' },
  { gsrn: '571313180400000063', gridArea: '131', priceArea: 'DK2', annualKwh: 3000, role: 'second-switch' },
  // Supply ending (apps/gateway/src/e2e/supply-ending.e2e.spec.ts): BRS-010, BRS-002 cancelled, BRS-003.
  { gsrn: '571313180400000070', gridArea: '804', priceArea: 'DK1', annualKwh: 3200, role: 'move-out' },
  { gsrn: '571313180400000087', gridArea: '131', priceArea: 'DK2', annualKwh: 2800, role: 'end-of-supply-cancelled' },
  { gsrn: '571313180400000094', gridArea: '804', priceArea: 'DK1', annualKwh: 4500, role: 'incorrect-switch' },
  // CRM's /switch and /move-in for an existing customer (onboarding.e2e.spec.ts); the first has own solar.
  { gsrn: '571313180400000117', gridArea: '804', priceArea: 'DK1', annualKwh: 3800, role: 'solar-switch', productionGsrn: '571313180400000131' },
  { gsrn: '571313180400000124', gridArea: '131', priceArea: 'DK2', annualKwh: 2200, role: 'move-in' },
  // The demo month: one of our customers moves out on 15 October and another moves in (BRS-009); a move-in reported
  // 5 working days after its date (26 October, reported 2 November).
  { gsrn: '571313180400000148', gridArea: '131', priceArea: 'DK2', annualKwh: 3600, role: 'move-between-customers' },
  // In a grid area of its own (344, DK1): DataHub's wholesale fixing of October (1 November) predates the report, so
  // its grid area waits for DataHub's correction settlement, after the demo month.
  { gsrn: '571313180400000155', gridArea: '344', priceArea: 'DK1', annualKwh: 2700, role: 'late-move-in' },
];

export const GRID_AREA_PRICE_AREAS = '804:DK1,131:DK2,344:DK1';

/** The date from which DataHub, in the demo, bills us the metering point whose switch was cancelled. */
export const PLANTED_FROM = '2026-10-20';

export const byRole = (role: WorldMeteringPoint['role']): WorldMeteringPoint => {
  const found = METERING_POINTS.find((m) => m.role === role);
  if (!found) throw new Error(`no metering point with role ${role}`);
  return found;
};

/**
 * The DataHub simulator's scenario: our client, the metering points, a rejection and a forced switch. With
 * `reconciliation`, DataHub also sends its charge data (RSM-031/034) and has one planted difference for the
 * month's reconciliation: it keeps billing us the metering point whose switch we cancelled, from the date the
 * switch would have taken effect.
 */
export function dataHubScenario(options: {
  start: string;
  forcedSwitchDate: string;
  seed?: string;
  reconciliation?: boolean;
  /** Days whose RSM-012 DataHub sends late (at `sendAt`), so the settlement run of their month halts the point first. */
  lateMeteredData?: { gsrn: string; date: string; sendAt: string }[];
}): Record<string, unknown> {
  return {
    ...(options.reconciliation
      ? {
          sendChargeData: true,
          planted: { unsuppliedBilled: [{ gsrn: byRole('switch-cancelled').gsrn, supplierGln: OUR_GLN, from: PLANTED_FROM }], lateMeteredData: options.lateMeteredData ?? [] },
        }
      : options.lateMeteredData
        ? { planted: { lateMeteredData: options.lateMeteredData } }
        : {}),
    seed: options.seed ?? 'demo-world',
    start: options.start,
    datahubGln: DATAHUB_GLN,
    tokenLifetimeSeconds: 3600,
    leadTimeDays: 1,
    clients: [
      { clientId: DATAHUB_CLIENT.clientId, clientSecret: DATAHUB_CLIENT.clientSecret, gln: OUR_GLN },
      { clientId: 'other-supplier', clientSecret: 's3cret-other-supplier', gln: OTHER_SUPPLIER_GLN },
    ],
    meteringPoints: METERING_POINTS.map((m) => ({
      gsrn: m.gsrn,
      gridArea: m.gridArea,
      priceArea: m.priceArea,
      type: 'E17',
      settlementMethod: 'D01',
      profile: { annualKwh: m.annualKwh, shape: 'household' },
      supply: { supplierGln: OTHER_SUPPLIER_GLN, from: '2024-01-01' },
    })),
    rejections: [{ gsrn: byRole('switch-rejected').gsrn, reasonCode: 'D16', text: 'Customer relation not confirmed', processType: 'E03' }],
    forcedSwitches: [{ gsrn: byRole('forced-switch').gsrn, supplierGln: OUR_GLN, effectiveDate: options.forcedSwitchDate }],
    charges: [
      { code: '41000', ownerGln: '5790000432752', type: 'D03', price: '0.072' },
      { code: '40000', ownerGln: '5790000432752', type: 'D03', price: '0.043' },
    ],
  };
}

/** The Eloverblik simulator's scenario: consent for every metering point, a year and more of history. */
export function eloverblikScenario(options: { now: string; seed?: string }): Record<string, unknown> {
  return {
    seed: options.seed ?? 'demo-world',
    now: options.now,
    accessTokenLifetimeSeconds: 3600,
    thirdParties: [
      {
        name: 'Our Supplier A/S',
        refreshToken: ELOVERBLIK_REFRESH_TOKEN,
        consents: METERING_POINTS.flatMap((m) => [{ gsrn: m.gsrn }, ...(m.productionGsrn === undefined ? [] : [{ gsrn: m.productionGsrn }])]),
      },
    ],
    meteringPoints: METERING_POINTS.flatMap((m) => [
      {
        gsrn: m.gsrn,
        typeOfMP: 'E17',
        settlementMethod: 'D01',
        gridArea: m.gridArea,
        gridOperator: { gln: '5790000610976', name: 'Sim Net A/S' },
        priceArea: m.priceArea,
        balanceSupplier: { gln: OTHER_SUPPLIER_GLN, name: 'Nuværende El A/S', startDate: '2024-01-01' },
        address: { streetName: 'Simulatorvej', buildingNumber: '7', postcode: '8000', cityName: 'Aarhus C' },
        estimatedAnnualVolume: String(m.annualKwh),
        historyFrom: '2024-01-01',
        ...(m.productionGsrn === undefined ? {} : { linkedProductionGsrn: m.productionGsrn }),
        profile: { kind: 'shaped', shape: 'household', annualKwh: String(m.annualKwh) },
      },
      ...(m.productionGsrn === undefined
        ? []
        : [
            {
              gsrn: m.productionGsrn,
              typeOfMP: 'E18',
              gridArea: m.gridArea,
              gridOperator: { gln: '5790000610976', name: 'Sim Net A/S' },
              priceArea: m.priceArea,
              address: { streetName: 'Simulatorvej', buildingNumber: '7', postcode: '8000', cityName: 'Aarhus C' },
              historyFrom: '2024-01-01',
              profile: { kind: 'shaped', shape: 'solar', annualKwh: '3000' },
            },
          ]),
    ]),
  };
}

/**
 * Environment for every service of a stack wired to the simulators.
 *
 * The services follow the DataHub simulator's clock (`CLOCK_URL`, polled every 100 ms), and the simulator queues
 * what is due on a date (RSM-004, RSM-022) at the moment its clock jumps over that date. datahub-integration can
 * peek those documents and portfolio handle them before portfolio's clock has followed the jump: the process
 * manager then takes them as early news and leaves the process to its effective-date scheduler. That scheduler
 * runs every `EFFECTIVE_DATE_CHECK_SECONDS`, 60 by default, which fits a wall clock moving a second a second; on a
 * clock that jumps days at once it holds a supply start up to a minute after the jump. Every second here.
 */
export function simulatorEnv(urls: { dataHub: string; eloverblik: string }): Record<string, string> {
  return {
    DATAHUB_URL: urls.dataHub,
    DATAHUB_CLIENT_ID: DATAHUB_CLIENT.clientId,
    DATAHUB_CLIENT_SECRET: DATAHUB_CLIENT.clientSecret,
    DATAHUB_IDLE_MS: '200',
    SUPPLIER_GLN: OUR_GLN,
    DATAHUB_GLN,
    ELOVERBLIK_URL: urls.eloverblik,
    ELOVERBLIK_REFRESH_TOKEN,
    CLOCK_URL: `${urls.dataHub}/sim/clock`,
    EFFECTIVE_DATE_CHECK_SECONDS: '1',
    GRID_AREA_PRICE_AREAS,
  };
}
