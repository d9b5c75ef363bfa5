import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from 'pg';
import { parseCimXml } from '@dh/cim';
import { createPostgresEventStore, type PostgresEventStore } from '@dh/event-store';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { createInboundStore } from './inbound-store';
import { QuarantineStore } from './quarantine.store';

/** DataHub reusing an id for different content: both bodies are kept, the second one flagged, nothing dropped. */
describe('repeated DataHub ids with different content', () => {
  const RSM004 = fs.readFileSync(path.join(__dirname, '../../cim/src/fixtures/rsm004-genericnotification.xml'), 'utf8');
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;
  let quarantine: QuarantineStore;

  beforeAll(async () => {
    db = await createTestDatabase('repeated_ids');
    pool = new Pool({ connectionString: db.url, max: 4 });
    store = await createPostgresEventStore({ pool });
    quarantine = new QuarantineStore(pool);
    await quarantine.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  it('keeps two broken messages that share a MessageId, the second flagged', async () => {
    const broken = (body: string) => ({ category: 'Aggregations', messageId: 'msg-1', contentType: 'application/xml', body });
    await quarantine.add(broken('<broken one'), 'malformed XML');
    await quarantine.add(broken('<broken one'), 'malformed XML');
    await quarantine.add(broken('<broken two, other bytes'), 'malformed XML');
    const rows = await quarantine.list('all');
    expect(rows.map((r) => [r.messageId, r.rawBody, r.attempts])).toEqual([
      ['msg-1', '<broken one', 2],
      ['msg-1', '<broken two, other bytes', 1],
    ]);
    expect(rows[1]!.reason).toMatch(/seen before with a different body/);
  });

  it('stores a document once, treats a byte-identical redelivery as a duplicate, and keeps a different body under the same id aside', async () => {
    const kept: { messageId: string; reason: string }[] = [];
    const inbound = createInboundStore(store, async () => new Map(), () => new Date('2026-03-02T10:00:00Z'), async (message, reason) => {
      kept.push({ messageId: message.messageId, reason });
      await quarantine.add(message, reason);
    });
    const message = (messageId: string, body: string) => ({ category: 'MasterData', messageId, contentType: 'application/xml', body, document: parseCimXml(body) });
    expect(await inbound(message('m-a', RSM004))).toBe('stored');
    expect(await inbound(message('m-a', RSM004))).toBe('duplicate');
    expect(kept).toEqual([]);

    const changed = RSM004.replace(/(<cim:createdDateTime>)[^<]+/, '$12026-03-02T11:11:11Z');
    expect(changed).not.toBe(RSM004);
    expect(await inbound(message('m-b', changed))).toBe('duplicate');
    expect(kept).toEqual([{ messageId: 'm-b', reason: expect.stringMatching(/stored before from message m-a with different content/) }]);
    const flagged = (await quarantine.list('all')).filter((r) => r.messageId === 'm-b');
    expect(flagged.map((r) => r.rawBody)).toEqual([changed]);
  });
});
