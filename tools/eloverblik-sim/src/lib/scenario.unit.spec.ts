import { testScenario, MP_HOUSEHOLD, MP_PATTERN_FULL, MP_SOLAR } from '../testing/scenarios';
import { parseScenario, ScenarioError } from './scenario';

type Json = Record<string, unknown>;
const withPoints = (change: (points: Json[]) => Json[]): Json => {
  const scenario = testScenario() as Json;
  return { ...scenario, meteringPoints: change(scenario['meteringPoints'] as Json[]) };
};

describe('Eloverblik simulator scenario: a consumption point linked to its production point', () => {
  it('keeps the link of a consumption point to an E18 point of the scenario', () => {
    const parsed = parseScenario(testScenario());
    expect(parsed.meteringPoints.find((m) => m.gsrn === MP_HOUSEHOLD)?.linkedProductionGsrn).toBe(MP_SOLAR);
    expect(parsed.meteringPoints.find((m) => m.gsrn === MP_SOLAR)?.linkedProductionGsrn).toBeUndefined();
  });

  it('refuses a link to a point that is not a production point, or from a production point', () => {
    const toConsumption = withPoints((points) => points.map((m) => (m['gsrn'] === MP_HOUSEHOLD ? { ...m, linkedProductionGsrn: MP_PATTERN_FULL } : m)));
    expect(() => parseScenario(toConsumption)).toThrow(new ScenarioError('$.meteringPoints[0].linkedProductionGsrn', `${MP_PATTERN_FULL} is not a production (E18) metering point of the scenario`));
    const fromProduction = withPoints((points) => points.map((m) => (m['gsrn'] === MP_SOLAR ? { ...m, linkedProductionGsrn: MP_HOUSEHOLD } : m)));
    expect(() => parseScenario(fromProduction)).toThrow(/only a consumption \(E17\) point links a production point/);
  });
});
