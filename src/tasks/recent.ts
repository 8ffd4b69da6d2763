/**
 * @module tasks/recent
 * A node's recent tasks, the list pvestatd broadcasts to the cluster and `GET /cluster/tasks`
 * answers (pve-common's RESTEnvironment::active_workers): every running task plus the newest
 * finished ones, 25 entries in all unless more are running. Running tasks come first with their
 * `pid`; a finished one has no `pid` but an `endtime` (when its log was last written, i.e. its
 * final line) and its `status` (the exit status: `OK`, `WARNINGS: n`, the error text or
 * `unexpected status`). No entry has `pstart` (active_workers drops it). PVE's internal
 * `saved` flag (whether the task reached the index file) is not part of the list here.
 */

import { stat } from 'node:fs/promises';
import type { TaskRunner } from './runner.js';
import { decodeUpid, type Upid } from './upid.js';

/** pve-common's $MAX_FINISHED: running tasks plus finished ones up to this many in all. */
export const MAX_RECENT_TASKS = 25;

export interface RecentTask extends Omit<Upid, 'pid' | 'pstart'> {
  upid: string;
  /** Only while running. */
  pid?: number;
  /** Only once finished (Unix seconds). */
  endtime?: number;
  /** Only once finished: the exit status. */
  status?: string;
}

/** The node's recent tasks: running ones first, then finished ones newest first. */
export async function recentTasks(runner: TaskRunner, max = MAX_RECENT_TASKS): Promise<RecentTask[]> {
  const newest = await runner.store.list();
  // every task this process runs, wherever it sorts, and enough of the newest to fill the list
  const candidates = [...new Set([...runner.runningUpids(), ...newest.slice(0, max + runner.activeCount)])];
  const running: RecentTask[] = [];
  const finished: RecentTask[] = [];
  for (const upid of candidates) {
    const u = decodeUpid(upid) as Upid;
    let st: Awaited<ReturnType<typeof runner.store.status>>;
    try {
      st = await runner.store.status(upid, (x) => runner.isRunning(x));
    } catch {
      continue; // removed meanwhile
    }
    const { pid, pstart: _pstart, ...fields } = u;
    if (st.status === 'running') running.push({ upid, ...fields, pid });
    else finished.push({ upid, ...fields, endtime: await endTime(runner, upid, u.starttime), status: st.exitstatus as string });
  }
  finished.sort((a, b) => b.starttime - a.starttime || (a.upid < b.upid ? 1 : -1));
  return [...running, ...finished.slice(0, Math.max(0, max - running.length))];
}

/** When the task's final line was written: its log's modification time (never before the start). */
async function endTime(runner: TaskRunner, upid: string, starttime: number): Promise<number> {
  try {
    return Math.max(starttime, Math.floor((await stat(runner.store.logPath(upid))).mtimeMs / 1000));
  } catch {
    return starttime;
  }
}
