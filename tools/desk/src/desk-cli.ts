import { parseArgs } from 'node:util';
import { disputeCommands, type CommandArgs } from './dispute-commands';
import { ratesCommands } from './rates-commands';
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
  '  recompute <invoice-id> [--as-of T] [--apply]    dry run: the note a recomputation would issue; --apply issues it (admin)',
  '  recompute --customer ID | --period P [--as-of T] [--apply]   the same for a customer\'s invoices or a period\'s',
  '  audit   [--actor ID] [--action A] [--subject-type T] [--subject-id S] [--outcome O] [--from T] [--to T] [--limit N]',
  '',
  'rates and products (changes need the admin role; every change is a new version):',
  '  products                                        every product and its versions',
  '  define-product <id> --name N --margin DKK/kWh --subscription DKK/month --valid-from D [--valid-to D] [--export-fee X] [--billing monthly,quarterly]',
  '  tax-rates | set-tax-rate --valid-from D [--valid-to D] --normal X --reduced X',
  '  grid-areas | map-grid-area <area> --price-area DK1|DK2 --gln GLN --tariff CHARGE --subscription-charge CHARGE',
  '  charge-versions <charge-id>                     every version of a charge, manual corrections marked',
  '  spot-prices --price-area DK1 --date D           every version of a delivery day',
  '  correct-spot --price-area DK1 --date D --price <start>=<DKK/MWh>[,…] --why "<reason>"',
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
  apply: { type: 'boolean' },
  customer: { type: 'string' },
  period: { type: 'string' },
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
  product: { type: 'string' },
  name: { type: 'string' },
  margin: { type: 'string' },
  subscription: { type: 'string' },
  'valid-from': { type: 'string' },
  'valid-to': { type: 'string' },
  'export-fee': { type: 'string' },
  billing: { type: 'string' },
  normal: { type: 'string' },
  reduced: { type: 'string' },
  'grid-area': { type: 'string' },
  'price-area': { type: 'string' },
  gln: { type: 'string' },
  tariff: { type: 'string' },
  'subscription-charge': { type: 'string' },
  date: { type: 'string' },
  price: { type: 'string' },
  why: { type: 'string' },
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
  const run = command === undefined ? undefined : (disputeCommands[command] ?? ratesCommands[command]);
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
