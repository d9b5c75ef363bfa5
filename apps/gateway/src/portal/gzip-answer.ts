import { crc32 } from 'node:zlib';
import type { DeflatePart } from '@dh/read-models';

/**
 * A gzip member (RFC 1952) stitched from parts without compressing anything here: text the gateway writes (the answer's
 * frame, commas) goes in as stored deflate blocks, and the read model's pre-compressed parts ({@link DeflatePart}) go in
 * as they are. The CRC-32 of the whole is combined from the parts' CRCs and lengths (zlib's `crc32_combine`), so the
 * read model's text is neither read nor inflated.
 */
export type GzipPiece = string | DeflatePart;

/** ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown). */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);
/** BFINAL=1, BTYPE=00 (stored), LEN=0, NLEN=0xffff: the empty final block. */
const FINAL_BLOCK = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
const MAX_STORED = 0xffff;

/** The header of a stored deflate block of `length` bytes (BFINAL=0, BTYPE=00; the previous block ended on a byte boundary). */
function storedHeader(length: number): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = 0x00;
  head.writeUInt16LE(length, 1);
  head.writeUInt16LE(~length & 0xffff, 3);
  return head;
}

/** `text` (at most 65,535 UTF-8 bytes) as one stored deflate block: what may stand between parts (e.g. a comma). */
export function storedBlock(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_STORED) throw new RangeError(`storedBlock: ${bytes.length} bytes, at most ${MAX_STORED}`);
  return Buffer.concat([storedHeader(bytes.length), bytes]);
}

/**
 * Parts joined by the database with {@link storedBlock}(`separator`) between them (`string_agg(part, block)`), as one
 * {@link DeflatePart}: its CRC-32 and length are those of the parts' texts joined by `separator`, combined from each
 * part's CRC and length (`crcs` as stored, signed or not).
 */
export function joinedPart(deflate: Buffer, crcs: readonly number[], lengths: readonly number[], separator: string): DeflatePart {
  if (crcs.length !== lengths.length) throw new RangeError(`joinedPart: ${crcs.length} CRCs for ${lengths.length} lengths`);
  const between = Buffer.from(separator, 'utf8');
  let crc = 0;
  let length = 0;
  for (let i = 0; i < crcs.length; i++) {
    if (i > 0) {
      crc = crc32(between, crc);
      length += between.length;
    }
    crc = crc32Combine(crc, crcs[i]! >>> 0, lengths[i]!);
    length += lengths[i]!;
  }
  return { deflate, crc, length };
}

export function gzipOf(pieces: readonly GzipPiece[]): Buffer {
  const chunks: Buffer[] = [HEADER];
  let crc = 0;
  let length = 0;
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      if (piece.length === 0) continue;
      const bytes = Buffer.from(piece, 'utf8');
      for (let at = 0; at < bytes.length; at += MAX_STORED) {
        const block = bytes.subarray(at, Math.min(bytes.length, at + MAX_STORED));
        chunks.push(storedHeader(block.length), block);
      }
      crc = crc32(bytes, crc);
      length += bytes.length;
    } else {
      if (piece.length === 0) continue;
      chunks.push(piece.deflate);
      crc = crc32Combine(crc, piece.crc, piece.length);
      length += piece.length;
    }
  }
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 0x1_0000_0000, 4);
  chunks.push(FINAL_BLOCK, trailer);
  return Buffer.concat(chunks);
}

// CRC-32 combination as zlib 1.2.12+ does it (crc32.c: multmodp, x2nmodp): polynomials over GF(2) modulo the CRC-32
// polynomial, bit-reflected (bit 31 is x^0). Node's zlib has `crc32` but not `crc32_combine`, and no maintained package
// has it (crc-utils is a node-gyp addon last published in 2014, @balena/node-crc-utils an Emscripten build without a
// licence); the unit test checks it against `crc32` of the concatenation.
const POLY = 0xedb88320;

/** a(x) · b(x) modulo p(x). */
function multmodp(a: number, b: number): number {
  let m = 0x8000_0000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo p(x), k = 0..31. */
const X2N: readonly number[] = (() => {
  const table: number[] = [];
  let p = 0x4000_0000; // x^1
  table.push(p);
  for (let n = 1; n < 32; n++) table.push((p = multmodp(p, p)));
  return table;
})();

/** x^(n · 2^k) modulo p(x). */
function x2nmodp(n: number, k: number): number {
  let p = 0x8000_0000; // x^0
  while (n !== 0) {
    if ((n & 1) !== 0) p = multmodp(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** x^(8 · length) modulo p(x) by length: a day's hours are a few thousand bytes, so lengths repeat across requests. */
const SHIFTS = new Map<number, number>();
const MAX_SHIFTS = 4_096;

/** The CRC-32 of A followed by B from crc(A), crc(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`crc32Combine: length ${lengthB}`);
  let shift = SHIFTS.get(lengthB);
  if (shift === undefined) {
    shift = x2nmodp(lengthB, 3);
    if (SHIFTS.size >= MAX_SHIFTS) SHIFTS.clear();
    SHIFTS.set(lengthB, shift);
  }
  return (multmodp(shift, crcA >>> 0) ^ crcB) >>> 0;
}
