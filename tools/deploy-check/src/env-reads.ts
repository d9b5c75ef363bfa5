import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** `env.NAME`, `process.env.NAME`, `env['NAME']` and helpers called as `helper(env, 'NAME', …)`. */
const READS = [/\benv\.([A-Z][A-Z0-9_]*)\b/g, /\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g, /\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]*)['"]/g];

/** Where a file reads `env[name]` with a computed name, the names it hands to its helper: `digits('BETALINGSSERVICE_PBS_NUMBER', 8)`. */
const DYNAMIC_READ = /\benv\[\s*[a-z]\w*\s*\]/;
const HELPER_ARGUMENT = /\b[a-z]\w*\(\s*['"]([A-Z][A-Z0-9]*_[A-Z0-9_]+)['"]\s*,/g;

/** Test code, test support and provisioning for tests and the demo: not read by a deployed service. */
function isServiceSource(file: string): boolean {
  return file.endsWith('.ts') && !file.endsWith('.spec.ts') && !file.split(path.sep).includes('testing') && !/\blibs\/(testing|provisioning)\//.test(file);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (isServiceSource(full)) out.push(full);
  }
  return out;
}

/** Each environment variable read in `apps/` and `libs/`, with the files that read it (relative to `root`). */
export function environmentReads(root: string): Map<string, string[]> {
  const reads = new Map<string, string[]>();
  for (const file of [...sources(path.join(root, 'apps')), ...sources(path.join(root, 'libs'))]) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of DYNAMIC_READ.test(text) ? [...READS, HELPER_ARGUMENT] : READS) {
      for (const match of text.matchAll(pattern)) {
        const name = match[1]!;
        const files = reads.get(name) ?? [];
        const relative = path.relative(root, file);
        if (!files.includes(relative)) files.push(relative);
        reads.set(name, files);
      }
    }
  }
  return reads;
}
