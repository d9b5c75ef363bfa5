export { DisputeDeskController, DISPUTE_DESK } from './dispute-desk.controller';
export { AuditLogController } from './audit-log.controller';
export { DisputeDeskModule } from './dispute-desk.module';
