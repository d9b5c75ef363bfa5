import { readFileSync } from 'node:fs';
import { startDataHubSimulator } from './lib/server';

const USAGE = 'usage: datahub-sim --scenario <file.json> [--port 4010] [--host 127.0.0.1] [--wall-clock]';

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
  const port = Number(arg('--port') ?? '4010');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port ${arg('--port') ?? ''}`);
  const scenario: unknown = JSON.parse(readFileSync(file, 'utf8'));
  // --wall-clock: follow real time instead of the scenario's virtual clock (which only POST /sim/clock moves).
  const sim = await startDataHubSimulator({ scenario, port, host: arg('--host') ?? '127.0.0.1', ...(process.argv.includes('--wall-clock') ? { clock: () => new Date() } : {}) });
  console.log(`DataHub simulator listening on ${sim.url} (clock ${sim.control.now().toISOString()})`);
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
