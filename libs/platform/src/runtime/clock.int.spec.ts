import { createServer, type Server } from 'node:http';
import { followClock } from './clock';

describe('followClock', () => {
  let server: Server;
  let simulated = '2026-03-20T09:00:00.000Z';
  let url: string;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end(JSON.stringify({ now: simulated })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/sim/clock`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the simulator’s time, runs on from it, and follows a jump forward', async () => {
    const clock = await followClock(url, 20);
    const first = clock.now().getTime();
    expect(first).toBeGreaterThanOrEqual(Date.parse('2026-03-20T09:00:00.000Z'));
    expect(first).toBeLessThan(Date.parse('2026-03-20T09:00:05.000Z'));
    simulated = '2026-04-02T00:00:00.000Z';
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(clock.now().toISOString().slice(0, 10)).toBe('2026-04-02');
    clock.close();
  });

  it('never goes back while the simulator’s clock stands still between two readings', async () => {
    simulated = '2026-12-02T06:00:00.000Z';
    const clock = await followClock(url, 20);
    // Runs on from each reading, then a new reading of the same standing instant is behind it: sampled
    // across a dozen readings, no instant may be earlier than one answered before.
    let previous = clock.now().getTime();
    let backwards = 0;
    const until = Date.now() + 300;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      const t = clock.now().getTime();
      if (t < previous) backwards++;
      previous = Math.max(previous, t);
    }
    clock.close();
    expect(backwards).toBe(0);
    // And it still follows a jump forward.
    expect(previous).toBeGreaterThanOrEqual(Date.parse(simulated));
  });

  it('refuses to start on a clock that does not answer an instant', async () => {
    simulated = 'not a date';
    await expect(followClock(url)).rejects.toThrow(`clock ${url} answered no "now" instant`);
  });
});
