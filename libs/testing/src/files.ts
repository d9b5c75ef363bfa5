import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Test data files for tests of libraries that may not touch the file system themselves (domain libraries are
 * pure by lint rule; their tests read fixtures through this).
 */
export function readTestFile(...segments: string[]): string {
  return fs.readFileSync(path.join(...segments), 'utf8');
}

/** Files directly in a directory, sorted; an absent directory has none. */
export function testFilesIn(...segments: string[]): string[] {
  const dir = path.join(...segments);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort() : [];
}
