import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Response } from 'express';
import type { Repository } from 'typeorm';
import { RequireScopes } from '@dh/auth';
import {
  AcontoInvoiceReadModel,
  SettlementHaltReadModel,
  SettlementHaltedItemReadModel,
  SettlementInvoiceReadModel,
  SettlementNoteReadModel,
  SettlementRunReadModel,
} from '@dh/read-models';
import { ProblemException } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { AcknowledgeNoteExportDto, StartSettlementRunDto } from './start-run.dto';
import { exportAcontoInvoice, exportCsv, exportInvoice, exportLine, exportNote, type ExportAcontoInvoice, type ExportInvoice, type ExportLine, type ExportNote } from './settlement-export';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/;
const QUARTER = /^\d{4}-Q[1-4]$/;
const HALT_REASONS = ['missing-metered-data', 'missing-price', 'missing-configuration', 'invalid-input'];

/** A metering point halted in a period, not invoiced since (`GET /api/settlement/halted`). */
export interface HaltedItemView {
  gsrn: string;
  period: string;
  reason: string;
  detail: Record<string, unknown>;
  runId: string;
  since: string;
  lastHaltedAt: string;
}

export interface RunView {
  runId: string;
  period: string;
  status: string;
  items: { total: number; done: number; invoiced: number; halted: number };
  halted: { gsrn: string; reason: string; detail: Record<string, unknown> }[];
  startedAt: string;
  completedAt: string | null;
}

/**
 * ERP API of settlement. `GET /api/settlement/{id}/lines` takes an invoice id (that invoice's
 * lines) or a run id (the lines of every invoice the run issued, per invoice).
 */
@Controller('api/settlement')
export class SettlementController {
  constructor(
    private readonly commands: CommandGateway,
    @InjectRepository(SettlementInvoiceReadModel) private readonly invoices: Repository<SettlementInvoiceReadModel>,
    @InjectRepository(SettlementNoteReadModel) private readonly notes: Repository<SettlementNoteReadModel>,
    @InjectRepository(SettlementRunReadModel) private readonly runs: Repository<SettlementRunReadModel>,
    @InjectRepository(SettlementHaltReadModel) private readonly halts: Repository<SettlementHaltReadModel>,
    @InjectRepository(AcontoInvoiceReadModel) private readonly acontoInvoices: Repository<AcontoInvoiceReadModel>,
    @InjectRepository(SettlementHaltedItemReadModel) private readonly haltedItems: Repository<SettlementHaltedItemReadModel>,
  ) {}

  /**
   * Metering points currently halted in a period (not invoiced since), with the reason of their last halt, its
   * detail, the run it halted in and since when it is halted; in (period, GSRN) order, a page at a time (`after` =
   * the `next` of the previous page). Each is retried automatically when its missing input arrives, and any later
   * run of the period settles it.
   */
  @Get('halted')
  @RequireScopes('settlement:read')
  async halted(
    @Query('period') period?: string,
    @Query('reason') reason?: string,
    @Query('after') after?: string,
    @Query('limit') limit?: string,
  ): Promise<{ halted: HaltedItemView[]; next: string | null }> {
    const invalid = (detail: string) => new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail });
    if (period !== undefined && !PERIOD.test(period)) throw invalid('period must be YYYY-MM or YYYY-Qn');
    if (reason !== undefined && !HALT_REASONS.includes(reason)) throw invalid(`reason must be one of ${HALT_REASONS.join(', ')}`);
    const cursor = after === undefined ? null : /^(\d{4}-(?:0[1-9]|1[0-2]|Q[1-4]))\/(\d{18})$/.exec(after);
    if (cursor === null && after !== undefined) throw invalid('after must be the next cursor of a previous page (<period>/<gsrn>)');
    if (limit !== undefined && (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 500)) throw invalid('limit must be an integer from 1 to 500');
    const n = limit === undefined ? 100 : Number(limit);
    const rows: { gsrn: string; period: string; run_id: string; reason: string; detail: Record<string, unknown>; since: Date; halted_at: Date }[] = await this.haltedItems.query(
      `SELECT gsrn, period, run_id, reason, detail, since, halted_at FROM read_models.settlement_halted_items
        WHERE (resolved_at IS NULL OR halted_at > resolved_at) AND ($1::text IS NULL OR period = $1) AND ($2::text IS NULL OR reason = $2)
          AND ($3::text IS NULL OR (period, gsrn) > ($3::text, $4::text))
        ORDER BY period, gsrn LIMIT $5`,
      [period ?? null, reason ?? null, cursor?.[1] ?? null, cursor?.[2] ?? null, n + 1],
    );
    const page = rows.slice(0, n);
    const last = page[page.length - 1];
    return {
      halted: page.map((r) => ({ gsrn: r.gsrn, period: r.period, reason: r.reason, detail: r.detail, runId: r.run_id, since: r.since.toISOString(), lastHaltedAt: r.halted_at.toISOString() })),
      next: rows.length > n && last !== undefined ? `${last.period}/${last.gsrn}` : null,
    };
  }

  /** Aconto (advance) invoices of a quarter for ERP, each a receivable of its own (`settlement:export`). */
  @Get('aconto-invoices')
  @RequireScopes('settlement:export')
  async acontoInvoiceList(@Query('quarter') quarter?: string): Promise<{ quarter: string | null; aconto_invoices: ExportAcontoInvoice[] }> {
    if (quarter !== undefined && !QUARTER.test(quarter)) throw new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail: 'quarter must be YYYY-Qn' });
    const rows = await this.acontoInvoices.find({ where: quarter === undefined ? {} : { quarter }, order: { quarter: 'ASC', gsrn: 'ASC', acontoInvoiceId: 'ASC' } });
    return { quarter: quarter ?? null, aconto_invoices: rows.map(exportAcontoInvoice) };
  }

  @Get('export')
  @RequireScopes('settlement:export')
  async export(
    @Query('period') period: string | undefined,
    @Query('format') format: string | undefined,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ period: string; invoices: ExportInvoice[] } | string> {
    if (period === undefined || !PERIOD.test(period)) {
      throw new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail: 'period must be YYYY-MM or YYYY-Qn' });
    }
    const rows = await this.invoices.find({ where: { period }, order: { gsrn: 'ASC', invoiceId: 'ASC' } });
    const invoices = rows.map(exportInvoice);
    if (format === 'csv' || (format === undefined && (accept ?? '').includes('text/csv'))) {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="settlement-${period}.csv"`);
      return exportCsv(invoices);
    }
    return { period, invoices };
  }

  /**
   * Credit and debit notes for ERP. `export_state=pending` lists those ERP has not acknowledged yet (the
   * seed's "pending export"), oldest first; ERP books them and acknowledges each one.
   */
  @Get('credit-notes')
  @RequireScopes('settlement:export')
  async creditNotes(@Query('period') period?: string, @Query('export_state') exportState?: string): Promise<{ notes: ExportNote[] }> {
    if (period !== undefined && !PERIOD.test(period)) throw new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail: 'period must be YYYY-MM or YYYY-Qn' });
    if (exportState !== undefined && exportState !== 'pending' && exportState !== 'acknowledged') {
      throw new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail: 'export_state must be pending or acknowledged' });
    }
    const rows = await this.notes.find({
      where: { ...(period === undefined ? {} : { period }), ...(exportState === undefined ? {} : { exportState }) },
      order: { issuedAt: 'ASC', noteId: 'ASC' },
    });
    return { notes: rows.map(exportNote) };
  }

  /**
   * ERP has booked the note: it leaves the pending export. Idempotent (the same reference again answers the
   * first acknowledgement); another reference for a booked note is 409 `already-acknowledged`.
   */
  @Post('credit-notes/:id/acknowledge')
  @HttpCode(200)
  @RequireScopes('settlement:export')
  async acknowledgeNote(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: AcknowledgeNoteExportDto,
  ): Promise<{ note_id: string; export: ExportNote['export']; already_acknowledged: boolean }> {
    const note = await this.notes.findOneBy({ noteId: id });
    if (!note) throw new ProblemException({ type: 'note-not-found', title: 'Credit or debit note not found', status: 404, detail: `No credit or debit note ${id}` });
    const result = await this.commands.send<{ noteId: string; erpReference: string | null; acknowledgedAt: string; alreadyAcknowledged: boolean }>('settlement', 'AcknowledgeNoteExport', {
      noteId: id,
      invoiceId: note.invoiceId,
      erpReference: body.erp_reference ?? null,
    });
    return {
      note_id: result.noteId,
      export: { state: 'acknowledged', acknowledged_at: result.acknowledgedAt, erp_reference: result.erpReference },
      already_acknowledged: result.alreadyAcknowledged,
    };
  }

  /** Starting a run is an operator action (back-office staff), not an ERP one. A later run of a period settles what is not yet invoiced. */
  @Post('runs')
  @HttpCode(202)
  @RequireScopes('staff:write')
  async startRun(@Body() body: StartSettlementRunDto): Promise<{ runId: string; period: string; seq: number; items: number; alreadyStarted: boolean; completed: boolean }> {
    const result = await this.commands.send<{ runId: string; seq?: number; items: number; alreadyStarted: boolean; completed: boolean }>('settlement', 'StartSettlementRun', {
      period: body.period,
      ...(body.runId ? { runId: body.runId } : {}),
    });
    return { runId: result.runId, period: body.period, seq: result.seq ?? 1, items: result.items, alreadyStarted: result.alreadyStarted, completed: result.completed };
  }

  @Get('runs/:runId')
  @RequireScopes('settlement:read')
  async run(@Param('runId', new ParseUUIDPipe()) runId: string): Promise<RunView> {
    const run = await this.runs.findOneBy({ runId });
    if (!run) throw new ProblemException({ type: 'settlement-run-not-found', title: 'Settlement run not found', status: 404, detail: `No settlement run ${runId}` });
    const halted = await this.halts.find({ where: { runId }, order: { gsrn: 'ASC' } });
    return {
      runId: run.runId,
      period: run.period,
      status: run.status,
      items: { total: run.itemsTotal, done: run.itemsDone, invoiced: run.itemsInvoiced, halted: run.itemsHalted },
      halted: halted.map((h) => ({ gsrn: h.gsrn, reason: h.reason, detail: h.detail })),
      startedAt: run.startedAt.toISOString(),
      completedAt: run.completedAt?.toISOString() ?? null,
    };
  }

  @Get(':id/lines')
  @RequireScopes('settlement:read')
  async lines(@Param('id', new ParseUUIDPipe()) id: string): Promise<{ kind: 'invoice' | 'run'; id: string; invoices: { invoice_id: string; gsrn: string; customer_id: string; lines: ExportLine[] }[] }> {
    const invoice = await this.invoices.findOneBy({ invoiceId: id });
    const of = (i: SettlementInvoiceReadModel) => ({ invoice_id: i.invoiceId, gsrn: i.gsrn, customer_id: i.customerId, lines: i.lines.map(exportLine) });
    if (invoice) return { kind: 'invoice', id, invoices: [of(invoice)] };
    if (await this.runs.existsBy({ runId: id })) {
      const rows = await this.invoices.find({ where: { runId: id }, order: { gsrn: 'ASC' } });
      return { kind: 'run', id, invoices: rows.map(of) };
    }
    throw new ProblemException({ type: 'settlement-not-found', title: 'Neither an invoice nor a settlement run', status: 404, detail: `No invoice or settlement run ${id}` });
  }
}
