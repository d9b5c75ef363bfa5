// Jest global teardown (after every run; only the end-to-end tests start service processes): reads the output of every service process the end-to-end
// tests ran (CRM onboarding with CPR numbers, GDPR export and erasure, DataHub requests that carry the
// CPR) and fails the run if any line shows a CPR number in clear. The scanner is @dh/logging's own
// `log-scan.ts`, transpiled here: the unit and integration runs of a fresh clone have no `dist/` yet.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

function loadLogScan() {
  const ts = require('typescript');
  const file = path.join(__dirname, '../../libs/logging/src/log-scan.ts');
  const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  const compiled = new Module(file);
  compiled.filename = file;
  compiled._compile(outputText, file);
  return compiled.exports;
}

module.exports = async function checkServiceLogs() {
  const dir = process.env.SERVICE_LOG_DIR;
  if (!dir || !fs.existsSync(dir)) return;
  const { findCprNumbers } = loadLogScan();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));
  const findings = [];
  let lines = 0;
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    lines += text.split('\n').length;
    for (const line of text.split('\n')) {
      const found = findCprNumbers(line);
      if (found.length > 0) findings.push(`${file}: ${found.map((n) => `${n.slice(0, 6)}…`).join(', ')} in "${line.slice(0, 160).replace(/\d{4}(?!\d)/g, '####')}"`);
    }
  }
  if (findings.length > 0) {
    throw new Error(`Service logs of the end-to-end run show CPR numbers in clear (${findings.length} lines):\n${findings.slice(0, 20).join('\n')}`);
  }
  if (files.length > 0) process.stdout.write(`\nService log check: ${files.length} service logs, ${lines} lines, no CPR number in clear\n`);
  // KEEP_SERVICE_LOGS=1 keeps them (to read after a failed run); the folder is named in the output.
  if (process.env.KEEP_SERVICE_LOGS) process.stdout.write(`Service logs kept in ${dir}\n`);
  else fs.rmSync(dir, { recursive: true, force: true });
};
