import type { DomainEvent, EventStore, RecordedEvent } from '@dh/event-store';
import {
  customerDecider,
  customerStreamId,
  meteringPointDecider,
  meteringPointStreamId,
  processDecider,
  processStreamId,
  type CustomerEvent,
  type CustomerState,
  type MeteringPointEvent,
  type MeteringPointState,
  type ProcessEvent,
  type ProcessState,
} from '@dh/portfolio-domain';

interface Folder<State, Event> {
  evolve(state: State, event: Event): State;
  initialState: State;
}

// A stream is written only by its decider, so its stored events have that decider's event shape.
function fold<State, Event extends DomainEvent>(events: RecordedEvent[], decider: Folder<State, Event>): State {
  return events.reduce((state, e) => decider.evolve(state, { type: e.type, data: e.data } as Event), decider.initialState);
}

export async function loadProcess(store: EventStore, processId: string): Promise<{ state: ProcessState; events: RecordedEvent[] }> {
  const events = await store.readStream(processStreamId(processId));
  return { state: fold<ProcessState, ProcessEvent>(events, processDecider), events };
}

export async function loadCustomer(store: EventStore, customerId: string): Promise<{ state: CustomerState; events: RecordedEvent[] }> {
  const events = await store.readStream(customerStreamId(customerId));
  return { state: fold<CustomerState, CustomerEvent>(events, customerDecider), events };
}

export async function loadMeteringPoint(store: EventStore, gsrn: string): Promise<MeteringPointState> {
  return fold<MeteringPointState, MeteringPointEvent>(await store.readStream(meteringPointStreamId(gsrn)), meteringPointDecider);
}
