/**
 * Publication metadata of a price. A corrected price is a new version; lookups take an "as known at"
 * instant so a settlement can be reproduced with exactly the prices that were known when it ran.
 */
export interface PriceVersion {
  /** When this version became known to us (UTC). */
  readonly publishedAt: Date;
  /** Tie-breaker between versions published at the same instant; higher wins. */
  readonly version: number;
}

/** Orders versions oldest first: by `publishedAt`, then `version`. */
export function compareVersions(a: PriceVersion, b: PriceVersion): number {
  const d = a.publishedAt.getTime() - b.publishedAt.getTime();
  return d !== 0 ? d : a.version - b.version;
}

/** True when the version was known at `asOf` (no `asOf`: the latest known version is wanted). */
export function knownAt(v: PriceVersion, asOf: Date | undefined): boolean {
  return asOf === undefined || v.publishedAt.getTime() <= asOf.getTime();
}
