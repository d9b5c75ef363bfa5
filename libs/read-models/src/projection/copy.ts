import type { Connection, PoolClient, Submittable } from 'pg';

/** A field of a `COPY … FROM STDIN` text-format row: null as `\N`, backslash, tab, newline and carriage return escaped. */
export function copyField(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  if (typeof value !== 'string') return String(value);
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}

/** Rows per CopyData message. */
const COPY_CHUNK_ROWS = 2000;

/** Frontend messages of the COPY sub-protocol (PostgreSQL protocol 3.0). */
function message(code: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = code;
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const COPY_FAIL = 0x66; // 'f'

/**
 * `COPY … FROM STDIN` as a node-postgres submittable (the client runs it in its queue like any query): the statement
 * goes as a simple query; once the server answers CopyInResponse, the data written goes out as CopyData messages on
 * the connection's socket (what was written before waits), then CopyDone or CopyFail. `done` settles with the row count
 * when the server is ready again, or with the server's error.
 */
class CopyIn implements Submittable {
  private connection: Connection | null = null;
  private open = false;
  private waiting: Buffer[] = [];
  private ending: Buffer | null = null;
  private failed: Error | null = null;
  private rows = 0;
  private settle: { resolve: (rows: number) => void; reject: (error: Error) => void } | null = null;
  readonly done: Promise<number>;

  constructor(public text: string) {
    this.done = new Promise<number>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Awaited by the caller; a failure before that must not count as unhandled.
    this.done.catch(() => undefined);
  }

  submit(connection: Connection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  /** Sends (or queues) one CopyData message; false when the socket asks to wait for 'drain'. */
  write(data: string): boolean {
    if (this.failed) throw this.failed;
    const frame = message(COPY_DATA, Buffer.from(data, 'utf8'));
    if (!this.open || !this.connection) {
      this.waiting.push(frame);
      return true;
    }
    return this.connection.stream.write(frame);
  }

  /** Resolves when the socket has room again (or the COPY failed). */
  async drained(): Promise<void> {
    const stream = this.connection?.stream;
    if (!stream) return;
    await Promise.race([new Promise<void>((resolve) => stream.once('drain', () => resolve())), this.done.then(() => undefined)]);
  }

  end(): void {
    this.finish(message(COPY_DONE, Buffer.alloc(0)));
  }

  fail(reason: string): void {
    this.finish(message(COPY_FAIL, Buffer.from(`${reason}\0`, 'utf8')));
  }

  private finish(frame: Buffer): void {
    if (this.open && this.connection) this.connection.stream.write(frame);
    else this.ending = frame;
  }

  // Called by the client with the server's messages.
  handleCopyInResponse(): void {
    this.open = true;
    const stream = this.connection?.stream;
    if (!stream) return;
    for (const frame of this.waiting) stream.write(frame);
    this.waiting = [];
    if (this.ending) stream.write(this.ending);
  }

  handleCommandComplete(msg: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(msg.text ?? '');
    if (match) this.rows = Number(match[1]);
  }

  handleReadyForQuery(): void {
    this.callback();
    this.settle?.resolve(this.rows);
    this.connection = null;
  }

  handleError(error: Error): void {
    this.callback();
    this.failed = error;
    this.settle?.reject(error);
  }

  handleEmptyQuery(): void {
    this.handleError(new Error('COPY: empty statement'));
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  /** node-postgres replaces this with its query-timeout handling when `query_timeout` is set. */
  callback(): void {}
}

/**
 * Writes rows into `table` with one `COPY … FROM STDIN` (text format) in the caller's transaction, sent in chunks as
 * `rows` yields them (PostgreSQL parses one chunk while the next is computed). Each row is its fields already passed
 * through {@link copyField}, tab-joined, without newline. The statement goes through `client.query` (a rebuild's
 * renaming client points it at the shadow table). Returns the number of rows written.
 */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: Iterable<string>): Promise<number> {
  const copy = client.query(new CopyIn(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  let chunk: string[] = [];
  try {
    for (const row of rows) {
      chunk.push(row);
      if (chunk.length >= COPY_CHUNK_ROWS) {
        chunk.push('');
        const room = copy.write(chunk.join('\n'));
        chunk = [];
        if (!room) await copy.drained();
      }
    }
    if (chunk.length > 0) {
      chunk.push('');
      copy.write(chunk.join('\n'));
    }
  } catch (error) {
    copy.fail(error instanceof Error ? error.message : String(error));
    await copy.done.catch(() => undefined);
    throw error;
  }
  copy.end();
  return copy.done;
}
