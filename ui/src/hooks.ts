/**
 * @module ui/hooks
 * Data loading for pages: `useLoad` reads once (again when its key changes), `usePoll` reads
 * again every `ms` milliseconds after the previous answer arrived (never two requests of one
 * poll in flight), pausing while the tab is hidden; a poll whose `stopWhen` says an error is
 * final (the VM is gone) stops until `reload`.
 */

import { useEffect, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

export function usePoll<T>(load: () => Promise<T>, ms: number, key = '', stopWhen?: (err: unknown) => boolean): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (document.hidden && ms > 0) {
        timer = setTimeout(run, ms);
        return;
      }
      try {
        const d = await load();
        if (stopped) return;
        setData(d);
        setError(undefined);
      } catch (err) {
        if (stopped) return;
        setError((err as Error).message);
        if (stopWhen?.(err)) return;
      }
      if (!stopped && ms > 0) timer = setTimeout(run, ms);
    };
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key, tick, ms]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

export function useLoad<T>(load: () => Promise<T>, key = ''): Loaded<T> {
  return usePoll(load, 0, key);
}
