import { readFileSync } from 'node:fs';
import { startEloverblikSimulator } from './lib/server';

const USAGE = 'usage: eloverblik-sim --scenario <file.json> [--port 4020] [--host 127.0.0.1] [--wall-clock]';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const file = arg('--scenario');
  if (!file) {
    console.error(USAGE);
    process.exit(2);
  }
  const port = Number(arg('--port') ?? '4020');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port ${arg('--port') ?? ''}`);
  const scenario: unknown = JSON.parse(readFileSync(file, 'utf8'));
  // --wall-clock: follow real time even when the scenario sets a virtual `now`.
  const sim = await startEloverblikSimulator({ scenario, port, host: arg('--host') ?? '127.0.0.1', ...(process.argv.includes('--wall-clock') ? { clock: () => new Date() } : {}) });
  console.log(`Eloverblik simulator listening on ${sim.apiBaseUrl} (today ${sim.control.today()}, clock ${sim.control.now().toISOString()})`);
  const shutdown = (): void => {
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
