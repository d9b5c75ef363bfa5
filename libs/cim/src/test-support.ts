import * as fs from 'fs';
import * as path from 'path';
import { CimParseError } from './lib/errors';

export const EXAMPLES_DIR = path.resolve(__dirname, 'testdata/datahub3-examples');
export const FIXTURES_DIR = path.resolve(__dirname, 'fixtures');

export const example = (file: string): Buffer => fs.readFileSync(path.join(EXAMPLES_DIR, file));
export const fixture = (file: string): string => fs.readFileSync(path.join(FIXTURES_DIR, file), 'utf8');

/** Runs `fn` and returns the CimParseError it throws; fails the test if it throws anything else or nothing. */
export function parseErrorOf(fn: () => unknown): CimParseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CimParseError) return e;
    throw new Error(`Expected CimParseError, got ${String(e)}`);
  }
  throw new Error('Expected CimParseError, nothing was thrown');
}
