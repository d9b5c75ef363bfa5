/** A staff session against the gateway's REST API: the bearer token and the reason for this piece of work. */
export interface DeskSession {
  gatewayUrl: string;
  token: string;
  /** Sent as X-Access-Reason; written to the audit log with every read. */
  reason: string | null;
  fetch?: typeof fetch;
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly status: number,
    readonly problemType: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the gateway as the staff member; a problem+json answer becomes a `GatewayError` with its detail. */
export async function callGateway<T>(session: DeskSession, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}`, accept: 'application/json' };
  if (session.reason !== null) headers['x-access-reason'] = session.reason;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await (session.fetch ?? fetch)(`${session.gatewayUrl.replace(/\/+$/, '')}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  const parsed: unknown = text === '' ? null : JSON.parse(text);
  if (!res.ok) {
    const problem = (parsed ?? {}) as { type?: string; title?: string; detail?: string };
    const type = problem.type?.replace('https://datahub-core.dev/problems/', '') ?? null;
    throw new GatewayError(res.status, type, `${method} ${path}: ${res.status} ${type ?? ''}${problem.detail ? ` — ${problem.detail}` : problem.title ? ` — ${problem.title}` : ''}`);
  }
  return parsed as T;
}

export const query = (params: Record<string, string | number | undefined>): string => {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
};
