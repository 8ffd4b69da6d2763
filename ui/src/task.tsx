/**
 * @module ui/task
 * A running or finished task (PVE's task endpoints): progress while it runs, its exit status
 * when it stops, and its log, polled once a second until the task has stopped.
 */

import { useEffect, useState } from 'preact/hooks';
import { api } from './api';

interface TaskStatus {
  status: 'running' | 'stopped';
  exitstatus?: string;
  type?: string;
}

export function TaskLog(props: { node: string; upid: string; onDone?: (ok: boolean) => void }) {
  const [status, setStatus] = useState<TaskStatus | null>(null);
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const base = `/nodes/${props.node}/tasks/${encodeURIComponent(props.upid)}`;
    const poll = async () => {
      try {
        const st = await api.get<TaskStatus>(`${base}/status`);
        const log = await api.get<{ n: number; t: string }[]>(`${base}/log`, { limit: 5000 });
        if (stopped) return;
        setStatus(st);
        setLines(log.map((l) => l.t));
        if (st.status === 'stopped') {
          props.onDone?.(st.exitstatus === 'OK' || (st.exitstatus ?? '').startsWith('WARNINGS'));
          return;
        }
      } catch (err) {
        if (!stopped) setError((err as Error).message);
      }
      if (!stopped) timer = setTimeout(poll, 1000);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // one poll loop per task
  }, [props.upid, props.node]);

  const running = !status || status.status === 'running';
  const ok = status?.exitstatus === 'OK';
  return (
    <section class="task" aria-label="Task">
      <div class="task-head">
        {running ? (
          <progress aria-label="Task running" />
        ) : (
          <span class={ok ? 'ok' : 'error'} role="status">
            Task {ok ? 'OK' : `failed: ${status?.exitstatus ?? ''}`}
          </span>
        )}
        <code class="muted upid">{props.upid}</code>
      </div>
      {error && <p class="error">{error}</p>}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must be reachable by keyboard (axe: scrollable-region-focusable) */}
      <pre class="log" role="log" aria-label="Task log" tabIndex={0}>
        {lines.join('\n')}
      </pre>
    </section>
  );
}
