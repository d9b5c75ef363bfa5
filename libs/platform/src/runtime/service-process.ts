import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import * as path from 'node:path';
import { freePorts } from '@dh/provisioning';

/** The repository root, from both the TypeScript sources and the compiled `dist/` tree. */
export const REPO_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../../../..' : '../../../..');

export { freePort, freePorts } from '@dh/provisioning';

export interface ServiceProcess {
  name: string;
  url: string;
  /** Where its Prometheus metrics are (`<metricsUrl>/metrics`): a port of their own, never the HTTP port. */
  metricsUrl: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a compiled app (`npm run build` first) as its own process, the way production runs it,
 * and waits until its readiness check answers 200. `root` is the checkout whose `dist/` it runs
 * (default this one; a benchmark may run an earlier build beside the current one).
 */
export async function startServiceProcess(name: string, env: Record<string, string>, readyTimeoutMs = 30_000, root = REPO_ROOT): Promise<ServiceProcess> {
  const [port, metricsPort] = (await freePorts(2)) as [number, number];
  const entry = path.join(root, 'dist', 'apps', name, 'src', 'main.js');
  const child = spawn(process.execPath, ['-r', path.join(root, 'register-paths.js'), entry], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), METRICS_PORT: String(metricsPort), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // SERVICE_LOG_DIR (set for the end-to-end tests): every process's output is also kept in a file there,
  // for the check that no service ever logs a CPR number in clear.
  const logDir = process.env.SERVICE_LOG_DIR;
  const logFile = logDir ? createWriteStream(path.join(logDir, `${name}-${port}-${process.pid}.log`), { flags: 'a' }) : null;
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    logFile?.write(chunk);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('exit', () => logFile?.end());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + readyTimeoutMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (child.exitCode !== null) lastProblem = `exited with code ${child.exitCode}`;
    else {
      try {
        const res = await fetch(`${url}/health/ready`);
        if (res.status === 200) break;
        lastProblem = `readiness ${res.status}: ${await res.text()}`;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not become ready (${lastProblem})\n--- output ---\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { name, url, metricsUrl: `http://127.0.0.1:${metricsPort}`, child, output: () => output, stop };
}
