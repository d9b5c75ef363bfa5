/**
 * The gateway's API as the back office calls it: the staff token (the same staff JWT the gateway
 * accepts from every staff tool) and the access reason travel with every request; both live in this
 * browser tab's sessionStorage only and are gone when the tab closes.
 */

export interface Session {
  token: string;
  reason: string;
}

const KEY = 'back-office.session';

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Session;
    return typeof parsed.token === 'string' && typeof parsed.reason === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify(session));
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    detail: string,
  ) {
    super(detail);
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export async function api<T = JsonObject>(session: Session, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${session.token}`, 'X-Access-Reason': session.reason, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const parsed = text === '' ? null : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const problem = (parsed ?? {}) as { type?: string; detail?: string; title?: string; errors?: { field?: string; messages?: string[] }[] };
    // A validation problem names each field's messages; show them, not only the title.
    const fields = (problem.errors ?? []).flatMap((e) => e.messages ?? []).join('; ');
    throw new ApiError(response.status, String(problem.type ?? 'error').replace(/^.*\/problems\//, ''), problem.detail ?? (fields || problem.title) ?? `HTTP ${response.status}`);
  }
  return parsed as T;
}

/** DKK amount strings as the API gives them (exact decimals), shown with a thousands separator, never through a float. */
export function dkk(amount: Json | undefined): string {
  if (typeof amount !== 'string') return '–';
  const [whole, fraction] = amount.split('.');
  const sign = whole!.startsWith('-') ? '-' : '';
  const digits = whole!.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${sign}${digits},${(fraction ?? '00').padEnd(2, '0')} kr.`;
}

export function when(instant: Json | undefined): string {
  if (typeof instant !== 'string') return '–';
  const d = new Date(instant);
  return Number.isNaN(d.getTime()) ? instant : d.toLocaleString('da-DK', { timeZone: 'Europe/Copenhagen' });
}
