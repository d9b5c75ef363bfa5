import { DEFAULT_LEAD_TIME_RULES } from '../lead-time/lead-time-rules';
import { at, GSRN, onDay, refusal, specFor } from '../testing/decider-spec';
import { PROCESS_KIND_INFO, type ProcessKind, type ProcessStatus } from './process-kind';
import type { ProcessCommand, ProcessStartCommand } from './process.commands';
import { createProcessDecider, processDecider, processStreamId } from './process.decide';
import type { ProcessEvent, ProcessStartedEvent, ProcessStatusChanged } from './process.events';

const given = specFor(processDecider);
const P = 'p-1';
const CUSTOMER = 'c-1';

const START_EVENT: Record<ProcessKind, ProcessStartedEvent['type']> = {
  'change-of-supplier': 'ChangeOfSupplierRequested',
  'move-in': 'MoveInRequested',
  'move-out': 'MoveOutRequested',
  'end-of-supply': 'EndOfSupplyRequested',
  'incorrect-switch': 'IncorrectSwitchRequested',
  'forced-switch': 'ForcedSwitchReceived',
};
const START_COMMAND: Record<ProcessKind, ProcessStartCommand['type']> = {
  'change-of-supplier': 'RequestChangeOfSupplier',
  'move-in': 'RequestMoveIn',
  'move-out': 'RequestMoveOut',
  'end-of-supply': 'RequestEndOfSupply',
  'incorrect-switch': 'RequestIncorrectSwitch',
  'forced-switch': 'ReceiveForcedSwitch',
};
const EXTRA: Record<ProcessKind, Record<string, string>> = {
  'change-of-supplier': {},
  'move-in': {},
  'move-out': {},
  'end-of-supply': { endReason: 'non-payment' },
  'incorrect-switch': { reversedProcessId: 'p-0' },
  'forced-switch': { dataHubMessageId: 'dh-44' },
};

// Commands
const request = (kind: ProcessKind, effectiveDate: string, today: string): ProcessCommand =>
  ({ type: START_COMMAND[kind], data: { processId: P, gsrn: GSRN, customerId: CUSTOMER, effectiveDate, now: onDay(today), ...EXTRA[kind] } }) as ProcessCommand;
const markSent = (today: string): ProcessCommand => ({ type: 'MarkRequestSent', data: { processId: P, messageId: 'msg-1', now: onDay(today) } });
const accept = (today: string, dataHubMessageId = 'dh-1'): ProcessCommand => ({ type: 'RecordDataHubAcceptance', data: { processId: P, dataHubMessageId, now: onDay(today) } });
const reject = (today: string): ProcessCommand => ({
  type: 'RecordDataHubRejection',
  data: { processId: P, dataHubMessageId: 'dh-2', reasonCode: 'E16', reasonText: 'Unauthorised supplier', now: onDay(today) },
});
const cancel = (today: string, reason: 'customer-withdrew' | 'customer-paid' = 'customer-withdrew'): ProcessCommand => ({
  type: 'CancelProcess',
  data: { processId: P, reason, now: onDay(today) },
});
const confirmEffective = (today: string): ProcessCommand => ({ type: 'ConfirmEffective', data: { processId: P, now: onDay(today) } });
const complete = (today: string): ProcessCommand => ({ type: 'CompleteProcess', data: { processId: P, now: onDay(today) } });
const reverse = (today: string): ProcessCommand => ({ type: 'ReverseSwitch', data: { processId: P, incorrectSwitchProcessId: 'p-3', now: onDay(today) } });

// Events
const status = (kind: ProcessKind, from: ProcessStatus | null, to: ProcessStatus, day: string, reason?: string): ProcessStatusChanged => ({
  type: 'ProcessStatusChanged',
  data: { processId: P, kind, from, to, ...(reason !== undefined ? { reason } : {}), at: at(day) },
});
const started = (kind: ProcessKind, effectiveDate: string, day: string): ProcessEvent[] => [
  {
    type: START_EVENT[kind],
    data: { processId: P, gsrn: GSRN, customerId: CUSTOMER, effectiveDate, businessReason: PROCESS_KIND_INFO[kind].businessReason, at: at(day), ...EXTRA[kind] },
  } as ProcessStartedEvent,
  status(kind, null, kind === 'forced-switch' ? 'pending' : 'created', day),
];
const sent = (kind: ProcessKind, day: string): ProcessEvent[] => [
  { type: 'ProcessRequestSent', data: { processId: P, messageId: 'msg-1', at: at(day) } },
  status(kind, 'created', 'requested', day),
];
const accepted = (kind: ProcessKind, day: string): ProcessEvent[] => [
  { type: 'ProcessAccepted', data: { processId: P, dataHubMessageId: 'dh-1', at: at(day) } },
  status(kind, 'requested', 'pending', day),
];
const effective = (kind: ProcessKind, effectiveDate: string): ProcessEvent[] => [
  {
    type: PROCESS_KIND_INFO[kind].startsSupply ? 'SupplyEffective' : 'SupplyEndEffective',
    data: { processId: P, kind, gsrn: GSRN, customerId: CUSTOMER, effectiveDate, at: at(effectiveDate) },
  },
  status(kind, 'pending', 'active', effectiveDate),
];
/** A case we asked for, accepted by DataHub, waiting for `effectiveDate`. */
const pending = (kind: ProcessKind, effectiveDate: string, requestedOn: string): ProcessEvent[] => [
  ...started(kind, effectiveDate, requestedOn),
  ...sent(kind, requestedOn),
  ...accepted(kind, requestedOn),
];
const active = (kind: ProcessKind, effectiveDate: string, requestedOn: string): ProcessEvent[] => [
  ...pending(kind, effectiveDate, requestedOn),
  ...effective(kind, effectiveDate),
];

describe('DataHub process decider', () => {
  it('names its stream after the process', () => {
    expect(processStreamId('p-1')).toBe('process-p-1');
  });

  describe('BRS-001 change of supplier', () => {
    const kind = 'change-of-supplier';

    it('is created for the next day with business reason E03', () => {
      expect(given([]).when(request(kind, '2026-05-02', '2026-05-01'))).toEqual(started(kind, '2026-05-02', '2026-05-01'));
    });

    it('refuses an effective date today: next-day switching is the shortest lead time', () => {
      expect(refusal(() => given([]).when(request(kind, '2026-05-01', '2026-05-01')))).toMatchObject({
        code: 'lead-time',
        message: 'change of supplier for 2026-05-01 must be reported on or before 2026-04-30; today is 2026-05-01',
      });
    });

    it('takes the lead time from configuration (the obsolete 15 days, if a rule ever brings it back)', () => {
      const strict = createProcessDecider({ ...DEFAULT_LEAD_TIME_RULES, changeOfSupplier: { minDaysAhead: 15, maxDaysAhead: null } });
      expect(refusal(() => strict.decide(request(kind, '2026-05-11', '2026-05-01'), strict.initialState)).code).toBe('lead-time');
      expect(strict.decide(request(kind, '2026-05-16', '2026-05-01'), strict.initialState)).toHaveLength(2);
    });

    it('becomes requested when the RSM-001 has been sent', () => {
      expect(given(started(kind, '2026-05-02', '2026-05-01')).when(markSent('2026-05-01'))).toEqual(sent(kind, '2026-05-01'));
    });

    it('becomes pending when DataHub accepts', () => {
      const history = [...started(kind, '2026-05-10', '2026-05-01'), ...sent(kind, '2026-05-01')];
      expect(given(history).when(accept('2026-05-01'))).toEqual(accepted(kind, '2026-05-01'));
    });

    it('records the same DataHub acceptance twice only once', () => {
      const history = pending(kind, '2026-05-10', '2026-05-01');
      expect(given(history).when(accept('2026-05-01'))).toEqual([]);
      expect(given([...history, ...effective(kind, '2026-05-10')]).when(accept('2026-05-11'))).toEqual([]);
    });

    it('refuses an acceptance before the request was sent', () => {
      expect(refusal(() => given(started(kind, '2026-05-10', '2026-05-01')).when(accept('2026-05-01')))).toMatchObject({
        code: 'illegal-transition',
        message: 'process p-1 (change-of-supplier, BRS-001) is created; RecordDataHubAcceptance is not allowed: the request was not sent yet',
      });
    });

    it('becomes active on the effective date with SupplyEffective', () => {
      expect(given(pending(kind, '2026-05-10', '2026-05-01')).when(confirmEffective('2026-05-10'))).toEqual(effective(kind, '2026-05-10'));
    });

    it('does not become active before the effective date', () => {
      expect(refusal(() => given(pending(kind, '2026-05-10', '2026-05-01')).when(confirmEffective('2026-05-09')))).toMatchObject({
        code: 'illegal-transition',
        message: expect.stringContaining('it takes effect on 2026-05-10; today is 2026-05-09'),
      });
    });

    it('is rejected with DataHub reason code and text', () => {
      const history = [...started(kind, '2026-05-10', '2026-05-01'), ...sent(kind, '2026-05-01')];
      expect(given(history).when(reject('2026-05-02'))).toEqual([
        { type: 'ProcessRejected', data: { processId: P, dataHubMessageId: 'dh-2', reasonCode: 'E16', reasonText: 'Unauthorised supplier', at: at('2026-05-02') } },
        status(kind, 'requested', 'rejected', '2026-05-02', 'E16: Unauthorised supplier'),
      ]);
    });

    it('records a repeated rejection once and refuses an acceptance after it', () => {
      const history = [...started(kind, '2026-05-10', '2026-05-01'), ...sent(kind, '2026-05-01'), ...given([...started(kind, '2026-05-10', '2026-05-01'), ...sent(kind, '2026-05-01')]).when(reject('2026-05-02'))];
      expect(given(history).when(reject('2026-05-02'))).toEqual([]);
      expect(refusal(() => given(history).when(accept('2026-05-03')))).toMatchObject({
        code: 'illegal-transition',
        message: 'process p-1 (change-of-supplier, BRS-001) is rejected; RecordDataHubAcceptance is not allowed',
      });
    });

    it('is cancelled with RSM-002 the day before the effective date', () => {
      expect(given(pending(kind, '2026-05-10', '2026-05-01')).when(cancel('2026-05-09'))).toEqual([
        { type: 'ProcessCancelled', data: { processId: P, reason: 'customer-withdrew', notifyDataHub: true, at: at('2026-05-09') } },
        status(kind, 'pending', 'cancelled', '2026-05-09', 'customer-withdrew'),
      ]);
    });

    it('is cancelled without notifying DataHub when the request was never sent', () => {
      expect(given(started(kind, '2026-05-10', '2026-05-01')).when(cancel('2026-05-02'))[0]).toEqual({
        type: 'ProcessCancelled',
        data: { processId: P, reason: 'customer-withdrew', notifyDataHub: false, at: at('2026-05-02') },
      });
    });

    it('refuses cancellation from the effective date on and points to BRS-003', () => {
      const onTheDay = refusal(() => given(pending(kind, '2026-05-10', '2026-05-01')).when(cancel('2026-05-10')));
      expect(onTheDay.code).toBe('illegal-transition');
      expect(onTheDay.message).toContain('incorrect switch (BRS-003)');
      const afterwards = refusal(() => given(active(kind, '2026-05-10', '2026-05-01')).when(cancel('2026-05-12')));
      expect(afterwards.message).toBe(
        'process p-1 (change-of-supplier, BRS-001) is active; CancelProcess is not allowed: after the effective date a switch can only be undone as an incorrect switch (BRS-003)',
      );
    });

    it('treats a repeated cancellation as done', () => {
      const history = [...pending(kind, '2026-05-10', '2026-05-01'), ...given(pending(kind, '2026-05-10', '2026-05-01')).when(cancel('2026-05-09'))];
      expect(given(history).when(cancel('2026-05-09'))).toEqual([]);
    });

    it('never completes: the supply lasts until another process ends it', () => {
      expect(refusal(() => given(active(kind, '2026-05-10', '2026-05-01')).when(complete('2026-06-01'))).code).toBe('illegal-transition');
    });

    it('treats a repeated request as a retry and a different one under the same id as a conflict', () => {
      const history = started(kind, '2026-05-10', '2026-05-01');
      expect(given(history).when(request(kind, '2026-05-10', '2026-05-01'))).toEqual([]);
      expect(refusal(() => given(history).when(request(kind, '2026-05-11', '2026-05-01'))).code).toBe('process-exists');
    });

    it('refuses commands for a process that was never started', () => {
      expect(refusal(() => given([]).when(accept('2026-05-01')))).toMatchObject({ code: 'unknown-process', message: expect.stringContaining('p-1') });
    });
  });

  describe('BRS-003 reversal of a switch', () => {
    const kind = 'change-of-supplier';

    it('reverses the active switch up to 180 days after its effective date', () => {
      expect(given(active(kind, '2026-01-05', '2026-01-02')).when(reverse('2026-07-04'))).toEqual([
        { type: 'ProcessReversed', data: { processId: P, incorrectSwitchProcessId: 'p-3', at: at('2026-07-04') } },
        status(kind, 'active', 'reversed', '2026-07-04', 'BRS-003 p-3'),
      ]);
    });

    it('refuses the reversal 181 days after the effective date', () => {
      expect(refusal(() => given(active(kind, '2026-01-05', '2026-01-02')).when(reverse('2026-07-05')))).toMatchObject({
        code: 'lead-time',
        message: 'incorrect switch for 2026-01-05 must be reported between 2026-01-05 and 2026-07-04; today is 2026-07-05',
      });
    });

    it('refuses a reversal before the effective date: that is a cancellation', () => {
      expect(refusal(() => given(pending(kind, '2026-05-10', '2026-05-01')).when(reverse('2026-05-05'))).message).toContain('RSM-002');
    });

    it('records a repeated reversal once', () => {
      const history = [...active(kind, '2026-01-05', '2026-01-02'), ...given(active(kind, '2026-01-05', '2026-01-02')).when(reverse('2026-02-01'))];
      expect(given(history).when(reverse('2026-02-02'))).toEqual([]);
    });

    it('reverses a received forced switch too, but never an end of supply', () => {
      const forced = [...started('forced-switch', '2026-03-01', '2026-02-27'), ...effective('forced-switch', '2026-03-01')];
      expect(given(forced).when(reverse('2026-03-10'))[0]?.type).toBe('ProcessReversed');
      expect(refusal(() => given(active('end-of-supply', '2026-03-01', '2026-01-15')).when(reverse('2026-03-10'))).code).toBe('illegal-transition');
    });

    describe('the BRS-003 case itself', () => {
      const brs003 = 'incorrect-switch';

      it('is requested within 180 days of the switch it undoes, with reason D07', () => {
        expect(given([]).when(request(brs003, '2026-01-05', '2026-07-04'))).toEqual(started(brs003, '2026-01-05', '2026-07-04'));
      });

      it('is refused for a switch older than 180 days', () => {
        expect(refusal(() => given([]).when(request(brs003, '2026-01-05', '2026-07-05'))).code).toBe('lead-time');
      });

      it('runs through acceptance to completed and cannot be cancelled', () => {
        const history = active(brs003, '2026-01-05', '2026-02-01');
        expect(given(history).when(complete('2026-02-03'))).toEqual([
          { type: 'ProcessCompleted', data: { processId: P, at: at('2026-02-03') } },
          status(brs003, 'active', 'completed', '2026-02-03'),
        ]);
        expect(refusal(() => given(pending(brs003, '2026-01-05', '2026-02-01')).when(cancel('2026-02-02'))).code).toBe('illegal-transition');
      });
    });
  });

  describe('BRS-002 end of supply', () => {
    const kind = 'end-of-supply';
    const requestOn = (effectiveDate: string, today: string) => () => given([]).when(request(kind, effectiveDate, today));

    it.each([
      // Christmas 2026: 25 and 26 December are holidays; 24 December is a business day (only banks close).
      ['2026-12-24', '2026-10-25', 'allowed', '60 calendar days before'],
      ['2026-12-24', '2026-10-24', 'refused', '61 calendar days before'],
      ['2026-12-24', '2026-12-21', 'allowed', '3 business days before'],
      ['2026-12-24', '2026-12-22', 'refused', '2 business days before'],
      ['2026-12-28', '2026-12-22', 'allowed', '3 business days before across Christmas'],
      ['2026-12-28', '2026-12-23', 'refused', 'only 24 and 28 December lie between'],
      // Easter 2026: Maundy Thursday 04-02, Good Friday 04-03, Easter Monday 04-06.
      ['2026-04-08', '2026-03-31', 'allowed', '3 business days before across Easter'],
      ['2026-04-08', '2026-04-01', 'refused', '7 calendar days but only 2 business days before'],
      ['2026-04-09', '2026-04-01', 'allowed', 'the last business day 3 business days before'],
      ['2026-04-09', '2026-04-02', 'refused', 'Maundy Thursday is after the deadline'],
      ['2026-04-10', '2026-04-02', 'allowed', 'reported on Maundy Thursday'],
      ['2026-04-10', '2026-04-06', 'allowed', 'reported on Easter Monday'],
      ['2026-04-10', '2026-04-07', 'allowed', 'reported on the deadline'],
      ['2026-04-10', '2026-04-08', 'refused', 'one business day late'],
    ])('for %s reported on %s is %s (%s)', (effectiveDate, today, outcome) => {
      if (outcome === 'allowed') expect(requestOn(effectiveDate, today)()).toEqual(started(kind, effectiveDate, today));
      else expect(refusal(requestOn(effectiveDate, today)).code).toBe('lead-time');
    });

    it('names the window and today when the report is outside it', () => {
      expect(refusal(requestOn('2026-12-24', '2026-12-22')).message).toBe(
        'end of supply for 2026-12-24 must be reported between 2026-10-25 and 2026-12-21; today is 2026-12-22',
      );
    });

    it('is cancelled inside BRS-002 when the customer pays before the date', () => {
      expect(given(pending(kind, '2026-04-10', '2026-04-01')).when(cancel('2026-04-09', 'customer-paid'))).toEqual([
        { type: 'ProcessCancelled', data: { processId: P, reason: 'customer-paid', notifyDataHub: true, at: at('2026-04-09') } },
        status(kind, 'pending', 'cancelled', '2026-04-09', 'customer-paid'),
      ]);
    });

    it('cannot be cancelled once the supply has ended', () => {
      expect(refusal(() => given(active(kind, '2026-04-10', '2026-04-01')).when(cancel('2026-04-11', 'customer-paid'))).message).toContain(
        'the supply has ended',
      );
    });

    it('takes effect with SupplyEndEffective and then completes', () => {
      expect(given(pending(kind, '2026-04-10', '2026-04-01')).when(confirmEffective('2026-04-10'))).toEqual(effective(kind, '2026-04-10'));
      const history = active(kind, '2026-04-10', '2026-04-01');
      expect(given(history).when(complete('2026-04-11'))).toEqual([
        { type: 'ProcessCompleted', data: { processId: P, at: at('2026-04-11') } },
        status(kind, 'active', 'completed', '2026-04-11'),
      ]);
      expect(given([...history, ...given(history).when(complete('2026-04-11'))]).when(complete('2026-04-12'))).toEqual([]);
    });
  });

  describe('BRS-009 move-in and BRS-010 move-out', () => {
    it('accepts a move-in reported 5 business days after the date (across Easter) with reason E65', () => {
      expect(given([]).when(request('move-in', '2026-03-30', '2026-04-09'))).toEqual(started('move-in', '2026-03-30', '2026-04-09'));
    });

    it('refuses a move-in reported 6 business days after the date', () => {
      expect(refusal(() => given([]).when(request('move-in', '2026-03-30', '2026-04-10')))).toMatchObject({
        code: 'lead-time',
        message: 'move-in for 2026-03-30 must be reported on or before 2026-04-09; today is 2026-04-10',
      });
    });

    it('accepts a move-in any time ahead', () => {
      expect(given([]).when(request('move-in', '2027-06-01', '2026-04-10'))).toHaveLength(2);
    });

    it('runs a move-out from request to completed', () => {
      const kind = 'move-out';
      expect(given([]).when(request(kind, '2026-12-22', '2026-12-30'))).toEqual(started(kind, '2026-12-22', '2026-12-30'));
      expect(refusal(() => given([]).when(request(kind, '2026-12-22', '2026-12-31'))).code).toBe('lead-time');
      expect(given(pending(kind, '2026-12-22', '2026-12-15')).when(confirmEffective('2026-12-22'))).toEqual(effective(kind, '2026-12-22'));
      const history = active(kind, '2026-12-22', '2026-12-15');
      expect(given(history).when(complete('2026-12-23'))[1]).toEqual(status(kind, 'active', 'completed', '2026-12-23'));
    });
  });

  describe('BRS-044 forced switch', () => {
    const kind = 'forced-switch';

    it('is received unasked and is pending at once, with reason D31', () => {
      expect(given([]).when(request(kind, '2026-03-01', '2026-03-05'))).toEqual(started(kind, '2026-03-01', '2026-03-05'));
    });

    it('becomes active on its effective date and cannot be sent, accepted again or cancelled by us', () => {
      const history = started(kind, '2026-03-01', '2026-02-27');
      expect(given(history).when(confirmEffective('2026-03-01'))).toEqual(effective(kind, '2026-03-01'));
      expect(refusal(() => given(history).when(markSent('2026-02-27'))).code).toBe('illegal-transition');
      expect(given(history).when(accept('2026-02-27'))).toEqual([]);
      expect(refusal(() => given(history).when(cancel('2026-02-28'))).message).toContain('cannot be withdrawn by us');
    });
  });

  it('chains every status change: each `from` is the previous `to`', () => {
    const decisions: ProcessCommand[] = [
      request('end-of-supply', '2026-04-10', '2026-04-01'),
      markSent('2026-04-01'),
      accept('2026-04-02'),
      confirmEffective('2026-04-10'),
      complete('2026-04-11'),
    ];
    const events = decisions.reduce<ProcessEvent[]>((history, command) => [...history, ...given(history).when(command)], []);
    const changes = events.filter((e): e is ProcessStatusChanged => e.type === 'ProcessStatusChanged').map((e) => [e.data.from, e.data.to]);
    expect(changes).toEqual([
      [null, 'created'],
      ['created', 'requested'],
      ['requested', 'pending'],
      ['pending', 'active'],
      ['active', 'completed'],
    ]);
    expect(given(events).state).toMatchObject({ status: 'completed', kind: 'end-of-supply', effectiveDate: '2026-04-10', requestMessageId: 'msg-1', dataHubMessageId: 'dh-1' });
  });
});
