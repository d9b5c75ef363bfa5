/** A JSON number written exactly as this text (the real API sends prices as JSON numbers). */
export class RawNumber {
  constructor(readonly text: string) {
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text)) throw new Error(`RawNumber: not a JSON number: ${JSON.stringify(text)}`);
  }
}

export type FieldValue = string | RawNumber | null;
export type EdsRecord = Record<string, FieldValue>;

/** Serialises records with raw numbers, so no price ever passes through a JS number. */
export function serializeJson(value: FieldValue | boolean | number | readonly unknown[] | { readonly [key: string]: unknown }): string {
  if (value === null) return 'null';
  if (value instanceof RawNumber) return value.text;
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`serializeJson: only safe integers may be JS numbers, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => serializeJson(v as FieldValue)).join(',')}]`;
  const entries = Object.entries(value as { readonly [key: string]: unknown });
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${serializeJson(v as FieldValue)}`).join(',')}}`;
}

/** Text of a field for filters and sorting. */
export function fieldText(value: FieldValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  return value instanceof RawNumber ? value.text : value;
}
