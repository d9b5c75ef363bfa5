import { IsOptional, IsUUID, Matches } from 'class-validator';

/** Body of POST /api/settlement/runs. */
export class StartSettlementRunDto {
  /** `YYYY-MM` (monthly billing) or `YYYY-Qn` (quarterly billing). */
  @Matches(/^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/, { message: 'period must be YYYY-MM or YYYY-Qn' })
  period!: string;

  @IsOptional()
  @IsUUID()
  runId?: string;
}
