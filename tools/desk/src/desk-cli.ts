import { parseArgs } from 'node:util';
import { disputeCommands, type CommandArgs } from './dispute-commands';
import type { DeskSession } from './gateway-client';

export const USAGE = [
  'usage: desk <command> [arguments] [--reason "<why>"] [--json]',
  '',
  'dispute desk (every read is audited with --reason):',
  '  kinds                                           the stream categories',
  '  events  <stream-id> [--as-of T] [--from-revision N] [--limit N]',
  '  state   <stream-id> [--as-of T]                 the state folded as known at T (default now)',
  '  diff    <stream-id> --from T [--to T]           what changed between two moments, and why',
  '  trace   <event-id>                              causation chain and correlation of one event',
  '  explain <invoice-id>                            as issued, notes, as now, each line traced to its inputs',
  '  audit   [--actor ID] [--action A] [--subject-type T] [--subject-id S] [--outcome O] [--from T] [--to T] [--limit N]',
  '',
  'T is an ISO instant (2026-10-15T12:00:00Z). The gateway and token come from --gateway/DESK_GATEWAY_URL',
  '(default http://127.0.0.1:3000) and --token/DESK_TOKEN (a staff JWT of the back office login).',
].join('\n');

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OPTIONS = {
  gateway: { type: 'string' },
  token: { type: 'string' },
  reason: { type: 'string' },
  json: { type: 'boolean' },
  'as-of': { type: 'string' },
  'from-revision': { type: 'string' },
  limit: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  actor: { type: 'string' },
  action: { type: 'string' },
  'subject-type': { type: 'string' },
  'subject-id': { type: 'string' },
  outcome: { type: 'string' },
} as const;

/** Support engineers' command line over the gateway's staff API (same authorization and audit as the web back office). */
export async function runDesk(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void, fetchImpl?: typeof fetch): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const [command, ...positionals] = parsed.positionals;
  const run = command === undefined ? undefined : disputeCommands[command];
  if (run === undefined) throw new UsageError(USAGE);
  const token = parsed.values.token ?? env['DESK_TOKEN'];
  if (!token) throw new UsageError(`a staff token is needed: --token or DESK_TOKEN\n${USAGE}`);
  const session: DeskSession = {
    gatewayUrl: parsed.values.gateway ?? env['DESK_GATEWAY_URL'] ?? 'http://127.0.0.1:3000',
    token,
    reason: parsed.values.reason ?? env['DESK_REASON'] ?? null,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  };
  const args: CommandArgs = { positionals, options: parsed.values };
  for (const line of await run(session, args, parsed.values.json === true)) out(line);
}
