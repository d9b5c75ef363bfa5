/**
 * Explaining differences with metering points. A difference between DataHub and us is a residual per group
 * (energy per metering point type and settlement method, or quantity per charge, type and method) and slot. A
 * candidate explanation is what one cause would add to that residual: a metering point DataHub counts as ours
 * and we do not (its quantities), one we supply and DataHub does not (minus its quantities), a metered data
 * version we have that DataHub did not use (old − new), a charge link one side does not know. A candidate is
 * accepted for a group when the residual equals its quantities exactly on nearly all of its slots (another cause
 * may overlap a few, e.g. a corrected day inside a metering point's month); what no candidate explains remains.
 */

export type FindingKind =
  | 'metering-point-not-supplied-by-us'
  | 'metering-point-unknown-to-datahub'
  | 'metered-data-version'
  | 'charge-link-unknown-to-us'
  | 'charge-link-unknown-to-datahub'
  | 'price'
  | 'unexplained'
  | 'invoice';

export interface Candidate {
  readonly kind: FindingKind;
  readonly meteringPoints: readonly string[];
  /** Group key (see `energyGroupKey`, `chargeGroupKey`) → slot → quantity this cause adds to DataHub − ours. */
  readonly contributions: ReadonlyMap<string, ReadonlyMap<number, bigint>>;
  readonly explanation: string;
}

export const energyGroupKey = (type: string, method: string | null): string => `energy|${type}|${method ?? ''}`;
export const chargeGroupKey = (chargeId: string, type: string, method: string | null, resolution: string): string => `charge|${chargeId}|${type}|${method ?? ''}|${resolution}`;

/** Share of a candidate's slots on which the residual must equal it exactly (the rest may carry another cause). */
export const MATCH_SHARE = 0.8;

export interface Attribution {
  readonly accepted: readonly { readonly candidate: Candidate; readonly groups: readonly string[]; readonly explained: boolean }[];
  /** What no candidate explains, per group (slot → residual). */
  readonly unexplained: ReadonlyMap<string, ReadonlyMap<number, bigint>>;
}

function minus(a: ReadonlyMap<number, bigint>, b: ReadonlyMap<number, bigint>): Map<number, bigint> {
  const out = new Map(a);
  for (const [t, v] of b) {
    const r = (out.get(t) ?? 0n) - v;
    if (r === 0n) out.delete(t);
    else out.set(t, r);
  }
  return out;
}

/** Applies candidates in order; each is accepted for a group when it matches the remaining residual on nearly all of its slots. */
export function attribute(residuals: ReadonlyMap<string, ReadonlyMap<number, bigint>>, candidates: readonly Candidate[]): Attribution {
  const remaining = new Map<string, Map<number, bigint>>([...residuals].map(([k, v]) => [k, new Map(v)]));
  const acceptedGroups = candidates.map(() => [] as string[]);
  candidates.forEach((c, i) => {
    for (const [group, vector] of c.contributions) {
      const current = remaining.get(group);
      const support = [...vector].filter(([, q]) => q !== 0n);
      if (current === undefined || current.size === 0 || support.length === 0) continue;
      const matching = support.filter(([t, q]) => current.get(t) === q).length;
      if (matching >= Math.max(1, Math.ceil(MATCH_SHARE * support.length))) {
        remaining.set(group, minus(current, vector));
        acceptedGroups[i]!.push(group);
      }
    }
  });
  return {
    accepted: candidates.flatMap((candidate, i) => {
      const groups = acceptedGroups[i]!;
      return groups.length === 0 ? [] : [{ candidate, groups, explained: true }];
    }),
    unexplained: new Map([...remaining].filter(([, v]) => v.size > 0)),
  };
}

/**
 * True when a metering point's quantities are exactly the residual wherever the residual is not zero, and the
 * residual is zero wherever the point's quantities are outside the residual's span: the point alone explains it.
 * `sign` −1 tests a point whose quantities DataHub did not count.
 */
export function explainsResidual(residual: ReadonlyMap<number, bigint>, quantities: ReadonlyMap<number, bigint>, sign: 1n | -1n = 1n): boolean {
  if (residual.size === 0) return false;
  for (const [t, r] of residual) if ((quantities.get(t) ?? 0n) * sign !== r) return false;
  return true;
}
