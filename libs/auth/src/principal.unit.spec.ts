import { CONSUMER_SCOPES, missingScopes, narrowScopes, ROLE_SCOPES, SCOPES, scopesForConsumer, scopesForRoles, CUSTOMER_SCOPES } from './principal';

describe('default scope mapping', () => {
  it('gives each system exactly its documented scopes', () => {
    expect(scopesForConsumer('erp')).toEqual(['settlement:read', 'settlement:export', 'payments:read', 'payments:write', 'balance:read', 'webhooks:manage', 'reconciliation:read']);
    expect(scopesForConsumer('crm')).toEqual(['customers:read', 'customers:write', 'processes:write', 'portfolio:read', 'metering-points:read', 'webhooks:manage', 'products:read']);
    expect(scopesForConsumer('payment')).toEqual(['payments:write', 'balance:read']);
  });

  it('keeps systems out of staff administration, the audit log and each other’s writes', () => {
    for (const consumer of ['erp', 'crm', 'payment'] as const) {
      expect(CONSUMER_SCOPES[consumer]).not.toContain('staff:write');
      expect(CONSUMER_SCOPES[consumer]).not.toContain('staff:read');
      expect(CONSUMER_SCOPES[consumer]).not.toContain('audit:read');
      expect(CONSUMER_SCOPES[consumer]).not.toContain('portal:read');
    }
    expect(CONSUMER_SCOPES.payment).not.toContain('customers:read');
    expect(CONSUMER_SCOPES.crm).not.toContain('settlement:export');
  });

  it('lets a customer read the portal only', () => {
    expect(CUSTOMER_SCOPES).toEqual(['portal:read', 'portal:write']);
  });

  it('gives admin every scope, including staff:write and audit:read', () => {
    expect(scopesForRoles(['admin'])).toEqual([...SCOPES]);
    expect(scopesForRoles(['admin'])).toEqual(expect.arrayContaining(['staff:write', 'audit:read', 'rates:write']));
    expect(scopesForRoles(['support', 'read-only'])).not.toContain('rates:write');
    expect(scopesForRoles(['support', 'read-only'])).toContain('products:read');
  });

  it('gives support staff:read and customer reads, but no writes and no audit log', () => {
    const support = scopesForRoles(['support']);
    expect(support).toEqual(expect.arrayContaining(['staff:read', 'customers:read', 'portfolio:read', 'balance:read']));
    expect(support.filter((scope) => !scope.endsWith(':read'))).toEqual([]);
    expect(support).not.toContain('audit:read');
  });

  it('gives read-only nothing but read scopes, and not the audit log', () => {
    const readOnly = ROLE_SCOPES['read-only'];
    expect(readOnly.length).toBeGreaterThan(0);
    expect(readOnly.every((scope) => scope.endsWith(':read'))).toBe(true);
    expect(readOnly).not.toContain('audit:read');
    expect(readOnly).toContain('settlement:read');
  });

  it('unions the scopes of several roles without duplicates', () => {
    const both = scopesForRoles(['support', 'read-only']);
    expect(new Set(both).size).toBe(both.length);
    expect(both).toEqual(expect.arrayContaining([...ROLE_SCOPES.support, ...ROLE_SCOPES['read-only']]));
    expect(scopesForRoles([])).toEqual([]);
  });
});

describe(narrowScopes.name, () => {
  it('keeps the defaults when nothing is requested', () => {
    expect(narrowScopes(['balance:read', 'payments:write'], undefined)).toEqual(['payments:write', 'balance:read']);
  });

  it('narrows to the requested scopes and never widens', () => {
    expect(narrowScopes(scopesForConsumer('payment'), ['balance:read', 'audit:read', 'staff:write', 'nonsense'])).toEqual(['balance:read']);
    expect(narrowScopes(scopesForConsumer('payment'), [])).toEqual([]);
  });
});

describe(missingScopes.name, () => {
  it('names exactly the scopes the principal lacks', () => {
    expect(missingScopes({ scopes: ['customers:read'] }, ['customers:read', 'customers:write', 'audit:read'])).toEqual(['customers:write', 'audit:read']);
    expect(missingScopes({ scopes: ['customers:read'] }, [])).toEqual([]);
  });
});
