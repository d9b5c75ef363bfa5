import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';

/** USER_HZ: the unit of /proc/<pid>/stat's times, 100 on every Linux architecture this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used, ms, from /proc/<pid>/stat; null when it is gone or unreadable. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** CPU time of each process, ms (the unreadable left out). */
export function cpuOf(pids: readonly number[]): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms !== null) times.set(pid, ms);
  }
  return times;
}

/**
 * CPU time (ms) used so far by each backend of the pool's database (`processCpuMs`); null when a server process cannot
 * be read (a server on another machine or in a container).
 */
export async function backendCpu(pool: Pool): Promise<Map<number, number> | null> {
  const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = processCpuMs(pid);
    if (ms === null) return null;
    out.set(pid, ms);
  }
  return out;
}

/** CPU (ms) the backends used between two {@link backendCpu} snapshots (a backend new in `after` counted whole). */
export function backendCpuUsed(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (before === null || after === null) return null;
  let used = 0;
  for (const [pid, ms] of after) used += ms - (before.get(pid) ?? 0);
  return used;
}
