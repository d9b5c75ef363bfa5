import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { readPaymentInformation, toDeliveryBytes, writeCollectionDelivery, writePaymentInformation, type Collection, type Creditor } from '@dh/betalingsservice';
import { fmt, log, median, msSince, now, result, type BenchResult } from './measure';

/**
 * Betalingsservice files at supplier scale (issue 11): a 0601 delivery of N collections written to
 * disk through the streaming writer, and a 0602 delivery of N payment outcomes parsed from disk
 * with full structural checks (widths, numeric and date fields, section and delivery totals).
 * Baseline: `readline` reading the same 0602 file's lines and doing nothing with them — the floor
 * under any line-based reader. Two sizes show the cost per record stays flat (streaming, no
 * memory growing with the file).
 */

const SIZES = (process.env.BENCH_BS_RECORDS ?? '10000,100000').split(',').map(Number);
const ROUNDS = 3;

const creditor: Creditor = {
  dataSupplierNumber: '12345678',
  pbsNumber: '03985644',
  debtorGroup: '00001',
  registrationNumber: '1234',
  accountNumber: '0001234567',
  dataSupplierIdentification: 'BENCH',
  headline: 'Elregning',
};

function* collections(n: number): Generator<Collection> {
  for (let i = 1; i <= n; i++) {
    yield { customerNumber: String(100_000 + i), agreementNumber: String(i), dueDate: '2026-12-01', amount: `${(i % 5000) + 1}.${String(i % 100).padStart(2, '0')}`, reference: String(i), adviceText: ['Elregning oktober 2026'] };
  }
}

function* outcomes(n: number) {
  for (let i = 1; i <= n; i++) {
    const amount = `${(i % 5000) + 1}.${String(i % 100).padStart(2, '0')}`;
    const rejected = i % 50 === 0;
    yield {
      outcome: rejected ? ('rejected' as const) : ('completed' as const),
      customerNumber: String(100_000 + i),
      agreementNumber: String(i),
      dueDate: '2026-12-01',
      amount,
      reference: String(i),
      paymentDate: rejected ? null : '2026-12-01',
      bookingDate: rejected ? null : '2026-12-01',
      paidAmount: rejected ? '0.00' : amount,
    };
  }
}

const linesOf = (path: string) => createInterface({ input: createReadStream(path, { encoding: 'latin1' }), crlfDelay: Infinity });

async function readlineOnly(path: string): Promise<number> {
  let n = 0;
  for await (const _line of linesOf(path)) n++;
  return n;
}

async function parse0602(path: string): Promise<number> {
  let n = 0;
  for await (const item of readPaymentInformation(linesOf(path))) if (item.kind === 'record') n++;
  return n;
}

export async function runBetalingsserviceBench(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-bs-'));
  const results: BenchResult[] = [];
  try {
    for (const n of SIZES) {
      const file0601 = join(dir, `0601-${n}.txt`);
      const file0602 = join(dir, `0602-${n}.txt`);
      await pipeline(Readable.from(toDeliveryBytes(writePaymentInformation({ dataSupplierNumber: '12345678', deliveryId: '1', createdOn: '2026-12-02', pbsNumber: '03985644', debtorGroup: '00001' }, outcomes(n)))), createWriteStream(file0602));
      const writes: number[] = [];
      const parses: number[] = [];
      const baselines: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        let start = now();
        await pipeline(Readable.from(toDeliveryBytes(writeCollectionDelivery(creditor, { deliveryId: String(round + 1), createdOn: '2026-11-20' }, collections(n)))), createWriteStream(file0601));
        writes.push((n / msSince(start)) * 1000);
        start = now();
        const lines = await readlineOnly(file0602);
        baselines.push((lines / msSince(start)) * 1000);
        start = now();
        const parsed = await parse0602(file0602);
        parses.push((parsed / msSince(start)) * 1000);
        if (parsed !== n) throw new Error(`parsed ${parsed} records, expected ${n}`);
      }
      const size0601 = (await stat(file0601)).size;
      const size0602 = (await stat(file0602)).size;
      const w = median(writes);
      const p = median(parses);
      const b = median(baselines);
      log(`  ${n.toLocaleString('en-US')} records: 0601 ${(size0601 / 1e6).toFixed(1)} MB written at ${fmt(w, 'records/s')}; 0602 ${(size0602 / 1e6).toFixed(1)} MB parsed at ${fmt(p, 'records/s')}; readline alone ${fmt(b, 'lines/s')}`);
      results.push(result(`11. 0601 write, ${n.toLocaleString('en-US')} collections (+1 text line each)`, w, b, 'records/s', true, 'readline over the 0602 file'));
      results.push(result(`11. 0602 parse, ${n.toLocaleString('en-US')} payment records`, p, b, 'records/s', true, 'readline over the same file'));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
