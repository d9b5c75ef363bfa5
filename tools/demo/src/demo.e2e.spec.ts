import { uniqueName } from '@dh/testing';
import { runDemo } from './demo';

/** The README's main job, end to end, on its own database and vhost: every check it makes must pass. */
describe('the demo month (npm run demo)', () => {
  it('onboards, settles October 2026 (a move between two customers, a late move-in, a halted point), issues corrections (automatic and reviewed), collects the money (Betalingsservice, reminder, FI slip) and reconciles with DataHub, with every check passing', async () => {
    const lines: string[] = [];
    // On a failure the demo's own output is the best evidence: it goes with the error.
    const summary = await runDemo({ line: (text) => lines.push(text) }, { database: uniqueName('demo'), vhost: uniqueName('demo'), keep: false }).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- the demo's output ---\n${lines.join('\n')}`);
    });
    const failed = summary.checks.filter((c) => !c.ok);
    if (failed.length > 0) process.stdout.write(`--- the demo's output ---\n${lines.join('\n')}\n`);
    expect(failed).toEqual([]);
    expect(summary.checks.map((c) => c.name)).toEqual([
      'a switch DataHub rejects is shown with its reason',
      'a pending switch is cancelled before its date (RSM-002)',
      'customers activated on their effective dates',
      'a month of PT15M data received from DataHub',
      'settlement run completed; the point whose 20 October is late halts (no partial invoice)',
      'a re-export has the same invoice ids',
      'running the same period again issues nothing new',
      'two of our customers on one metering point in one month: an invoice each, for their own days, product and electric-heating flag',
      'the corrected price became correction notes for the DK1 invoices',
      'a move-in reported 5 working days after its date is accepted and supplied from that date',
      "October's invoices are collected by Betalingsservice (0601 over SFTP, December cycle)",
      'a collection Betalingsservice rejects reopens the invoice, payable by FI slip',
      'the customer gets a reminder with a fee (at most 100 DKK, renteloven § 9 b) and interest',
      'paid by FI slip, the balance ends at zero',
      'a point halted for a late day is invoiced by a later run of the month once the day has arrived',
      "a move-in reported after the month's first run is invoiced by the next scheduled run, exactly once",
      "a product correction left for review: the dry run names the product price's old and new version, applied exactly once",
      "reconciliation: DataHub's wholesale bill and energy for grid area 804 equal ours",
      'reconciliation finds the planted difference and names its metering point',
      'the finding is explained with a note, kept in its audit trail',
    ]);
    // October's first run: four invoices (Anna, Dorte, Eva's final and Frank's on the metering point they share; the
    // late point halted); the corrected DK1 price: one note (Anna's).
    expect(summary.invoices).toBe(4);
    expect(summary.correctionNotes).toBe(1);
    expect(lines.join('\n')).not.toMatch(/0101901234|010190-1234/);
  }, 600_000);
});
