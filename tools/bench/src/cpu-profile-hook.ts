import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

/**
 * Preloaded into a service process by the run benchmark (`BENCH_RUN_PROFILE_DIR`, via `NODE_OPTIONS=--require`,
 * where Node refuses `--cpu-prof`): V8's sampling profiler from start-up, written as
 * `<dir>/<service>-<pid>.cpuprofile` (Chrome DevTools / speedscope format) when the process gets SIGUSR2, or at exit.
 */
const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result) => {
      if (error !== null) return;
      writeFileSync(join(dir, `${process.env.BENCH_CPU_PROFILE_NAME ?? 'service'}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on('SIGUSR2', write);
  process.on('exit', write);
}
