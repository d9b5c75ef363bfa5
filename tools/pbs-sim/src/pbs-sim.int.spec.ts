import SftpClient from 'ssh2-sftp-client';
import { readAgreementInformation, readPaymentInformation, toDeliveryBytes, writeCollectionDelivery, type Creditor } from '@dh/betalingsservice';
import { startPbsSimulator, type RunningPbsSimulator } from './index';

const creditor: Creditor = { dataSupplierNumber: '12345678', pbsNumber: '03985644', debtorGroup: '00001', registrationNumber: '1234', accountNumber: '1234567', dataSupplierIdentification: 'EL', headline: 'Elregning' };

async function bytesOf(lines: AsyncIterable<string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of toDeliveryBytes(lines)) chunks.push(c);
  return Buffer.concat(chunks);
}

async function records<T>(items: AsyncIterable<{ kind: string; record?: T }>): Promise<T[]> {
  const out: T[] = [];
  for await (const i of items) if (i.kind === 'record') out.push(i.record as T);
  return out;
}

describe('Betalingsservice simulator over SFTP (ssh2 server, ssh2-sftp-client)', () => {
  let sim: RunningPbsSimulator;
  const sftp = new SftpClient();

  beforeAll(async () => {
    sim = await startPbsSimulator();
    await sftp.connect({ host: sim.host, port: sim.port, username: sim.username, password: sim.password });
  });
  afterAll(async () => {
    await sftp.end();
    await sim.stop();
  });

  it('refuses a wrong password', async () => {
    const other = new SftpClient();
    await expect(other.connect({ host: sim.host, port: sim.port, username: sim.username, password: 'wrong', retries: 0 })).rejects.toThrow(/authentication|All configured authentication methods failed/i);
  });

  it('takes a 0601 delivery put in /in (temporary name, then renamed), and answers with 0603 and 0602 in /out', async () => {
    sim.control.registerAgreement({ customerNumber: '555', agreementNumber: '900001', startDate: '2026-11-01' });
    expect(sim.control.publishAgreementInformation('2026-11-02')).toBe('/out/0603-000001.txt');
    const agreements = await records(readAgreementInformation((await sftp.get('/out/0603-000001.txt') as Buffer).toString('latin1').split('\n')));
    expect(agreements).toEqual([expect.objectContaining({ change: 'registered', customerNumber: '555', agreementNumber: '900001', startDate: '2026-11-01' })]);

    const delivery = await bytesOf(writeCollectionDelivery(creditor, { deliveryId: '7', createdOn: '2026-11-20' }, [
      { customerNumber: '555', agreementNumber: '900001', dueDate: '2026-12-01', amount: '1473.94', reference: '1' },
      { customerNumber: '556', agreementNumber: '900002', dueDate: '2026-12-01', amount: '99.50', reference: '2' },
    ]));
    await sftp.put(delivery, '/in/0601-7.part');
    await sftp.rename('/in/0601-7.part', '/in/0601-7.txt');
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.control.deliveries()).toEqual([expect.objectContaining({ deliveryId: '0000000007', collections: [expect.objectContaining({ reference: '1', amount: '1473.94' }), expect.objectContaining({ reference: '2' })] })]);
    // The same delivery id again is refused, as Betalingsservice refuses a repeated delivery.
    await sftp.put(delivery, '/in/0601-7b.part');
    await sftp.rename('/in/0601-7b.part', '/in/0601-7b.txt');
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.control.refusedUploads()).toEqual([{ path: '/in/0601-7b.txt', reason: 'delivery id 0000000007 was received before' }]);

    sim.control.failNextCollection('556', 'rejected');
    expect(sim.control.collectDue('2026-11-30')).toBeNull();
    const path = sim.control.collectDue('2026-12-01')!;
    expect((await sftp.list('/out')).map((f) => f.name).sort()).toEqual(['0602-000002.txt', '0603-000001.txt']);
    const outcomes = await records(readPaymentInformation((await sftp.get(path) as Buffer).toString('latin1').split('\n')));
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'completed', reference: '1', paidAmount: '1473.94', paymentDate: '2026-12-01' }),
      expect.objectContaining({ outcome: 'rejected', reference: '2', paidAmount: '0.00', paymentDate: null }),
    ]);
    expect(sim.control.collectDue('2026-12-02')).toBeNull();
  });
});
