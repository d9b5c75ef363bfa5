import { startEdsSimulator } from './lib/server';

const USAGE = 'usage: eds-sim [--port 4030] [--host 127.0.0.1] [--seed 42] [--published-through YYYY-MM-DD]';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const port = Number(arg('--port') ?? '4030');
  const seed = Number(arg('--seed') ?? '42');
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isSafeInteger(seed)) throw new Error(USAGE);
  const through = arg('--published-through');
  const sim = await startEdsSimulator({ port, host: arg('--host') ?? '127.0.0.1', scenario: { seed, ...(through !== undefined ? { publishedThrough: through } : {}) } });
  console.log(`Energi Data Service simulator listening on ${sim.url}/dataset/<DayAheadPrices|Elspotprices|DatahubPricelist>`);
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
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
