import type { Connection, PoolClient, Submittable } from 'pg';

/** A field of a `COPY … FROM STDIN` text-format row: null as `\N`, backslash, tab, newline and carriage return escaped. */
export function copyField(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  if (typeof value !== 'string') return String(value);
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}

/** Rows per CopyData message, at most; a message is sent earlier once it holds this many characters. */
const COPY_CHUNK_ROWS = 2000;
const COPY_CHUNK_CHARS = 256 * 1024;

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
  write(data: string | Buffer): boolean {
    if (this.failed) throw this.failed;
    const frame = message(COPY_DATA, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
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
  let chars = 0;
  try {
    for (const row of rows) {
      chunk.push(row);
      chars += row.length;
      if (chunk.length >= COPY_CHUNK_ROWS || chars >= COPY_CHUNK_CHARS) {
        chunk.push('');
        const room = copy.write(chunk.join('\n'));
        chunk = [];
        chars = 0;
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

/**
 * Like {@link copyRows}, for COPY text already encoded ({@link CopyWriter}): each buffer goes out as one CopyData
 * message (the text format lets messages split rows anywhere). Returns the number of rows written.
 */
export async function copyBuffers(client: PoolClient, table: string, columns: readonly string[], chunks: readonly Buffer[]): Promise<number> {
  const copy = client.query(new CopyIn(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  try {
    for (const chunk of chunks) if (!copy.write(chunk)) await copy.drained();
  } catch (error) {
    copy.fail(error instanceof Error ? error.message : String(error));
    await copy.done.catch(() => undefined);
    throw error;
  }
  copy.end();
  return copy.done;
}

/** Bytes per buffer of a {@link CopyWriter}. */
const WRITER_BUFFER_BYTES = 256 * 1024;
const BACKSLASH = 0x5c;

/**
 * COPY text (`COPY … FROM STDIN`, text format) written straight into byte buffers, without a string per field or per
 * row: for loaders that write many rows of small pieces (numbers, flags, cached texts). Fields are separated by
 * {@link tab}, rows ended by {@link endRow}; {@link text} escapes as {@link copyField} does; {@link ascii} and
 * {@link bytes} write what the caller knows needs no escaping. {@link mark} and {@link rollback} take back what was
 * written since a mark (a row or rows given up on). {@link take} hands over the buffers written so far.
 */
export class CopyWriter {
  private buffers: Buffer[] = [];
  private buffer: Buffer = Buffer.allocUnsafe(WRITER_BUFFER_BYTES);
  private at = 0;
  private written = 0;
  /** Digits of a number, least significant first. */
  private readonly digits = new Uint8Array(24);

  /** Bytes written since the last {@link take}. */
  get length(): number {
    return this.written + this.at;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    this.buffers.push(this.buffer.subarray(0, this.at));
    this.written += this.at;
    this.buffer = Buffer.allocUnsafe(Math.max(WRITER_BUFFER_BYTES, bytes));
    this.at = 0;
  }

  byte(code: number): this {
    this.room(1);
    this.buffer[this.at++] = code;
    return this;
  }

  tab(): this {
    return this.byte(0x09);
  }

  endRow(): this {
    return this.byte(0x0a);
  }

  /** Text the caller knows is ASCII without backslash, tab, line feed or carriage return (digits, ISO instants, codes). */
  ascii(text: string): this {
    const n = text.length;
    this.room(n);
    const buffer = this.buffer;
    let at = this.at;
    for (let i = 0; i < n; i++) buffer[at++] = text.charCodeAt(i);
    this.at = at;
    return this;
  }

  bytes(source: Buffer): this {
    this.room(source.length);
    source.copy(this.buffer, this.at);
    this.at += source.length;
    return this;
  }

  /** Any text as a field (UTF-8; null as `\N`; backslash, tab, line feed and carriage return escaped), as {@link copyField}. */
  text(value: string | null): this {
    if (value === null) return this.byte(BACKSLASH).byte(0x4e);
    const n = value.length;
    let plain = true;
    for (let i = 0; i < n && plain; i++) {
      const c = value.charCodeAt(i);
      plain = c < 0x80 && c !== BACKSLASH && c !== 0x09 && c !== 0x0a && c !== 0x0d;
    }
    if (plain) return this.ascii(value);
    const escaped = copyField(value);
    this.room(Buffer.byteLength(escaped, 'utf8'));
    this.at += this.buffer.write(escaped, this.at, 'utf8');
    return this;
  }

  /** An integer (a safe integer) in decimal. */
  integer(value: number): this {
    return this.decimal(value, 0, 0);
  }

  /**
   * `units` × 10^-`scale` (`units` a safe integer, `scale` ≤ 15) as `numeric::text` prints a value of that scale, with
   * at least `minScale` decimals (zeros appended): `decimal(1234, 3, 0)` is `1.234`, `decimal(15, 1, 3)` is `1.500`.
   */
  decimal(units: number, scale: number, minScale: number): this {
    const digits = this.digits;
    let n = 0;
    let v = units < 0 ? -units : units;
    while (v >= 1) {
      const d = v % 10;
      digits[n++] = d;
      v = (v - d) / 10;
    }
    // At least one digit before the point.
    while (n <= scale) digits[n++] = 0;
    const decimals = Math.max(scale, minScale);
    this.room(n + 2 + decimals);
    const buffer = this.buffer;
    let at = this.at;
    if (units < 0) buffer[at++] = 0x2d;
    for (let i = n - 1; i >= scale; i--) buffer[at++] = 0x30 + digits[i];
    if (decimals > 0) {
      buffer[at++] = 0x2e;
      for (let i = scale - 1; i >= 0; i--) buffer[at++] = 0x30 + digits[i];
      for (let i = scale; i < decimals; i++) buffer[at++] = 0x30;
    }
    this.at = at;
    return this;
  }

  /** A position to {@link rollback} to. */
  mark(): { buffers: number; at: number; buffer: Buffer } {
    return { buffers: this.buffers.length, at: this.at, buffer: this.buffer };
  }

  /** Takes back everything written since `mark` (no {@link take} in between). */
  rollback(mark: { buffers: number; at: number; buffer: Buffer }): void {
    while (this.buffers.length > mark.buffers) this.written -= (this.buffers.pop() ?? Buffer.alloc(0)).length;
    this.buffer = mark.buffer;
    this.at = mark.at;
  }

  /** The buffers written so far (the writer starts afresh). */
  take(): Buffer[] {
    const out = this.buffers;
    if (this.at > 0) out.push(this.buffer.subarray(0, this.at));
    this.buffers = [];
    this.buffer = Buffer.allocUnsafe(WRITER_BUFFER_BYTES);
    this.at = 0;
    this.written = 0;
    return out;
  }
}
