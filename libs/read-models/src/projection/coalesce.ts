import type { PoolClient } from 'pg';
import type { ProjectedEvent } from './projection';

/** Parameters per coalesced statement (PostgreSQL's limit is 65,535). */
const MAX_PARAMETERS = 60_000;

interface Statement {
  text: string;
  values: unknown[];
}

/** `INSERT INTO t (…) VALUES (…) [ON CONFLICT …]` with parameters in the VALUES tuple only: its parts, else null. */
function insertParts(text: string): { head: string; tuple: string; tail: string } | null {
  const m = /^\s*INSERT\s+INTO\s+[\w.]+\s*\([^()]*\)\s*VALUES\s*\(/i.exec(text);
  if (!m) return null;
  let depth = 1;
  let i = m[0].length;
  for (; i < text.length && depth > 0; i++) {
    const c = text[i];
    if (c === '"') return null;
    if (c === "'") {
      // A literal: to its closing quote ('' inside it is a quote).
      for (i++; i < text.length && !(text[i] === "'" && text[i + 1] !== "'"); i += text[i] === "'" ? 2 : 1);
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') depth--;
  }
  if (depth !== 0) return null;
  const tail = text.slice(i);
  if (/\$\d/.test(tail) || /^\s*,/.test(tail) || /\bRETURNING\b/i.test(tail)) return null;
  return { head: text.slice(0, m[0].length - 1), tuple: text.slice(m[0].length - 1, i), tail };
}

/** Runs statements of the same text, each from an event with keys of its own, as one multi-row INSERT where it can. */
async function runTogether(client: PoolClient, statements: readonly Statement[]): Promise<void> {
  const parts = statements.length > 1 ? insertParts(statements[0].text) : null;
  if (!parts) {
    for (const s of statements) await client.query(s.text, s.values);
    return;
  }
  const width = statements[0].values.length;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / Math.max(1, width)));
  for (let at = 0; at < statements.length; at += perStatement) {
    const chunk = statements.slice(at, at + perStatement);
    // Parameters renumbered outside the tuple's literals.
    const pieces = parts.tuple.split(/('(?:[^']|'')*')/);
    const tuples = chunk.map((_, row) => pieces.map((piece, k) => (k % 2 === 1 ? piece : piece.replace(/\$(\d+)/g, (_match, n: string) => `$${Number(n) + row * width}`))).join(''));
    await client.query(`${parts.head}${tuples.join(', ')}${parts.tail}`, chunk.flatMap((s) => s.values));
  }
}

/**
 * A client that records the statements `apply` sends instead of sending them (one per `applyInRounds` call, not per
 * event: a Proxy and a closure per event and projection were a visible part of a rebuild's CPU).
 */
function capturer(client: PoolClient): (apply: (event: ProjectedEvent, client: PoolClient) => Promise<void>, event: ProjectedEvent) => Promise<Statement[]> {
  let captured: Statement[] = [];
  const query = (text: unknown, values?: unknown): Promise<{ rows: never[]; rowCount: number }> => {
    if (typeof text !== 'string') throw new Error('A projection applied in rounds must pass its SQL as text');
    captured.push({ text, values: Array.isArray(values) ? values : [] });
    return Promise.resolve({ rows: [], rowCount: 0 });
  };
  const recording = new Proxy(client, { get: (target, property) => (property === 'query' ? query : Reflect.get(target, property, target)) });
  return async (apply, event) => {
    const mine: Statement[] = [];
    captured = mine;
    await apply(event, recording);
    return mine;
  };
}

/**
 * `applyBatch` for a projection whose `apply` only writes (it never reads what its statements return) and whose events
 * touch the rows of the keys `keysOf` names and no others of its tables. The events are cut into rounds in log order
 * (an event goes into the round after the last one holding any of its keys), so within a round no key repeats and the
 * events' effects commute; the statements of each round's events are captured from `apply` and those of events with
 * the same statement sequence run position by position together, an INSERT … VALUES of many events as one multi-row
 * statement. An event `keysOf` does not know (null) is skipped if `apply` writes nothing for it, else it gets a round
 * of its own after everything before it, as does an event with no keys ([]): a type added to `apply` and not to
 * `keysOf` is applied in order, only not together. The result is that of `apply` on each event in turn.
 */
export async function applyInRounds(
  apply: (event: ProjectedEvent, client: PoolClient) => Promise<void>,
  events: readonly ProjectedEvent[],
  client: PoolClient,
  keysOf: (event: ProjectedEvent) => readonly string[] | null,
): Promise<void> {
  const rounds: Statement[][][] = [];
  const lastRound = new Map<string, number>();
  /** The first round events may go into: after the last event without keys. */
  let floor = 0;
  const capture = capturer(client);
  for (const event of events) {
    const keys = keysOf(event);
    const statements = await capture(apply, event);
    if (statements.length === 0) continue;
    let round = floor;
    if (keys === null || keys.length === 0) {
      // A round of its own after everything before it.
      round = rounds.length;
      floor = round + 1;
    } else {
      for (const key of keys) round = Math.max(round, (lastRound.get(key) ?? -1) + 1);
      for (const key of keys) lastRound.set(key, round);
    }
    (rounds[round] ??= []).push(statements);
  }
  for (const round of rounds) {
    if (!round) continue;
    /** Per sequence of statement texts, each event's statements in that sequence. */
    const groups = new Map<string, Statement[][]>();
    for (const statements of round) {
      const signature = statements.map((s) => s.text).join('\u0000');
      const group = groups.get(signature);
      if (group) group.push(statements);
      else groups.set(signature, [statements]);
    }
    for (const group of groups.values()) {
      for (let position = 0; position < group[0].length; position++) await runTogether(client, group.map((statements) => statements[position]));
    }
  }
}
