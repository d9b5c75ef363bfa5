/**
 * A pass run every `intervalMs` (0 = no timer), never two at once in a process: a tick while the
 * previous pass still runs is skipped. A failed pass is handed to `onError` and tried again on the
 * next tick. `stop()` clears the timer and waits for a pass in flight.
 */
export function singleFlightTimer(pass: () => Promise<unknown>, intervalMs: number, onError: (error: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          if (running !== null) return;
          running = pass()
            .catch(onError)
            .finally(() => {
              running = null;
            });
        }, intervalMs)
      : null;
  return {
    async stop() {
      if (timer !== null) clearInterval(timer);
      await running;
    },
  };
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
