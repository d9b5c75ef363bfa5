import { compareLocalDates, type LocalDate } from '@dh/dk-time';
import {
  BetalingsserviceFormatError,
  readCollectionDelivery,
  writeAgreementInformation,
  writePaymentInformation,
  type AgreementInformation,
  type Collection,
  type PaymentInformation,
  type PaymentOutcome,
} from '@dh/betalingsservice';
import { InMemorySftpServer } from './sftp-server';

export interface PbsSimulatorOptions {
  port?: number;
  username?: string;
  password?: string;
  /** The creditor as Betalingsservice knows it (printed in the information deliveries). */
  creditor?: { dataSupplierNumber: string; pbsNumber: string; debtorGroup: string };
}

export interface ReceivedDelivery {
  path: string;
  deliveryId: string;
  collections: Collection[];
}

export interface PbsSimulatorControl {
  /** A debtor registers an agreement through their bank: the next 0603 reports it (0231). */
  registerAgreement(a: { customerNumber: string; agreementNumber: string; startDate: LocalDate }): void;
  /** The debtor's bank cancels an agreement (0232). */
  cancelAgreement(a: { customerNumber: string; agreementNumber: string; startDate: LocalDate; endDate: LocalDate }): void;
  /** The next collection of this customer number gets this outcome instead of being paid. */
  failNextCollection(customerNumber: string, outcome: Exclude<PaymentOutcome, 'completed' | 'charged-back'>): void;
  /** Writes /out/0603-<n>.txt with the agreement changes since the last one (none: no file). */
  publishAgreementInformation(createdOn: LocalDate): string | null;
  /** Collects every received collection due on or before `day` and writes /out/0602-<n>.txt with the outcomes. */
  collectDue(day: LocalDate): string | null;
  /**
   * The debtor's bank takes a completed collection back (0602 transaction code 0239, booked on `day`): writes
   * /out/0602-<n>.txt with the charge-back of the collection with this 0601 reference.
   */
  chargeBack(reference: string, day: LocalDate): string;
  /** Places any file in /out (tests: a broken or repeated delivery). */
  putFile(name: string, data: Buffer): void;
  deliveries(): ReceivedDelivery[];
  /** Uploads Betalingsservice refused, with the reason (a delivery that does not parse, a repeated delivery id). */
  refusedUploads(): { path: string; reason: string }[];
  outcomes(): PaymentInformation[];
}

export interface RunningPbsSimulator {
  host: string;
  port: number;
  username: string;
  password: string;
  control: PbsSimulatorControl;
  stop(): Promise<void>;
}

/**
 * Betalingsservice as a data supplier meets it: an SFTP server where we put 0601 collection deliveries in `/in`
 * and fetch 0602 payment and 0603 agreement information from `/out`. Deliveries are read with the same checks as
 * ours (`@dh/betalingsservice`); a delivery id seen before is refused, as Betalingsservice refuses a repeated
 * delivery. Outcomes are driven by `control` (the tests and the demo decide who pays).
 */
export async function startPbsSimulator(options: PbsSimulatorOptions = {}): Promise<RunningPbsSimulator> {
  const creditor = options.creditor ?? { dataSupplierNumber: '12345678', pbsNumber: '03985644', debtorGroup: '00001' };
  const username = options.username ?? 'creditor';
  const password = options.password ?? 'sftp-secret';
  const received: ReceivedDelivery[] = [];
  const refused: { path: string; reason: string }[] = [];
  const answered = new Set<string>();
  const failures = new Map<string, Exclude<PaymentOutcome, 'completed' | 'charged-back'>>();
  const pendingChanges: Omit<AgreementInformation, 'transactionCode' | 'debtorGroup'>[] = [];
  const allOutcomes: PaymentInformation[] = [];
  let fileNo = 0;
  let pending: Promise<void> = Promise.resolve();

  const server = new InMemorySftpServer({ username, password }, (path, data) => {
    pending = pending.then(async () => {
      try {
        const collections: Collection[] = [];
        let deliveryId = '';
        for await (const item of readCollectionDelivery(data.toString('latin1').split('\n'))) {
          if (item.kind === 'header') deliveryId = item.header.deliveryId;
          else if (item.record.kind === 'collection') collections.push(item.record);
        }
        if (received.some((d) => d.deliveryId === deliveryId)) refused.push({ path, reason: `delivery id ${deliveryId} was received before` });
        else received.push({ path, deliveryId, collections });
      } catch (error) {
        refused.push({ path, reason: error instanceof BetalingsserviceFormatError ? error.message : String(error) });
      }
    });
  });
  const port = await server.listen(options.port ?? 0);

  // ISO-8859-1, CR LF after each record, as the deliveries we send.
  const write = (name: string, lines: Iterable<string>): string => {
    const path = `/out/${name}`;
    server.files.set(path, { data: Buffer.from(`${[...lines].join('\r\n')}\r\n`, 'latin1'), mtime: Math.floor(Date.now() / 1000) });
    return path;
  };

  const control: PbsSimulatorControl = {
    registerAgreement: (a) => void pendingChanges.push({ change: 'registered', customerNumber: a.customerNumber, agreementNumber: a.agreementNumber, startDate: a.startDate, endDate: null }),
    cancelAgreement: (a) => void pendingChanges.push({ change: 'cancelled-by-bank', customerNumber: a.customerNumber, agreementNumber: a.agreementNumber, startDate: a.startDate, endDate: a.endDate }),
    failNextCollection: (customerNumber, outcome) => void failures.set(customerNumber.replace(/^0+(?=\d)/, ''), outcome),
    publishAgreementInformation(createdOn) {
      if (pendingChanges.length === 0) return null;
      const changes = pendingChanges.splice(0);
      const id = String(++fileNo);
      return write(`0603-${id.padStart(6, '0')}.txt`, writeAgreementInformation({ ...creditor, deliveryId: id, createdOn }, changes));
    },
    collectDue(day) {
      const outcomes: Omit<PaymentInformation, 'transactionCode'>[] = [];
      for (const d of received) {
        for (const c of d.collections) {
          const key = `${d.deliveryId}/${c.reference}`;
          if (answered.has(key) || compareLocalDates(c.dueDate, day) > 0) continue;
          answered.add(key);
          const failure = failures.get(c.customerNumber);
          if (failure !== undefined) failures.delete(c.customerNumber);
          outcomes.push({
            outcome: failure ?? 'completed',
            customerNumber: c.customerNumber,
            agreementNumber: c.agreementNumber,
            dueDate: c.dueDate,
            amount: c.amount,
            reference: c.reference,
            paymentDate: failure ? null : c.dueDate,
            bookingDate: failure ? null : c.dueDate,
            paidAmount: failure ? '0.00' : c.amount,
          });
        }
      }
      if (outcomes.length === 0) return null;
      allOutcomes.push(...outcomes.map((o) => ({ ...o, transactionCode: '' })));
      const id = String(++fileNo);
      return write(`0602-${id.padStart(6, '0')}.txt`, writePaymentInformation({ ...creditor, deliveryId: id, createdOn: day }, outcomes));
    },
    chargeBack(reference, day) {
      const paid = allOutcomes.find((o) => o.reference === reference && o.outcome === 'completed');
      if (paid === undefined) throw new Error(`no completed collection with reference ${reference} to charge back`);
      const { transactionCode: _code, ...rest } = paid;
      const back = { ...rest, outcome: 'charged-back' as const, bookingDate: day };
      allOutcomes.push({ ...back, transactionCode: '' });
      const id = String(++fileNo);
      return write(`0602-${id.padStart(6, '0')}.txt`, writePaymentInformation({ ...creditor, deliveryId: id, createdOn: day }, [back]));
    },
    putFile: (name, data) => void server.files.set(`/out/${name}`, { data, mtime: Math.floor(Date.now() / 1000) }),
    deliveries: () => [...received],
    refusedUploads: () => [...refused],
    outcomes: () => [...allOutcomes],
  };
  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    control,
    async stop() {
      await pending;
      await server.close();
    },
  };
}
