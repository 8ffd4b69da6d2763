/**
 * @module tasks/store
 * Task logs under `<root>/tasks/<UPID>`, one file per worker task, like PVE's
 * /var/log/pve/tasks: the worker's output lines, ending with `TASK OK`, `TASK WARNINGS: <n>`
 * or `TASK ERROR: <message>` once it finished. The status of a task is read from its file:
 * a final line means stopped (its text is the exit status); no final line means running
 * while the process named in the UPID (pid and start time) is alive, else stopped with
 * `unexpected status` (the worker died, e.g. the server was killed). Logs survive restarts.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { decodeUpid, processStartTicks, type Upid } from './upid.js';

export interface TaskStatus extends Upid {
  upid: string;
  status: 'running' | 'stopped';
  /** Only when stopped: `OK`, `WARNINGS: n`, the error text or `unexpected status`. */
  exitstatus?: string;
}

export interface TaskLogLine {
  n: number;
  t: string;
}

export const TASK_OK = 'TASK OK';
const FINAL_LINE = /^TASK (?:OK$|WARNINGS: \d+$|ERROR: )/;

/** The exit status a final log line stands for, or undefined for other lines. */
export function exitStatusOf(line: string): string | undefined {
  if (!FINAL_LINE.test(line)) return undefined;
  if (line === TASK_OK) return 'OK';
  if (line.startsWith('TASK WARNINGS: ')) return line.slice(5);
  return line.slice('TASK ERROR: '.length);
}

/** Whether a process with this pid and start time (clock ticks) is alive. */
async function processLives(pid: number, pstart: number): Promise<boolean> {
  if (pid === process.pid) return pstart === processStartTicks();
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]) === pstart;
  } catch {
    return false;
  }
}

export function tasksDir(root: string): string {
  return join(root, 'tasks');
}

export class TaskStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = tasksDir(root);
  }

  /** The log file of a task; the UPID must be valid (its fields cannot contain `/`). */
  logPath(upid: string): string {
    if (!decodeUpid(upid)) throw new CvmError('PARAM_INVALID', 'unable to parse worker upid', { details: { key: 'upid' } });
    return join(this.dir, upid);
  }

  /** The log's lines; PARAM_INVALID `no such task` when there is no log. */
  async lines(upid: string): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.logPath(upid), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CvmError('PARAM_INVALID', 'no such task', { details: { key: 'upid' } });
      }
      throw err;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  /**
   * Status as `GET /nodes/{node}/tasks/{upid}/status` reports it. `runningHere` says whether
   * this process still runs the task (an in-process worker shares the server's pid).
   */
  async status(upid: string, runningHere: (upid: string) => boolean): Promise<TaskStatus> {
    const u = decodeUpid(upid) as Upid;
    const base: TaskStatus = { upid, ...u, status: 'stopped' };
    const exit = await this.finalStatus(upid);
    if (exit !== undefined) return { ...base, exitstatus: exit };
    const alive = u.pid === process.pid ? runningHere(upid) : await processLives(u.pid, u.pstart);
    if (alive) return { ...base, status: 'running' };
    // The worker may have written its final line and ended after the read above (a worker
    // leaves the running set only once its final line is on disk, a process exits after it):
    // read again now that it is known to be gone, else a failed task can show `unexpected status`.
    return { ...base, exitstatus: (await this.finalStatus(upid)) ?? 'unexpected status' };
  }

  /** The exit status of the log's final line, undefined while there is none. */
  private async finalStatus(upid: string): Promise<string | undefined> {
    const lines = await this.lines(upid);
    return exitStatusOf(lines[lines.length - 1] ?? '');
  }

  /** Lines `start`.. (0-based) at most `limit` of them, numbered from 1, plus the total count. */
  async log(upid: string, start: number, limit: number): Promise<{ lines: TaskLogLine[]; total: number }> {
    const all = await this.lines(upid);
    if (all.length === 0) return { lines: [{ n: 1, t: 'no content' }], total: 1 };
    const slice = all.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
    return { lines: slice, total: all.length };
  }

  /** UPIDs with a log, newest first. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const tasks = names.map((n) => ({ n, u: decodeUpid(n) })).filter((t): t is { n: string; u: Upid } => t.u !== undefined);
    tasks.sort((a, b) => b.u.starttime - a.u.starttime || (a.n < b.n ? 1 : -1));
    return tasks.map((t) => t.n);
  }
}
