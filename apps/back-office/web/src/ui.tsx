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


/** What an action came to, shown next to it. */
export interface Outcome {
  ok: boolean;
  text: string;
}

/** The message of a failed request (an `ApiError` carries the problem's detail). */
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The last action's outcome: a status when it worked, an alert when it did not. */
export function OutcomeMessage({ outcome }: { outcome: Outcome | null }): ReactNode {
  return (
    outcome && (
      <p role={outcome.ok ? 'status' : 'alert'} className={outcome.ok ? 'ok' : 'error'}>
        {outcome.text}
      </p>
    )
  );
}

/** An action's outcome and `run`, which shows the text the action resolves to, or its error. */
export function useOutcome(): { outcome: Outcome | null; run: (action: () => Promise<string>) => Promise<void> } {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const run = useCallback(async (action: () => Promise<string>) => {
    try {
      setOutcome({ ok: true, text: await action() });
    } catch (e) {
      setOutcome({ ok: false, text: errorText(e) });
    }
  }, []);
  return { outcome, run };
}

/** A table's column headings. */
export function Columns({ names }: { names: ReactNode[] }): ReactNode {
  return (
    <thead>
      <tr>
        {names.map((name, i) => (
          <th key={i} scope="col">
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** The heading of a column of buttons, for screen readers only. */
export const ACTIONS_COLUMN = <span className="visually-hidden">Actions</span>;

/** A loaded list: while loading (or failed) the `Loading` line, `empty` when there is nothing, else what `children` renders of the rows. */
export function Listing<T>({ rows, error, what, empty, children }: { rows: T[] | null | undefined; error: string | null; what: string; empty: string; children: (rows: T[]) => ReactNode }): ReactNode {
  if (!rows) return <Loading error={error} what={what} />;
  if (rows.length === 0) return <p>{empty}</p>;
  return children(rows);
}
