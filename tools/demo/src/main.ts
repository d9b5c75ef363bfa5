import { runDemo } from './demo';

runDemo({ line: (text) => process.stdout.write(`${text}\n`) }).then(
  (summary) => process.exit(summary.ok ? 0 : 1),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
