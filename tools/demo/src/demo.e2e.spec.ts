import { uniqueName } from '@dh/testing';
import { runDemo } from './demo';

/** The README's main job, end to end, on its own database and vhost: every check it makes must pass. */
describe('the demo month (npm run demo)', () => {
  it('onboards, settles October 2026, issues corrections, collects the money (Betalingsservice, reminder, FI slip) and reconciles with DataHub, with every check passing', async () => {
    const lines: string[] = [];
    const summary = await runDemo({ line: (text) => lines.push(text) }, { database: uniqueName('demo'), vhost: uniqueName('demo'), keep: false });
    const failed = summary.checks.filter((c) => !c.ok);
    expect(failed).toEqual([]);
    expect(summary.checks.map((c) => c.name)).toEqual([
      'a switch DataHub rejects is shown with its reason',
      'a pending switch is cancelled before its date (RSM-002)',
      'customers activated on their effective dates',
      'a month of PT15M data received from DataHub',
      'settlement run completed; the point whose 20 October is late halts (no partial invoice)',
      'a re-export has the same invoice ids',
      'running the same period again issues nothing new',
      'the corrected price became correction notes for the DK1 invoices',
      "October's invoices are collected by Betalingsservice (0601 over SFTP, December cycle)",
      'a collection Betalingsservice rejects reopens the invoice, payable by FI slip',
      'the customer gets a reminder with a fee (at most 100 DKK, renteloven § 9 b) and interest',
      'paid by FI slip, the balance ends at zero',
      'a point halted for a late day is invoiced by a later run of the month once the day has arrived',
      'a recomputation dry run, then applied: exactly what the dry run showed, once',
      "reconciliation: DataHub's wholesale bill and energy for grid area 804 equal ours",
      'reconciliation finds the planted difference and names its metering point',
      'the finding is explained with a note, kept in its audit trail',
    ]);
    // October's first run: two invoices (the late point halted); the corrected DK1 price: one note (Anna's).
    expect(summary.invoices).toBe(2);
    expect(summary.correctionNotes).toBe(1);
    expect(lines.join('\n')).not.toMatch(/0101901234|010190-1234/);
  }, 600_000);
});
