import { runRebuildCli } from './rebuild-cli';

runRebuildCli(process.argv.slice(2), process.env, { line: (text) => process.stdout.write(`${text}\n`) }).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
