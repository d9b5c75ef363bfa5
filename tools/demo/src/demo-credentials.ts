import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { SignJWT } from 'jose';
import { ApiKeyStore, migrateAuth } from '@dh/auth';

/**
 * The demo's own callers: API keys for CRM and ERP issued straight into the store (as an operator
 * would at set-up), and a back-office issuer with a secret made for this run only.
 */
export interface DemoCredentials {
  crm: Record<string, string>;
  erp: Record<string, string>;
  staff: () => Promise<Record<string, string>>;
  authIssuersEnv: string;
}

const STAFF_ISSUER = { issuer: 'https://backoffice.demo/login', audience: 'datahub-core-backoffice' };

export async function demoCredentials(pool: Pool): Promise<DemoCredentials> {
  await migrateAuth(pool);
  const keys = new ApiKeyStore(pool);
  const crm = await keys.issue({ name: 'demo CRM', consumer: 'crm', createdBy: 'demo' });
  const erp = await keys.issue({ name: 'demo ERP', consumer: 'erp', createdBy: 'demo' });
  const secret = randomBytes(32).toString('base64url');
  return {
    crm: { 'X-Api-Key': crm.key },
    erp: { 'X-Api-Key': erp.key },
    authIssuersEnv: JSON.stringify([{ name: 'demo-backoffice', kind: 'staff', ...STAFF_ISSUER, secret, algorithm: 'HS256' }]),
    staff: async () => {
      const token = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(STAFF_ISSUER.issuer)
        .setAudience(STAFF_ISSUER.audience)
        .setSubject('demo-operator')
        .setIssuedAt()
        .setExpirationTime('30m')
        .sign(new TextEncoder().encode(secret));
      return { Authorization: `Bearer ${token}`, 'X-Access-Reason': 'demo month run' };
    },
  };
}
