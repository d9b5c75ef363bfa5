import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The lag benchmark's child processes (BENCH_LAG_TOPOLOGY=processes, the default): the appenders and the
 * relay each in a process of their own, the consumer in the benchmark's process, as in the services (appends
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

export type LagParentMessage = LagAppendersInput | LagRelayInput | { kind: 'stop' };

/** A process's event-loop delay (ms) and CPU time (user + system, % of one core) over a period. */
export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
  cpuPercent: number;
}

export const NO_LOOP_FIGURES: EventLoopDelay = { p50: Number.NaN, p99: Number.NaN, max: Number.NaN, cpuPercent: Number.NaN };

/** Measures this process's event-loop delay and CPU time from `start` to `stop`. */
export function processMonitor(): { start(): void; stop(): EventLoopDelay } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  let cpu = process.cpuUsage();
  let at = process.hrtime.bigint();
  return {
    start() {
      histogram.enable();
      cpu = process.cpuUsage();
      at = process.hrtime.bigint();
    },
    stop() {
      histogram.disable();
      const used = process.cpuUsage(cpu);
      const wallUs = Number(process.hrtime.bigint() - at) / 1e3;
      return { p50: histogram.percentile(50) / 1e6, p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6, cpuPercent: ((used.user + used.system) / wallUs) * 100 };
    },
  };
}

export type LagChildMessage =
  | { kind: 'measureStart'; atNs: string }
  | { kind: 'appended'; items: [eventId: string, sentNs: string, appendedNs: string][] }
  | { kind: 'done'; sent: number; ms: number; eventLoop: EventLoopDelay }
  | { kind: 'relayRunning' }
  | { kind: 'read'; items: [eventId: string, readNs: string][] }
  | { kind: 'relayStopped'; eventLoop: EventLoopDelay }
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
