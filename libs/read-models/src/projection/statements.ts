import type { Connection, PoolClient, Submittable } from 'pg';

/**
 * Several statements as one simple query (PostgreSQL protocol 3.0), as a node-postgres submittable: one round trip,
 * the server runs them in order and answers each with CommandComplete, which is reported as it arrives
 * (`onComplete` with the number completed so far), so the caller learns that an early COMMIT is done while the
 * statements after it still run. The first error skips the rest of the text (the server's rule for a simple query).
 */
class StatementsIn implements Submittable {
  private completed = 0;
  private settle: { resolve: () => void; reject: (error: Error) => void } | null = null;
  readonly done: Promise<void>;

  constructor(
    readonly text: string,
    private readonly onComplete: (completed: number) => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.done.catch(() => undefined);
  }

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleCommandComplete(): void {
    this.completed++;
    try {
      this.onComplete(this.completed);
    } catch {
      // The caller's bookkeeping must not break the connection's message handling.
    }
  }

  handleReadyForQuery(): void {
    this.callback();
    this.settle?.resolve();
    this.settle = null;
  }

  handleError(error: Error): void {
    this.callback();
    this.settle?.reject(error);
    this.settle = null;
  }

  handleEmptyQuery(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {
    this.handleError(new Error('COPY FROM STDIN is not supported among several statements'));
  }
  handleCopyData(): void {}

  /** node-postgres replaces this with its query-timeout handling when `query_timeout` is set. */
  callback(): void {}
}

/**
 * PostgreSQL keeps a simple query's answers in its output buffer (8 KB) until the buffer fills or the query ends; a
 * row larger than that, selected after a group's COMMIT, makes it send the COMMIT's answer at once.
 */
const FLUSH = `SELECT repeat(' ', 16384)`;

/**
 * Runs groups of statements, each group one transaction (`BEGIN`, `settings`, the statements, `COMMIT`), all of them
 * in one round trip; `committed(i)` is called once group `i` has committed, while the later groups still run (each
 * COMMIT is followed by a padding row that pushes its answer out of the server's output buffer). A failure skips
 * what follows, rolls back the open group (earlier groups stay committed) and is thrown. No statement may return rows
 * that matter (they are discarded) or be a COPY.
 */
export async function runGroupsTogether(client: PoolClient, groups: readonly (readonly string[])[], settings: readonly string[] = [], committed?: (group: number) => void): Promise<void> {
  const ends: number[] = [];
  const statements: string[] = [];
  for (const group of groups) {
    statements.push('BEGIN', ...settings, ...group, 'COMMIT');
    ends.push(statements.length);
    statements.push(FLUSH);
  }
  if (statements.length === 0) return;
  let next = 0;
  const query = new StatementsIn(`${statements.join(';\n')};`, (completed) => {
    while (next < ends.length && completed >= ends[next]) {
      // Not `committed?.(next++)`: without a callback its argument would not be evaluated, and this would never end.
      const group = next++;
      committed?.(group);
    }
  });
  client.query(query);
  try {
    await query.done;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
