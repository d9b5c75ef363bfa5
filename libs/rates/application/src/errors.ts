import type { PriceRecordError } from '@dh/rates-domain';

export interface RecordProblem {
  dataset: string;
  index: number;
  field: string;
  problem: string;
}

/**
 * Energi Data Service sent records we cannot use; nothing of the ingest was appended. `problems` names
 * every bad record by dataset, 0-based index in the (sorted) response, and field.
 */
export class MalformedEdsDataError extends Error {
  override readonly name = 'MalformedEdsDataError';
  constructor(readonly problems: RecordProblem[]) {
    const shown = problems.slice(0, 5).map((p) => `${p.dataset} record ${p.index}: field ${p.field} ${p.problem}`);
    super(`Malformed Energi Data Service data, nothing ingested: ${shown.join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`);
  }

  static fromRecordErrors(errors: readonly PriceRecordError[]): MalformedEdsDataError {
    return new MalformedEdsDataError(errors.map((e) => ({ dataset: e.dataset, index: e.index, field: e.field, problem: e.problem })));
  }
}

/** A rates command with an invalid payload (names the field). */
export class InvalidRatesCommandError extends Error {
  override readonly name = 'InvalidRatesCommandError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}
