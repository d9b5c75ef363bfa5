/** Plain-text tables and JSON for a terminal. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string[] {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

export function json(value: unknown): string[] {
  return JSON.stringify(value, null, 2).split('\n');
}

export const short = (id: string | null | undefined): string => (id ? id.slice(0, 8) : '-');
