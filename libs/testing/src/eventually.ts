/** Polls `probe` until it returns without throwing, or fails with its last error after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError instanceof Error ? lastError : new Error(String(lastError));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
