import { IsOptional, IsString, IsUUID, Matches } from 'class-validator';

/** Body of POST /api/settlement/runs. */
export class StartSettlementRunDto {
  /** `YYYY-MM` (monthly billing) or `YYYY-Qn` (quarterly billing). */
  @Matches(/^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/, { message: 'period must be YYYY-MM or YYYY-Qn' })
  period!: string;

  @IsOptional()
  @IsUUID()
  runId?: string;
}

/** Body of POST /api/settlement/credit-notes/{id}/acknowledge. */
export class AcknowledgeNoteExportDto {
  /** ERP's own id of the booked note: printable ASCII, 1-100 characters. */
  @IsOptional()
  @IsString()
  @Matches(/^[\x21-\x7e](?:[\x20-\x7e]{0,98}[\x21-\x7e])?$/, { message: 'erp_reference must be 1-100 printable ASCII characters' })
  erp_reference?: string;
}
