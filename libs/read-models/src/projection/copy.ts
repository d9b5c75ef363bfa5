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
function messageHead(code: number, bodyLength: number): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = code;
  head.writeUInt32BE(bodyLength + 4, 1);
  return head;
}
function message(code: number, body: Buffer): Buffer {
  return Buffer.concat([messageHead(code, body.length), body]);
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
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const head = messageHead(COPY_DATA, body.length);
    if (!this.open || !this.connection) {
      this.waiting.push(head, body);
      return true;
    }
    // The head and the body as they are (not concatenated: a copy of every chunk), in one write of the socket.
    const stream = this.connection.stream;
    stream.cork();
    stream.write(head);
    const room = stream.write(body);
    stream.uncork();
    return room;
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
 * Like {@link copyRows}, for COPY data already encoded: text ({@link CopyWriter}), or with `format` `'binary'` the
 * binary format ({@link BinaryCopyWriter}, whose {@link BinaryCopyWriter.take} adds its header and trailer). Each
 * buffer goes out as one CopyData message (both formats let messages split rows anywhere). Returns the number of rows
 * written.
 */
export async function copyBuffers(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  chunks: readonly Buffer[],
  format: 'text' | 'binary' = 'text',
): Promise<number> {
  const copy = client.query(new CopyIn(`COPY ${table} (${columns.join(', ')}) FROM STDIN${format === 'binary' ? ' (FORMAT binary)' : ''}`));
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

/** Bytes per buffer of a {@link ByteWriter}. */
const WRITER_BUFFER_BYTES = 256 * 1024;
const BACKSLASH = 0x5c;

/** A writer's buffer before its first byte (allocated on the first write: a writer that writes nothing allocates nothing). */
const NO_BUFFER = Buffer.alloc(0);

/** A position in a {@link ByteWriter} to roll back to. */
export interface WriterMark {
  buffers: number;
  at: number;
  buffer: Buffer;
}

/**
 * Bytes written straight into buffers, without a string per field or per row: what the COPY writers share.
 * {@link ascii} and {@link bytes} write what the caller knows needs no escaping; {@link decimal} and {@link integer}
 * numbers as `numeric::text` prints them. {@link mark} and {@link rollback} take back what was written since a mark (a
 * row or rows given up on). {@link take} hands over the buffers written so far.
 */
class ByteWriter {
  protected buffers: Buffer[] = [];
  protected buffer: Buffer = NO_BUFFER;
  protected at = 0;
  protected written = 0;
  /** Digits of a number, least significant first. */
  protected readonly digits = new Uint8Array(24);

  /** Bytes written since the last {@link take}. */
  get length(): number {
    return this.written + this.at;
  }

  protected room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    if (this.at > 0) this.buffers.push(this.buffer.subarray(0, this.at));
    this.written += this.at;
    this.buffer = Buffer.allocUnsafe(Math.max(WRITER_BUFFER_BYTES, bytes));
    this.at = 0;
  }

  byte(code: number): this {
    this.room(1);
    this.buffer[this.at++] = code;
    return this;
  }

  /** Text the caller knows is ASCII (and, in COPY text, without backslash, tab, line feed or carriage return). */
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

  /** `units`' magnitude (a safe integer) in {@link digits}, least significant first; returns how many (0 for 0). */
  protected decimalDigits(units: number): number {
    const digits = this.digits;
    let n = 0;
    let v = units < 0 ? -units : units;
    while (v >= 1) {
      const d = v % 10;
      digits[n++] = d;
      v = (v - d) / 10;
    }
    return n;
  }

  /**
   * `units` × 10^-`scale` (`units` a safe integer, `scale` ≤ 15) as `numeric::text` prints a value of that scale, with
   * at least `minScale` decimals (zeros appended): `decimal(1234, 3, 0)` is `1.234`, `decimal(15, 1, 3)` is `1.500`.
   */
  decimal(units: number, scale: number, minScale: number): this {
    const digits = this.digits;
    let n = this.decimalDigits(units);
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
  mark(): WriterMark {
    return { buffers: this.buffers.length, at: this.at, buffer: this.buffer };
  }

  /** Takes back everything written since `mark` (no {@link take} in between). */
  rollback(mark: WriterMark): void {
    while (this.buffers.length > mark.buffers) this.written -= (this.buffers.pop() ?? Buffer.alloc(0)).length;
    this.buffer = mark.buffer;
    this.at = mark.at;
  }

  /** The buffers written so far (the writer starts afresh). */
  take(): Buffer[] {
    const out = this.buffers;
    if (this.at > 0) out.push(this.buffer.subarray(0, this.at));
    if (out.length === 0) return out;
    this.buffers = [];
    this.buffer = NO_BUFFER;
    this.at = 0;
    this.written = 0;
    return out;
  }
}

/**
 * COPY text (`COPY … FROM STDIN`, text format) written straight into byte buffers: for loaders that write many rows of
 * small pieces (numbers, flags, cached texts). Fields are separated by {@link tab}, rows ended by {@link endRow};
 * {@link text} escapes as {@link copyField} does.
 */
export class CopyWriter extends ByteWriter {
  tab(): this {
    return this.byte(0x09);
  }

  endRow(): this {
    return this.byte(0x0a);
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
}

/** Type OIDs of array elements in the binary format (an array names its element type, and the server checks it). */
export const PG_TYPE = { bool: 16, text: 25, numeric: 1700 } as const;
/** The binary format's file header: signature, flags (no OIDs), no header extension. */
const BINARY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** The binary format's trailer: a field count of -1. */
const BINARY_TRAILER = Buffer.from([0xff, 0xff]);
/** 2000-01-01T00:00:00Z, PostgreSQL's epoch of dates and timestamps, in ms and in days since 1970-01-01. */
const PG_EPOCH_MS = 946_684_800_000;
const PG_EPOCH_DAYS = 10_957;
const NUMERIC_NEGATIVE = 0x4000;
/**
 * `value`'s low 16 or 32 bits, big-endian, at `at` (room already made): byte stores, not Buffer's `writeInt*BE`,
 * which check their arguments on every call.
 */
function putInt16(buffer: Buffer, at: number, value: number): void {
  buffer[at] = value >>> 8;
  buffer[at + 1] = value;
}

function putInt32(buffer: Buffer, at: number, value: number): void {
  buffer[at] = value >>> 24;
  buffer[at + 1] = value >>> 16;
  buffer[at + 2] = value >>> 8;
  buffer[at + 3] = value;
}

/** Base-10000 digits a {@link BinaryCopyWriter.numericText} value may have (a longer one is not written). */
const NUMERIC_MAX_GROUPS = 32;
const POWERS_OF_TEN = [1, 10, 100, 1000, 10_000];
/** Below this magnitude {@link BinaryCopyWriter.numeric} takes its base-10000 digits from the value (× 10^3 at most stays below 10^15). */
const NUMERIC_SHORT_LIMIT = 1e12;

/**
 * COPY in PostgreSQL's binary format (`COPY … FROM STDIN (FORMAT binary)`, sent with {@link copyBuffers}), written
 * straight into byte buffers: the server stores the values as they come instead of parsing text (for numeric arrays
 * and JSON texts about half the backend's CPU of the text format). Each row is {@link row} with its field count, then
 * its fields in the COPY's column order: {@link text}, {@link bool}, {@link int4}, {@link date}, {@link timestamptz},
 * {@link numeric} (exact, from integer units), {@link numericText} (from a plain decimal's text, with the scale it is
 * written with, as `numeric_in` reads it), {@link nullField}, arrays as {@link open}, {@link arrayHeader}, elements
 * (the same methods, each an element, or {@link nullField}), {@link close}; a text field written piecewise likewise as
 * {@link open}, {@link bytes}/{@link ascii}/{@link decimal}, {@link close}. {@link take} adds the format's header and
 * trailer, so each take is one COPY's data.
 */
export class BinaryCopyWriter extends ByteWriter {
  /** The open field's length word (buffer and offset) and the writer's {@link length} after it. */
  private openBuffer: Buffer = this.buffer;
  private openAt = 0;
  private openStart = 0;
  /** Base-10000 digits of a numeric, most significant first. */
  private readonly groups = new Uint16Array(NUMERIC_MAX_GROUPS);

  // Big-endian words stored byte by byte (a typed array keeps the low 8 bits of each): Buffer's writeInt*BE
  // validate their arguments on every call, millions of times per rebuild.
  private int16(value: number): this {
    this.room(2);
    putInt16(this.buffer, this.at, value);
    this.at += 2;
    return this;
  }

  private int32(value: number): this {
    this.room(4);
    putInt32(this.buffer, this.at, value);
    this.at += 4;
    return this;
  }

  /** A numeric field from {@link groups}[`first`..`last`] (base-10000 digits, most significant first). */
  private numericField(groups: Uint16Array, first: number, last: number, weight: number, negative: boolean, dscale: number): void {
    const ndigits = last >= first ? last - first + 1 : 0;
    const length = 8 + 2 * ndigits;
    this.room(4 + length);
    const buffer = this.buffer;
    let at = this.at;
    putInt32(buffer, at, length);
    putInt16(buffer, at + 4, ndigits);
    putInt16(buffer, at + 6, ndigits === 0 ? 0 : weight);
    putInt16(buffer, at + 8, negative && ndigits > 0 ? NUMERIC_NEGATIVE : 0);
    putInt16(buffer, at + 10, dscale);
    at += 12;
    for (let g = first; g <= last; g++, at += 2) putInt16(buffer, at, groups[g]);
    this.at = at;
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): this {
    return this.int16(fields);
  }

  nullField(): this {
    return this.int32(-1);
  }

  /** A text field (UTF-8), or null. */
  text(value: string | null): this {
    if (value === null) return this.nullField();
    const n = value.length;
    let ascii = true;
    for (let i = 0; i < n && ascii; i++) ascii = value.charCodeAt(i) < 0x80;
    if (ascii) return this.int32(n).ascii(value);
    const bytes = Buffer.byteLength(value, 'utf8');
    this.int32(bytes).room(bytes);
    this.at += this.buffer.write(value, this.at, 'utf8');
    return this;
  }

  /** A text field of UTF-8 bytes. */
  textBytes(value: Buffer): this {
    return this.int32(value.length).bytes(value);
  }

  bool(value: boolean): this {
    this.room(5);
    const buffer = this.buffer;
    const at = this.at;
    buffer[at] = 0;
    buffer[at + 1] = 0;
    buffer[at + 2] = 0;
    buffer[at + 3] = 1;
    buffer[at + 4] = value ? 1 : 0;
    this.at = at + 5;
    return this;
  }

  int4(value: number): this {
    return this.int32(4).int32(value);
  }

  /** A date, as days since 1970-01-01. */
  date(daysSince1970: number): this {
    return this.int32(4).int32(daysSince1970 - PG_EPOCH_DAYS);
  }

  /** A timestamptz at a whole millisecond (ms since 1970-01-01 UTC), as microseconds since 2000-01-01 UTC. */
  timestamptz(ms: number): this {
    const micros = (ms - PG_EPOCH_MS) * 1000;
    const high = Math.floor(micros / 0x1_0000_0000);
    return this.int32(8).int32(high).int32(micros - high * 0x1_0000_0000);
  }

  /** Starts a field whose length is known once written (an array, a text written piecewise); ended by {@link close}. */
  open(): this {
    this.room(4);
    this.openBuffer = this.buffer;
    this.openAt = this.at;
    this.at += 4;
    this.openStart = this.length;
    return this;
  }

  /** Ends the field {@link open} started, writing its length. */
  close(): this {
    putInt32(this.openBuffer, this.openAt, this.length - this.openStart);
    return this;
  }

  /** A one-dimensional array's header (after {@link open}): `count` elements of type `elementType` from index 1. */
  arrayHeader(elementType: number, count: number, hasNulls: boolean): this {
    return this.int32(1).int32(hasNulls ? 1 : 0).int32(elementType).int32(count).int32(1);
  }

  /**
   * `units` × 10^-`scale` (`units` a safe integer, `scale` ≤ 15) as a numeric of that scale: what `numeric_in` makes
   * of {@link decimal}'s text of the same arguments (base-10000 digits without leading or trailing zero digits,
   * `dscale` = `scale`; zero is positive).
   */
  numeric(units: number, scale: number): this {
    const pad = (4 - (scale % 4)) % 4;
    const magnitude = units < 0 ? -units : units;
    if (magnitude < NUMERIC_SHORT_LIMIT) {
      // Base-10000 digits straight from the value (its fraction padded to whole digits, exact below 10^15): no decimal
      // digit loop. The series' quantities and the sums are nearly all such.
      let v = magnitude * POWERS_OF_TEN[pad];
      let weight = -(scale + pad) / 4;
      while (v !== 0 && v % 10_000 === 0) {
        v /= 10_000;
        weight++;
      }
      const groups = this.groups;
      let first = NUMERIC_MAX_GROUPS;
      while (v !== 0) {
        const group = v % 10_000;
        groups[--first] = group;
        v = (v - group) / 10_000;
      }
      this.numericField(groups, first, NUMERIC_MAX_GROUPS - 1, weight + (NUMERIC_MAX_GROUPS - 1 - first), units < 0, scale);
      return this;
    }
    const digits = this.digits;
    const n = this.decimalDigits(units);
    // Decimal digit i (least significant first) stands for 10^(i - scale); with `pad` zeros below, the fraction's
    // digits fill whole base-10000 digits, the lowest of weight -(scale + pad) / 4. Most significant first.
    const groups = this.groups;
    const count = n === 0 ? 0 : Math.ceil((n + pad) / 4);
    for (let j = 0, i = -pad; j < count; j++, i += 4) {
      let group = 0;
      for (let k = 3; k >= 0; k--) group = group * 10 + (i + k >= 0 && i + k < n ? digits[i + k] : 0);
      groups[count - 1 - j] = group;
    }
    let first = 0;
    while (first < count && groups[first] === 0) first++;
    let last = count - 1;
    while (last >= first && groups[last] === 0) last--;
    this.numericField(groups, first, last, count - 1 - (scale + pad) / 4 - first, units < 0, scale);
    return this;
  }

  /**
   * A plain decimal's text (an optional minus, digits, optionally a point and digits: a quantity as documents carry
   * it) as the numeric `numeric_in` reads from it (its scale the digits after the point); false, with nothing written,
   * for any other text or one of more than {@link NUMERIC_MAX_GROUPS} base-10000 digits (the caller writes it otherwise).
   */
  numericText(text: string): boolean {
    const n = text.length;
    const negative = n > 0 && text.charCodeAt(0) === 0x2d;
    let i = negative ? 1 : 0;
    const intStart = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    const intLength = i - intStart;
    let fracLength = 0;
    if (i < n && text.charCodeAt(i) === 0x2e) {
      i++;
      while (i + fracLength < n && isDigit(text.charCodeAt(i + fracLength))) fracLength++;
      if (fracLength === 0) return false;
      i += fracLength;
    }
    if (intLength === 0 || i !== n) return false;
    const intGroups = Math.ceil(intLength / 4);
    const count = intGroups + Math.ceil(fracLength / 4);
    if (count > NUMERIC_MAX_GROUPS) return false;
    // The integer digits right-aligned on base-10000 digits, the fraction's left-aligned (zeros appended).
    const groups = this.groups;
    let at = intStart;
    let end = intStart + intLength - 4 * (intGroups - 1);
    for (let g = 0; g < intGroups; g++, end += 4) {
      let group = 0;
      for (; at < end; at++) group = group * 10 + (text.charCodeAt(at) - 0x30);
      groups[g] = group;
    }
    at++; // the point
    for (let g = intGroups, left = fracLength; g < count; g++, left -= 4) {
      const take = left < 4 ? left : 4;
      let group = 0;
      for (let k = 0; k < take; k++) group = group * 10 + (text.charCodeAt(at++) - 0x30);
      groups[g] = group * POWERS_OF_TEN[4 - take];
    }
    let first = 0;
    while (first < count && groups[first] === 0) first++;
    let last = count - 1;
    while (last >= first && groups[last] === 0) last--;
    this.numericField(groups, first, last, intGroups - 1 - first, negative, fracLength);
    return true;
  }

  /** The rows written so far as one COPY's data (header, rows, trailer), or nothing when no row was written. */
  override take(): Buffer[] {
    const out = super.take();
    if (out.length === 0) return out;
    out.unshift(BINARY_HEADER);
    out.push(BINARY_TRAILER);
    return out;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
