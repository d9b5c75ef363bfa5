import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const GRID_AREA = /^\d{3}$/;
const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Body of POST /api/reconciliation/findings/{id}/state. */
export class ChangeFindingStateDto {
  @IsIn(['explain', 'resolve', 'reopen'])
  action!: 'explain' | 'resolve' | 'reopen';

  /** Why: kept in the finding's audit trail with who and when. An explanation needs one. */
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;
}

/** Body of POST /api/reconciliation/requests: ask DataHub for results (RSM-016 energy, RSM-017 wholesale). */
export class RequestDataHubResultsDto {
  @IsIn(['energy', 'wholesale'])
  kind!: 'energy' | 'wholesale';

  @Matches(GRID_AREA, { message: 'grid_area must be a 3-digit grid area' })
  grid_area!: string;

  @Matches(PERIOD, { message: 'period must be a month YYYY-MM' })
  period!: string;

  /** D04 balance fixing (energy default), D05 wholesale fixing (wholesale default), D32 correction settlement. */
  @IsOptional()
  @IsIn(['D03', 'D04', 'D05', 'D32'])
  business_reason?: string;

  /** D01–D03 with D32. */
  @IsOptional()
  @IsIn(['D01', 'D02', 'D03'])
  settlement_version?: string;
}

/** Body of POST /api/reconciliation/runs. */
export class RunReconciliationDto {
  @Matches(GRID_AREA, { message: 'grid_area must be a 3-digit grid area' })
  grid_area!: string;

  @Matches(PERIOD, { message: 'period must be a month YYYY-MM' })
  period!: string;
}

export const isGridArea = (v: string | undefined): v is string => v !== undefined && GRID_AREA.test(v);
export const isPeriod = (v: string | undefined): v is string => v !== undefined && PERIOD.test(v);
