/** Test scenario shared by the simulator's and the client's integration tests (not part of the build). */

export const REFRESH_TOKEN = 'sim-refresh-token-our-supplier';
export const OTHER_REFRESH_TOKEN = 'sim-refresh-token-comparison-site';
export const GRID_OPERATOR_GLN = '5790000610976';
export const CURRENT_SUPPLIER_GLN = '5790001432751';

/** Shaped household profile, history since 2020. */
export const MP_HOUSEHOLD = '571313180400110007';
/** Pattern profile (4.900 kWh a day), history since 2024: a full year of data. */
export const MP_PATTERN_FULL = '571313180400110014';
/** Pattern profile, history from 2026-03-01: 40 measured days before 2026-04-10. */
export const MP_PATTERN_SHORT = '571313180400110021';
/** Pattern profile, history from 2026-04-01: 9 days (too few to scale), EAV 4321.5. */
export const MP_NEW = '571313180400110038';
/** Exists, but our refresh token has no consent for it. */
export const MP_NO_CONSENT = '571313180400110045';
/** Valid GS1 check digit, not in the scenario. */
export const MP_UNKNOWN = '571313180400110052';
/** New (no history at all before today) and no estimatedAnnualVolume. */
export const MP_NEW_NO_EAV = '571313180400110069';
/** The production (E18) point beside MP_HOUSEHOLD (own solar), linked from it. */
export const MP_SOLAR = '571313180400110076';
/** MP_HOUSEHOLD with its last digit changed: fails the GS1 check. */
export const MP_BAD_CHECK_DIGIT = '571313180400110008';

/** The simulator's "now": local date 2026-04-10 in Copenhagen (CEST). */
export const NOW = '2026-04-10T08:00:00Z';
export const TODAY = '2026-04-10';

/** 0.100 kWh for local hours 0–5, 0.250 for 6–21, 0.150 for 22–23: 4.900 kWh a day; hour 2 (the DST hour) is 0.100. */
export const PATTERN = [...Array<string>(6).fill('0.100'), ...Array<string>(16).fill('0.250'), ...Array<string>(2).fill('0.150')];

const address = { streetName: 'Simulatorvej', buildingNumber: '7', floorId: '2', roomId: 'tv', postcode: '8000', cityName: 'Aarhus C', municipalityCode: '751' };
const gridOperator = { gln: GRID_OPERATOR_GLN, name: 'Sim Net A/S' };

export interface TestScenarioOptions {
  readonly accessTokenLifetimeSeconds?: number;
  readonly now?: string;
  readonly seed?: string;
}

export function testScenario(options: TestScenarioOptions = {}): Record<string, unknown> {
  const pattern = { kind: 'pattern', kwhByLocalHour: PATTERN };
  return {
    seed: options.seed ?? 'eloverblik-int',
    now: options.now ?? NOW,
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3600,
    thirdParties: [
      {
        name: 'Our Supplier A/S',
        refreshToken: REFRESH_TOKEN,
        consents: [MP_HOUSEHOLD, MP_SOLAR, MP_PATTERN_FULL, MP_PATTERN_SHORT, MP_NEW, MP_NEW_NO_EAV].map((gsrn) => ({ gsrn, validFrom: '2026-01-01' })),
      },
      { name: 'Comparison Site ApS', refreshToken: OTHER_REFRESH_TOKEN, consents: [{ gsrn: MP_NO_CONSENT }] },
    ],
    meteringPoints: [
      {
        gsrn: MP_HOUSEHOLD,
        typeOfMP: 'E17',
        settlementMethod: 'D01',
        gridArea: '344',
        gridOperator,
        priceArea: 'DK1',
        balanceSupplier: { gln: CURRENT_SUPPLIER_GLN, name: 'Nuværende El A/S', startDate: '2023-05-01' },
        address,
        consumerName: 'Jens Jensen',
        consumerStartDate: '2019-08-01',
        estimatedAnnualVolume: '4000',
        historyFrom: '2020-01-01',
        linkedProductionGsrn: MP_SOLAR,
        profile: { kind: 'shaped', shape: 'household', annualKwh: '4000', noisePercent: 25 },
      },
      { gsrn: MP_SOLAR, typeOfMP: 'E18', gridArea: '344', gridOperator, priceArea: 'DK1', address, historyFrom: '2024-01-01', profile: { kind: 'shaped', shape: 'solar', annualKwh: '3000' } },
      { gsrn: MP_PATTERN_FULL, gridArea: '344', gridOperator, priceArea: 'DK1', address, estimatedAnnualVolume: '1800', historyFrom: '2024-01-01', profile: pattern },
      { gsrn: MP_PATTERN_SHORT, gridArea: '344', gridOperator, priceArea: 'DK1', address, estimatedAnnualVolume: '2500', historyFrom: '2026-03-01', profile: pattern },
      { gsrn: MP_NEW, gridArea: '131', gridOperator, priceArea: 'DK2', address, estimatedAnnualVolume: '4321.5', historyFrom: '2026-04-01', profile: pattern },
      { gsrn: MP_NEW_NO_EAV, gridArea: '131', gridOperator, priceArea: 'DK2', address, historyFrom: TODAY, profile: pattern },
      { gsrn: MP_NO_CONSENT, gridArea: '131', gridOperator, priceArea: 'DK2', address, estimatedAnnualVolume: '3000', profile: pattern },
    ],
  };
}
