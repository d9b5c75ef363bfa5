import { runCatchUpSkipsCli } from './catch-up-skips-cli';

runCatchUpSkipsCli(process.argv.slice(2), process.env, { line: (text) => process.stdout.write(`${text}\n`) }).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
