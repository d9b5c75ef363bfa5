import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';

/**
 * The lag benchmark's child processes (BENCH_LAG_TOPOLOGY=processes, the default): the appenders, the relay and
 * the consumer each in a process of their own (the benchmark's process only collects the times), as in the services (appends
 * come from the services, the relay runs in its service, projections in the projections process). Messages
 * over the IPC channel of `fork`. Every time is `process.hrtime.bigint()` as a decimal string: on Linux that is
 * CLOCK_MONOTONIC, one clock for all processes of the machine, so times taken in a child and in the parent
 * are subtracted directly.
 */

export interface LagAppendersInput {
  kind: 'appenders';
  databaseUrl: string;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  appenders: number;
}

export interface LagRelayInput {
  kind: 'relay';
  databaseUrl: string;
  amqpUrl: string;
  noDelay: boolean;
}

export interface LagConsumerInput {
  kind: 'consumer';
  databaseUrl: string;
  amqpUrl: string;
  noDelay: boolean;
}

export type LagParentMessage = LagAppendersInput | LagRelayInput | LagConsumerInput | { kind: 'measureStart' } | { kind: 'measureEnd' } | { kind: 'stop' };

/**
 * One measured event the consumer process applied: its id, sent, handler and COMMIT-returned times (hrtime), and on
 * the wall clock (ms) its `recordedAt`, its `sentAtMs` and the moment the consumer learnt of the COMMIT.
 */
export type AppliedItem = [eventId: string, sentNs: string, handlerNs: string, committedNs: string, recordedAtMs: number, sentAtMs: number | null, committedWallMs: number];

/**
 * A process's event-loop delay (ms), CPU time (user + system, % of one core) and garbage-collector pauses over a
 * period. The delay is how late the monitor's timer fired, beyond its interval: `monitorEventLoopDelay` records the
 * whole time between two firings, so an idle loop reads as the interval itself (10 ms), not 0.
 */
export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
  cpuPercent: number;
  /** Garbage collections (all kinds) in the period, their summed and their longest pause, ms; of them full (mark-compact) ones. */
  gcCount: number;
  gcMs: number;
  gcMaxMs: number;
  gcMajorCount: number;
  gcMajorMaxMs: number;
}

export const NO_LOOP_FIGURES: EventLoopDelay = { p50: Number.NaN, p99: Number.NaN, max: Number.NaN, cpuPercent: Number.NaN, gcCount: Number.NaN, gcMs: Number.NaN, gcMaxMs: Number.NaN, gcMajorCount: Number.NaN, gcMajorMaxMs: Number.NaN };

/** The monitor's timer interval, ms. */
export const LOOP_MONITOR_RESOLUTION_MS = 10;

/** Delay figures (ms) of a `monitorEventLoopDelay` histogram: each recorded interval less the timer's own `resolutionMs`. */
export function loopDelayFigures(histogram: Pick<IntervalHistogram, 'percentile' | 'max'>, resolutionMs: number): { p50: number; p99: number; max: number } {
  const beyond = (ns: number): number => Math.max(0, ns / 1e6 - resolutionMs);
  return { p50: beyond(histogram.percentile(50)), p99: beyond(histogram.percentile(99)), max: beyond(histogram.max) };
}

/** Measures this process's event-loop delay, CPU time and GC pauses from `start` to `stop`. */
export function processMonitor(): { start(): void; stop(): EventLoopDelay } {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
  let cpu = process.cpuUsage();
  let at = process.hrtime.bigint();
  const gc = { count: 0, ms: 0, maxMs: 0, majorCount: 0, majorMaxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.ms += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      const detail: unknown = (entry as PerformanceEntry & { detail?: unknown }).detail;
      if (typeof detail === 'object' && detail !== null && 'kind' in detail && detail.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.majorCount++;
        gc.majorMaxMs = Math.max(gc.majorMaxMs, entry.duration);
      }
    }
  });
  return {
    start() {
      histogram.enable();
      Object.assign(gc, { count: 0, ms: 0, maxMs: 0, majorCount: 0, majorMaxMs: 0 });
      observer.observe({ entryTypes: ['gc'] });
      cpu = process.cpuUsage();
      at = process.hrtime.bigint();
    },
    stop() {
      histogram.disable();
      observer.disconnect();
      const used = process.cpuUsage(cpu);
      const wallUs = Number(process.hrtime.bigint() - at) / 1e3;
      return { ...loopDelayFigures(histogram, LOOP_MONITOR_RESOLUTION_MS), cpuPercent: ((used.user + used.system) / wallUs) * 100, gcCount: gc.count, gcMs: gc.ms, gcMaxMs: gc.maxMs, gcMajorCount: gc.majorCount, gcMajorMaxMs: gc.majorMaxMs };
    },
  };
}

export type LagChildMessage =
  | { kind: 'measureStart'; atNs: string }
  | { kind: 'appended'; items: [eventId: string, sentNs: string, appendedNs: string][] }
  | { kind: 'done'; sent: number; ms: number; eventLoop: EventLoopDelay }
  | { kind: 'relayRunning' }
  | { kind: 'read'; items: [eventId: string, readNs: string][] }
  | { kind: 'relayMeasured'; eventLoop: EventLoopDelay }
  | { kind: 'relayStopped'; eventLoop: EventLoopDelay }
  | { kind: 'consumerRunning' }
  | { kind: 'applied'; items: AppliedItem[] }
  | { kind: 'consumerMeasured'; eventLoop: EventLoopDelay }
  | { kind: 'consumerStopped'; halted: string | null }
  | { kind: 'failed'; message: string };

/** In a child: sends to the parent (ignored when the channel is gone). */
export function childSend(message: LagChildMessage): void {
  if (process.connected) process.send?.(message);
}

function isParentMessage(value: unknown): value is LagParentMessage {
  return typeof value === 'object' && value !== null && 'kind' in value && typeof value.kind === 'string';
}

/** In a child: calls `handler` with every message from the parent. */
export function onParentMessage(handler: (message: LagParentMessage) => void): void {
  process.on('message', (value: unknown) => {
    if (isParentMessage(value)) handler(value);
  });
}

export interface LagChild {
  process: ChildProcess;
  send(message: LagParentMessage): void;
  /** Resolves when the child exited (with its code), whatever the reason. */
  exited: Promise<number | null>;
}

/** Forks `<name>.js` of this directory with this process's `-r ./register-paths.js`, and sends it `input`. */
export function forkLagChild(name: string, input: LagParentMessage, onMessage: (message: LagChildMessage) => void): LagChild {
  const child = fork(join(__dirname, `${name}.js`), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (value: unknown) => onMessage(value as LagChildMessage));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const send = (message: LagParentMessage): void => {
    if (child.connected) child.send(message);
  };
  send(input);
  return { process: child, send, exited };
}
