import type { ReactNode } from 'react';
import { api, dkk, when, type JsonObject, type Session } from './api';
import { Columns, Loading, useLoad } from './ui';

interface Figures {
  quantityKwh: string | null;
  unitPrice: string | null;
  amountExclVat: string;
  amountInclVat: string;
  estimated: boolean;
}

interface ExplainedLine {
  key: string;
  kind: string;
  description: string;
  issued: Figures | null;
  corrected: Figures | null;
  now: Figures | null;
  pendingExclVat: string;
  sources: { metered: string[]; spot: boolean; charges: string[]; rules: string[] };
  formula: string;
}

interface Explanation {
  invoice: { invoiceId: string; gsrn: string; customerId: string; period: string; issuedAt: string; pricesAsOf: string };
  notes: { noteId: string; noteType: string; cause: string; issuedAt: string; totals: { inclVat: string } }[];
  asIssued: { outcome: string; reproduced?: boolean };
  now: { outcome: string; reason?: string; inputs?: JsonObject };
  lines: ExplainedLine[];
  bridge: { issuedInclVat: string; notesInclVat: string; correctedInclVat: string; issuedPlusNotesIsCorrected: boolean; nowInclVat: string | null; pendingInclVat: string | null };
}

const quantity = (f: Figures | null): string => (f?.quantityKwh ? `${f.quantityKwh} kWh` : '');

/** An invoice line by line: as issued, as corrected by the notes, as it would be computed today, and where each figure comes from. */
export function InvoicePage({ session, invoiceId }: { session: Session; invoiceId: string }): ReactNode {
  const { data, error } = useLoad(() => api<Explanation>(session, 'GET', `/api/staff/invoices/${invoiceId}/explanation`), invoiceId);
  if (!data) return <Loading error={error} what="the invoice explanation" />;
  const b = data.bridge;
  return (
    <>
      <h1>Invoice {data.invoice.period} explained</h1>
      <p>
        <a href={`#/customers/${data.invoice.customerId}`}>Back to the customer</a> · GSRN {data.invoice.gsrn} · issued {when(data.invoice.issuedAt)} with prices known at {when(data.invoice.pricesAsOf)}
      </p>
      <section aria-labelledby="bridge-heading">
        <h2 id="bridge-heading">As issued and as now</h2>
        <table className="bridge">
          <tbody>
            <tr>
              <th scope="row">As issued</th>
              <td className="num">{dkk(b.issuedInclVat)}</td>
            </tr>
            <tr>
              <th scope="row">Correction notes ({data.notes.length})</th>
              <td className="num">{dkk(b.notesInclVat)}</td>
            </tr>
            <tr>
              <th scope="row">As corrected</th>
              <td className="num">{dkk(b.correctedInclVat)}</td>
            </tr>
            <tr>
              <th scope="row">As computed now</th>
              <td className="num">{b.nowInclVat === null ? `not computable now (${data.now.reason ?? data.now.outcome})` : dkk(b.nowInclVat)}</td>
            </tr>
            <tr>
              <th scope="row">Still to correct</th>
              <td className="num">{b.pendingInclVat === null ? '–' : dkk(b.pendingInclVat)}</td>
            </tr>
          </tbody>
        </table>
        <p>
          {b.issuedPlusNotesIsCorrected ? 'The issued invoice plus its notes gives the corrected amount.' : 'The notes do not add up to the corrected amount: report this.'}{' '}
          {data.asIssued.reproduced === true ? 'Recomputing with what was known at issue reproduces every issued line.' : 'Recomputing with what was known at issue does not reproduce every line.'}
        </p>
        {data.notes.length > 0 && (
          <ul aria-label="Correction notes">
            {data.notes.map((n) => (
              <li key={n.noteId}>
                {n.noteType} note {dkk(n.totals.inclVat)} issued {when(n.issuedAt)}: {n.cause}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="lines-heading">
        <h2 id="lines-heading">Line by line</h2>
        <table>
          <Columns names={['Line', 'As issued', 'As corrected', 'As now', 'How it is formed']} />
          <tbody>
            {data.lines.map((l) => (
              <tr key={l.key}>
                <th scope="row">{l.description}</th>
                <td className="num">
                  {l.issued ? dkk(l.issued.amountExclVat) : '–'} <span className="muted">{quantity(l.issued)}</span>
                </td>
                <td className="num">{l.corrected ? dkk(l.corrected.amountExclVat) : '–'}</td>
                <td className="num">{l.now ? dkk(l.now.amountExclVat) : '–'}</td>
                <td>
                  {l.formula}
                  <span className="muted">
                    {' '}
                    Inputs: {[...l.sources.metered.map((m) => `${m} metered data`), ...(l.sources.spot ? ['spot prices'] : []), ...l.sources.charges, ...l.sources.rules].join(', ') || '–'}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="hint">Amounts excl. VAT. Every version of the metered data and prices used is listed under the computation's inputs in the API answer.</p>
      </section>
    </>
  );
}
