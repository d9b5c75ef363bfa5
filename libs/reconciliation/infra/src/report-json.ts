import { formatScaled } from '@dh/money';
import type { ReconciliationOutcome } from '@dh/reconciliation-application';

/** At most this many slot differences are kept per report; the count is always kept. */
export const MAX_DIFFERENCE_ROWS = 2000;

const dkk = (v: bigint | null) => (v === null ? null : formatScaled(v, 6));
const kwh = (v: bigint | null) => (v === null ? null : formatScaled(v, 3));

/**
 * A run's report as stored and served (JSON and CSV at the gateway): per charge DataHub's monthly amount, ours
 * and our invoices' (rounded per line, the rounding difference apart), totals per charge owner, energy per
 * metering point type and settlement method, and the differing slots. DKK with DataHub's 6 decimals, kWh with 3.
 */
export function reportJson(o: ReconciliationOutcome) {
  const invoices = new Map(o.invoices.map((i) => [i.chargeId, i]));
  const differences = o.wholesale?.differences ?? [];
  return {
    runId: o.runId,
    gridArea: o.gridArea,
    period: o.period,
    datahubEnergyResult: o.datahubEnergyResult,
    datahubWholesaleResult: o.datahubWholesaleResult,
    meteringPoints: o.meteringPoints,
    charges: (o.wholesale?.charges ?? []).map((c) => {
      const i = invoices.get(c.chargeId);
      return {
        chargeId: c.chargeId,
        owner: c.owner,
        chargeType: c.chargeType,
        code: c.code,
        datahubAmount: dkk(c.datahubAmount),
        ourAmount: dkk(c.ourAmount),
        difference: dkk(c.datahubAmount - c.ourAmount),
        differingSlots: c.differingSlots,
        invoicedAmount: i ? dkk(i.invoiced) : null,
        invoiceLines: i?.lines ?? 0,
        invoiceRoundingDifference: i ? dkk(i.roundingDifference) : null,
        invoiceWithinRounding: i?.withinRounding ?? null,
      };
    }),
    totals: (o.wholesale?.totals ?? []).map((t) => ({
      chargeOwner: t.chargeOwner,
      datahubAmount: dkk(t.datahubAmount),
      ourAmount: dkk(t.ourAmount),
      difference: t.datahubAmount === null || t.ourAmount === null ? null : dkk(t.datahubAmount - t.ourAmount),
    })),
    energy: o.energy.map((e) => ({
      meteringPointType: e.meteringPointType,
      settlementMethod: e.settlementMethod,
      resolution: e.resolution,
      datahubKwh: kwh(e.datahubTotal),
      ourKwh: kwh(e.ourTotal),
      difference: kwh(e.datahubTotal - e.ourTotal),
      differingSlots: e.differingSlots,
    })),
    differenceCount: differences.length,
    differences: differences.slice(0, MAX_DIFFERENCE_ROWS).map((d) => ({
      chargeId: d.chargeId,
      meteringPointType: d.meteringPointType,
      settlementMethod: d.settlementMethod,
      resolution: d.resolution,
      time: new Date(d.time).toISOString(),
      datahubQuantity: kwh(d.datahub.quantity),
      ourQuantity: kwh(d.ours.quantity),
      datahubPrice: dkk(d.datahub.price),
      ourPrice: dkk(d.ours.price),
      datahubAmount: dkk(d.datahub.amount),
      ourAmount: dkk(d.ours.amount),
      differs: d.differs,
    })),
    findings: o.observations.map((x) => x.facts.findingId),
  };
}

export type ReportJson = ReturnType<typeof reportJson>;
