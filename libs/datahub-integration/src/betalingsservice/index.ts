export { startBetalingsserviceWorker, migrateBetalingsservice, BETALINGSSERVICE_SCHEMA, COLLECTIONS_QUEUE, type BetalingsserviceWorker, type BetalingsserviceWorkerOptions, type InboundResult } from './betalingsservice-worker';
export { BetalingsserviceSftp, parseSftpUrl, type SftpSettings } from './sftp-transport';
