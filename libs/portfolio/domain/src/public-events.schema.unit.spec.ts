import { customerDecider } from './customer/customer.decide';
import type { CustomerActivatedData, CustomerOffboardedData, CustomerEvent, CustomerUpdatedData } from './customer/customer.events';
import { processDecider } from './process/process.decide';
import type { ProcessEvent, ProcessStatusChangedData } from './process/process.events';
import type { ProcessCommand } from './process/process.commands';
import { PORTFOLIO_PUBLIC_EVENT_TYPES } from './public-events';
import { CUSTOMER_ACTIVATED_SCHEMA, CUSTOMER_OFFBOARDED_SCHEMA, CUSTOMER_UPDATED_SCHEMA, PROCESS_STATUS_CHANGED_SCHEMA, PUBLIC_EVENT_SCHEMAS } from './public-events.schema';
import { GSRN, onDay } from './testing/decider-spec';
import { schemaProblems } from './testing/json-schema-check';

// The compiler checks these key lists against the TypeScript shapes (a missing or extra key fails
// to compile); the tests check them against the JSON Schemas.
const ACTIVATED_KEYS: Record<keyof CustomerActivatedData, true> = { customerId: true, gsrn: true, effectiveDate: true };
const OFFBOARDED_KEYS: Record<keyof CustomerOffboardedData, true> = { customerId: true, gsrn: true, endDate: true, reason: true };
const UPDATED_KEYS: Record<keyof CustomerUpdatedData, true> = { customerId: true, changed: true, source: true, changedAt: true };
const STATUS_KEYS: Record<keyof ProcessStatusChangedData, boolean> = { processId: true, kind: true, from: true, to: true, reason: false, at: true };

/** Events the deciders really emit along a lifecycle. */
function emitted(): { data: unknown; type: string }[] {
  const commands: ProcessCommand[] = [
    { type: 'RequestChangeOfSupplier', data: { processId: 'p-1', gsrn: GSRN, customerId: 'c-1', effectiveDate: '2026-05-10', now: onDay('2026-05-01') } },
    { type: 'MarkRequestSent', data: { processId: 'p-1', messageId: 'm-1', now: onDay('2026-05-01') } },
    { type: 'RecordDataHubRejection', data: { processId: 'p-1', dataHubMessageId: 'd-1', reasonCode: 'E16', reasonText: 'Unauthorised', now: onDay('2026-05-02') } },
  ];
  const processEvents = commands.reduce<ProcessEvent[]>((h, c) => [...h, ...processDecider.decide(c, h.reduce(processDecider.evolve, processDecider.initialState))], []);
  const customerHistory: CustomerEvent[] = [{ type: 'CustomerCreated', data: { customerId: 'c-1', customerType: 'private', personalData: 'v1.x' } }];
  const activated = customerDecider.decide({ type: 'ActivateCustomer', data: { customerId: 'c-1', gsrn: GSRN, effectiveDate: '2026-05-10' } }, customerHistory.reduce(customerDecider.evolve, customerDecider.initialState));
  const offboarded = customerDecider.decide(
    { type: 'OffboardCustomer', data: { customerId: 'c-1', gsrn: GSRN, endDate: '2026-05-10', reason: 'incorrect-switch' } },
    [...customerHistory, ...activated].reduce(customerDecider.evolve, customerDecider.initialState),
  );
  const updated = customerDecider.decide(
    { type: 'ChangeCustomerPersonalData', data: { customerId: 'c-1', personalData: 'v1.y', changed: ['email', 'city'], source: 'portal', changedAt: '2026-05-11T07:30:00.000Z' } },
    [...customerHistory, ...activated, ...offboarded].reduce(customerDecider.evolve, customerDecider.initialState),
  );
  return [...processEvents, ...activated, ...offboarded, ...updated];
}

describe('public event schemas', () => {
  it.each(Object.values(PUBLIC_EVENT_SCHEMAS))('$title is a versioned draft 2020-12 schema', (schema) => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^https:\/\/.+\/v1\.json$/);
    expect(schema.version).toBe(1);
  });

  it('covers exactly the public event types', () => {
    expect(Object.keys(PUBLIC_EVENT_SCHEMAS).sort()).toEqual([...PORTFOLIO_PUBLIC_EVENT_TYPES].sort());
  });

  it.each([
    ['CustomerActivated', CUSTOMER_ACTIVATED_SCHEMA, ACTIVATED_KEYS],
    ['CustomerOffboarded', CUSTOMER_OFFBOARDED_SCHEMA, OFFBOARDED_KEYS],
    ['CustomerUpdated', CUSTOMER_UPDATED_SCHEMA, UPDATED_KEYS],
    ['ProcessStatusChanged', PROCESS_STATUS_CHANGED_SCHEMA, STATUS_KEYS],
  ] as const)('%s: schema properties and required keys match the TypeScript type', (_type, schema, keys) => {
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(keys).sort());
    expect([...schema.required].sort()).toEqual(
      Object.entries(keys)
        .filter(([, required]) => required)
        .map(([key]) => key)
        .sort(),
    );
  });

  it('accepts every public event the deciders emit', () => {
    const events = emitted().filter((e) => e.type in PUBLIC_EVENT_SCHEMAS);
    expect(events.map((e) => e.type)).toEqual(['ProcessStatusChanged', 'ProcessStatusChanged', 'ProcessStatusChanged', 'CustomerActivated', 'CustomerOffboarded', 'CustomerUpdated']);
    for (const event of events) expect(schemaProblems(PUBLIC_EVENT_SCHEMAS[event.type as keyof typeof PUBLIC_EVENT_SCHEMAS], event.data)).toEqual([]);
  });

  it('reports missing, mistyped, unknown and out-of-range properties', () => {
    expect(schemaProblems(CUSTOMER_ACTIVATED_SCHEMA, { customerId: 'c-1', gsrn: GSRN })).toEqual(['$.effectiveDate: required']);
    expect(schemaProblems(CUSTOMER_ACTIVATED_SCHEMA, { customerId: 7, gsrn: GSRN, effectiveDate: '2026-05-10' })).toEqual(['$.customerId: expected string, got integer']);
    expect(schemaProblems(CUSTOMER_OFFBOARDED_SCHEMA, { customerId: 'c', gsrn: GSRN, endDate: '10-05-2026', reason: 'bankrupt', cpr: '0101901234' })).toEqual([
      '$.endDate: "10-05-2026" does not match ^\\d{4}-\\d{2}-\\d{2}$',
      '$.reason: "bankrupt" is not one of ["switched-away","move-out","end-of-supply","incorrect-switch"]',
      '$.cpr: not allowed',
    ]);
    expect(schemaProblems(CUSTOMER_UPDATED_SCHEMA, { customerId: 'c', changed: [], source: 'crm', changedAt: '2026-05-01T10:00:00.000Z' })).toEqual(['$.changed: fewer than 1 items']);
    expect(schemaProblems(CUSTOMER_UPDATED_SCHEMA, { customerId: 'c', changed: ['email', 'Vestergade 1'], source: 'crm', changedAt: '2026-05-01T10:00:00.000Z', email: 'a@b.dk' })).toEqual([
      '$.changed[1]: "Vestergade 1" is not one of ["customerType","name","cpr","cvr","email","phone","street","postcode","city"]',
      '$.email: not allowed',
    ]);
    expect(schemaProblems(PROCESS_STATUS_CHANGED_SCHEMA, { processId: 'p', kind: 'move-in', from: null, to: 'created', at: '2026-05-01T10:00:00.000Z' })).toEqual([]);
    expect(schemaProblems(PROCESS_STATUS_CHANGED_SCHEMA, { processId: 'p', kind: 'move-in', from: 'none', to: 'created', at: '2026-05-01' })).toEqual([
      '$.from: "none" is not one of ["created","requested","pending","active","completed","rejected","cancelled","reversed",null]',
      '$.at: "2026-05-01" does not match ^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$',
    ]);
  });
});
