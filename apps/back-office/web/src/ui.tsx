import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';

/** Loads once per key; `reload` fetches again. Errors are shown where the data would be. */
export function useLoad<T>(load: () => Promise<T>, key: string): { data: T | null; error: string | null; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const [tick, setTick] = useState(0);
  const shown = useRef<string | null>(null);
  useEffect(() => {
    let live = true;
    // A reload keeps what is shown until the new answer arrives; another key starts empty.
    if (shown.current !== key) setState({ data: null, error: null });
    shown.current = key;
    load().then(
      (data) => live && setState({ data, error: null }),
      (error: unknown) => live && setState({ data: null, error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
}

export function Loading({ error, what }: { error: string | null; what: string }): ReactNode {
  return error ? (
    <p role="alert" className="error">
      Could not load {what}: {error}
    </p>
  ) : (
    <p aria-live="polite">Loading {what}…</p>
  );
}

