import { Client } from 'pg';

/**
 * Diagnosis only (`BENCH_INGEST_STAGES=1`): wraps `pg`'s `Client.prototype.query` in this process and sums the
 * wall time of every statement by what it does (the first words of its SQL), so a run can say where the
 * database time went. Statements overlap (several connections), so the sums are not a partition of the run.
 */
export interface QueryTimer {
  reset(): void;
  report(): string[];
  restore(): void;
}

function kindOf(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  const fn = /FROM\s+[\w."]+\.(\w+)\(/i.exec(s);
  if (fn) return `${fn[1]}()`;
  const m = /^(INSERT INTO|UPDATE|DELETE FROM|WITH|BEGIN|COMMIT|ROLLBACK|SET)\s*([\w."]+)?/i.exec(s) ?? /^(SELECT) .*? FROM\s+([\w."]+)/i.exec(s);
  return m ? `${m[1]!.split(' ')[0]!.toUpperCase()} ${m[2] ?? ''}`.trim() : s.slice(0, 40);
}

export function startQueryTimer(): QueryTimer {
  type QueryFn = (...args: unknown[]) => unknown;
  const proto = Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  const sums = new Map<string, { count: number; ms: number }>();
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    const first = args[0];
    const sql = typeof first === 'string' ? first : typeof first === 'object' && first !== null && 'text' in first ? String((first as { text: unknown }).text) : '';
    if (sql === '') return original.apply(this, args);
    const started = process.hrtime.bigint();
    const done = (): void => {
      const key = kindOf(sql);
      const entry = sums.get(key) ?? { count: 0, ms: 0 };
      entry.count++;
      entry.ms += Number(process.hrtime.bigint() - started) / 1e6;
      sums.set(key, entry);
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      // pg.Pool passes a callback.
      args[args.length - 1] = (...cbArgs: unknown[]): unknown => {
        done();
        return (last as QueryFn)(...cbArgs);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result instanceof Promise) result.then(done, done);
    return result;
  };
  return {
    reset: () => sums.clear(),
    report: () =>
      [...sums.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, 15)
        .map(([k, v]) => `    ${v.ms.toFixed(0).padStart(7)} ms ${String(v.count).padStart(6)}× ${k}`),
    restore: () => {
      proto.query = original;
    },
  };
}
