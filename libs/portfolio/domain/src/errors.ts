/** A command that the market rules or the lifecycle refuse; `code` is stable for clients. */
export class DomainRuleViolation extends Error {
  override readonly name = 'DomainRuleViolation';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
