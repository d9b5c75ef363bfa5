export { startPbsSimulator, type PbsSimulatorOptions, type PbsSimulatorControl, type RunningPbsSimulator, type ReceivedDelivery } from './lib/simulator';
export { InMemorySftpServer } from './lib/sftp-server';
