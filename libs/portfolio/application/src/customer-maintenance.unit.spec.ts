import { randomUUID } from 'node:crypto';
import { createInMemoryEventStore, type InMemoryEventStore } from '@dh/event-store';
import { customerStreamId, DomainRuleViolation } from '@dh/portfolio-domain';
import { createCustomer, type CommandContext, type PersonalDataProtector } from './create-customer';
import { changeContactDetails, completeCustomerIdentity, currentPersonalData, nameSearchTerms } from './customer-maintenance';
import { getCustomerIdentityForDataHub, type PersonalDataReader } from './customer-identity';

/** Reversible stand-in for the PiiVault that records the identity index and search terms, and can erase. */
class FakeVault implements PersonalDataProtector, PersonalDataReader {
  readonly identities = new Map<string, string>();
  readonly terms = new Map<string, readonly string[]>();
  readonly erased = new Set<string>();
  async encrypt(subjectId: string, value: Record<string, string | null>): Promise<string> {
    if (this.erased.has(subjectId)) throw new Error('erased');
    return `sealed:${Buffer.from(JSON.stringify({ subjectId, value })).toString('base64')}`;
  }
  async decrypt(subjectId: string, sealed: string): Promise<Record<string, string | null>> {
    if (this.erased.has(subjectId)) throw new Error('erased');
    const opened = JSON.parse(Buffer.from(sealed.slice('sealed:'.length), 'base64').toString('utf8')) as { subjectId: string; value: Record<string, string | null> };
    if (opened.subjectId !== subjectId) throw new Error('wrong subject');
    return opened.value;
  }
  async registerIdentity(subjectId: string, identity: string): Promise<void> {
    this.identities.set(subjectId, identity);
  }
  async registerSearchTerms(subjectId: string, kind: string, terms: readonly string[]): Promise<void> {
    this.terms.set(`${subjectId}:${kind}`, terms);
  }
}

const context = (now = new Date('2026-11-02T09:00:00Z')): CommandContext => ({ correlationId: 'corr-1', causationId: null, actor: 'crm', now });

describe('customer maintenance', () => {
  let store: InMemoryEventStore;
  let vault: FakeVault;
  const deps = () => ({ store, protector: vault });

  beforeEach(() => {
    store = createInMemoryEventStore();
    vault = new FakeVault();
  });

  const create = async () =>
    (await createCustomer(deps(), { name: 'Anna Hansen', email: 'anna@example.dk', phone: '+4512345678', customerType: 'private', cpr: '010190-1234' }, context())).customerId;

  it('makes a new customer findable by the words of the name', async () => {
    const id = await create();
    expect(vault.terms.get(`${id}:name`)).toEqual(['anna', 'hansen']);
    expect(nameSearchTerms('  Søren  Ørsted-José ')).toEqual(['søren', 'ørsted', 'jose']);
  });

  it('seals an address given at creation with the rest, and none when none was given', async () => {
    const withAddress = await createCustomer(deps(), { name: 'Carl Dam', email: 'carl@example.dk', customerType: 'private', cpr: '0202901234', street: 'Havnegade 3', postcode: '5000', city: 'Odense C' }, context());
    const sealed = currentPersonalData(await store.readStream(customerStreamId(withAddress.customerId)))!;
    expect(await vault.decrypt(withAddress.customerId, sealed)).toMatchObject({ name: 'Carl Dam', street: 'Havnegade 3', postcode: '5000', city: 'Odense C' });
    const id = await create();
    expect(Object.keys(await vault.decrypt(id, currentPersonalData(await store.readStream(customerStreamId(id)))!))).not.toContain('street');
  });

  it('seals the changed record again and names only the changed fields', async () => {
    const id = await create();
    const result = await changeContactDetails(deps(), { customerId: id, details: { email: 'anna@new.dk', phone: '+4512345678', street: 'Vestergade 1', postcode: '8000', city: 'Aarhus' }, source: 'portal' }, context());
    expect(result.changed).toEqual(['email', 'street', 'postcode', 'city']);
    const events = await store.readStream(customerStreamId(id));
    const changed = events[events.length - 2]!;
    expect(changed.type).toBe('CustomerPersonalDataChanged');
    // The public event: the customer, the names of the changed fields and when, nothing sealed.
    expect(events[events.length - 1]).toMatchObject({
      type: 'CustomerUpdated',
      data: { customerId: id, changed: ['email', 'street', 'postcode', 'city'], source: 'portal', changedAt: '2026-11-02T09:00:00.000Z' },
    });
    expect(Object.keys(events[events.length - 1]!.data).sort()).toEqual(['changed', 'changedAt', 'customerId', 'source']);
    expect(changed.data).toEqual({ customerId: id, personalData: expect.stringMatching(/^sealed:/), changed: ['email', 'street', 'postcode', 'city'], source: 'portal' });
    expect(JSON.stringify(changed.data)).not.toContain('Vestergade');
    const now = await vault.decrypt(id, currentPersonalData(events)!);
    expect(now).toMatchObject({ name: 'Anna Hansen', email: 'anna@new.dk', phone: '+4512345678', cpr: '0101901234'.slice(0, 6) + '-1234', street: 'Vestergade 1', city: 'Aarhus' });
  });

  it('records nothing when nothing differs, removes a field with null, and renames in the search index', async () => {
    const id = await create();
    expect((await changeContactDetails(deps(), { customerId: id, details: { email: 'anna@example.dk' }, source: 'crm' }, context())).changed).toEqual([]);
    expect(await store.readStream(customerStreamId(id))).toHaveLength(1);
    expect((await changeContactDetails(deps(), { customerId: id, details: { phone: null, name: 'Anna Holm' }, source: 'crm' }, context())).changed).toEqual(['name', 'phone']);
    expect((await changeContactDetails(deps(), { customerId: id, details: { phone: '+4587654321' }, source: 'staff' }, context(new Date('2026-11-03T10:00:00Z')))).changed).toEqual(['phone']);
    // One CustomerUpdated per change that changed something, none for the one that did not.
    const updates = (await store.readStream(customerStreamId(id))).filter((e) => e.type === 'CustomerUpdated').map((e) => e.data);
    expect(updates).toEqual([
      { customerId: id, changed: ['name', 'phone'], source: 'crm', changedAt: '2026-11-02T09:00:00.000Z' },
      { customerId: id, changed: ['phone'], source: 'staff', changedAt: '2026-11-03T10:00:00.000Z' },
    ]);
    expect(vault.terms.get(`${id}:name`)).toEqual(['anna', 'holm']);
  });

  it('refuses bad input, an unknown customer and an erased one', async () => {
    const id = await create();
    await expect(changeContactDetails(deps(), { customerId: id, details: { name: null }, source: 'crm' }, context())).rejects.toThrow('name cannot be removed');
    await expect(changeContactDetails(deps(), { customerId: id, details: { cpr: '1' } as never, source: 'crm' }, context())).rejects.toThrow(DomainRuleViolation);
    await expect(changeContactDetails(deps(), { customerId: id, details: { city: 'a\u0000b' }, source: 'crm' }, context())).rejects.toThrow('control characters');
    await expect(changeContactDetails(deps(), { customerId: '6f1c1a35-0000-4000-8000-000000000000', details: { city: 'x' }, source: 'crm' }, context())).rejects.toMatchObject({ code: 'unknown-customer' });
    await store.appendToStream(`customer-erasure-${id}`, [{ occurredAt: new Date(), eventId: randomUUID(), type: 'CustomerPersonalDataErased', data: { customerId: id }, metadata: { correlationId: 'c', causationId: null, actor: 'staff', schemaVersion: 1, context: 'portfolio' } }], { expectedRevision: 'no_stream' });
    await expect(changeContactDetails(deps(), { customerId: id, details: { city: 'Odense' }, source: 'crm' }, context())).rejects.toMatchObject({ code: 'personal-data-erased' });
  });

  it('completes a forced-switch placeholder once; DataHub then gets the name and CPR of the latest record', async () => {
    const id = await create();
    await expect(completeCustomerIdentity(deps(), { customerId: id, customerType: 'private', name: 'X', cpr: '0101901234', source: 'staff' }, context())).rejects.toMatchObject({ code: 'not-a-placeholder' });

    // A placeholder as the process manager writes it for BRS-044.
    const placeholder = '7a1c1a35-0000-4000-8000-000000000044';
    const personalData = await vault.encrypt(placeholder, { name: null, email: null, phone: null, cpr: null, cvr: null, source: 'datahub-brs-044' });
    await store.appendToStream(
      customerStreamId(placeholder),
      [
        { occurredAt: new Date(), eventId: randomUUID(), type: 'CustomerCreated', data: { customerId: placeholder, customerType: 'private', personalData }, metadata: { correlationId: 'c', causationId: null, actor: 'process-manager', schemaVersion: 2, context: 'portfolio' } },
        { occurredAt: new Date(), eventId: randomUUID(), type: 'CustomerReceivedByForcedSwitch', data: { customerId: placeholder, gsrn: '571313174115550012', processId: 'proc-44', effectiveDate: '2026-10-01' }, metadata: { correlationId: 'c', causationId: null, actor: 'process-manager', schemaVersion: 1, context: 'portfolio' } },
      ],
      { expectedRevision: 'no_stream' },
    );
    await expect(completeCustomerIdentity(deps(), { customerId: placeholder, customerType: 'business', name: 'Firma ApS', cvr: '123', source: 'staff' }, context())).rejects.toThrow('CVR');
    await completeCustomerIdentity(deps(), { customerId: placeholder, customerType: 'business', name: 'Firma ApS', cvr: '12345678', details: { email: 'bogholderi@firma.dk' }, source: 'staff' }, context());
    expect(vault.identities.get(placeholder)).toBe('cvr:12345678');
    expect(vault.terms.get(`${placeholder}:name`)).toEqual(['firma', 'aps']);
    const events = await store.readStream(customerStreamId(placeholder));
    expect(events.map((e) => e.type)).toEqual(['CustomerCreated', 'CustomerReceivedByForcedSwitch', 'CustomerIdentityCompleted', 'CustomerUpdated']);
    expect(events[3]!.data).toEqual({ customerId: placeholder, changed: ['customerType', 'name', 'cvr', 'email'], source: 'staff', changedAt: '2026-11-02T09:00:00.000Z' });
    expect(await vault.decrypt(placeholder, currentPersonalData(events)!)).toMatchObject({ name: 'Firma ApS', cvr: '12345678', cpr: null, email: 'bogholderi@firma.dk' });
    await expect(completeCustomerIdentity(deps(), { customerId: placeholder, customerType: 'business', name: 'Firma ApS', cvr: '12345678', source: 'staff' }, context())).rejects.toMatchObject({ code: 'not-a-placeholder' });

    // The RSM-001 of a later switch reads the latest record, not the placeholder.
    const processId = 'proc-later';
    await store.appendToStream(
      `process-${processId}`,
      [{ occurredAt: new Date(), eventId: randomUUID(), type: 'ChangeOfSupplierRequested', data: { processId, gsrn: '571313174115550029', customerId: placeholder, effectiveDate: '2026-12-01', requestedAt: '2026-11-02T09:00:00.000Z' }, metadata: { correlationId: 'c', causationId: null, actor: 'crm', schemaVersion: 1, context: 'portfolio' } }],
      { expectedRevision: 'no_stream' },
    );
    expect(await getCustomerIdentityForDataHub({ store, reader: vault }, processId)).toEqual({ customerName: 'Firma ApS', cpr: null, cvr: '12345678' });
  });
});
