/** Charge data from DataHub (RSM-031 links, RSM-034 price lists) that cannot be recorded: which field, and why. */
export class ChargeDataError extends Error {
  override readonly name = 'ChargeDataError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}
