/**
 * @module tasks/runner
 * Worker tasks: an async operation (create, start, stop …) runs inside this process, gets a
 * PVE UPID (the server's pid and start time, the node, a type such as `qmstart`, the VM id
 * and the user) and writes its log under `<root>/tasks/` as it goes. The log file exists
 * before the UPID is handed out, so a client polling the status never sees "no such task".
 * Warnings become `WARN: …` lines; the log ends with `TASK OK`, `TASK WARNINGS: n` or
 * `TASK ERROR: <message on one line>`. On shutdown, tasks get a grace period to finish;
 * those still running are ended with `TASK ERROR: server shut down` so none stays "running".
 * Listeners hear of every start and end (a cluster member republishes its recent tasks).
 */

import { type FileHandle, open } from 'node:fs/promises';
import { makeDirs } from '../util/mkdirs.js';
import { TaskStore } from './store.js';
import { encodeUpid, processStartTicks } from './upid.js';

export interface TaskContext {
  upid: string;
  /** Append one line (newlines inside become separate lines). */
  log(line: string): void;
  /** A `WARN: …` line; counted for `TASK WARNINGS: n`. */
  warn(message: string): void;
  /** Aborted when the task is stopped (`DELETE …/tasks/{upid}`) or the server shuts down. */
  signal: AbortSignal;
}

export interface TaskSpec {
  type: string;
  /** The object the task works on (VM id), may be empty. */
  id: string;
  /** The authid: `root@pam` or `root@pam!token`. */
  user: string;
}

interface RunningTask {
  done: Promise<void>;
  abort: AbortController;
  /** Set once a final line is written: nothing more goes to the log. */
  finish(final: string): Promise<void>;
}

/** One line of PVE's final `TASK ERROR:` text: newlines become spaces. */
export function oneLine(message: string): string {
  return message.replace(/\n+$/, '').replace(/\n/g, ' ');
}

export class TaskRunner {
  readonly store: TaskStore;
  private readonly running = new Map<string, RunningTask>();
  private readonly issued = new Set<string>();
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly root: string,
    readonly node: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.store = new TaskStore(root);
  }

  isRunning(upid: string): boolean {
    return this.running.has(upid);
  }

  /** The UPIDs of the tasks this process runs now. */
  runningUpids(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Call `listener` whenever a task started (its log exists) or ended (its final line is
   * written); returns the unsubscribe function. A cluster member republishes its task list then.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // a listener's failure is its own business, never the task's
      }
    }
  }

  get activeCount(): number {
    return this.running.size;
  }

  /** A UPID no task of this process had yet (same type, id and user in one second get the next second). */
  private nextUpid(spec: TaskSpec): string {
    let starttime = Math.floor(this.clock() / 1000);
    for (;;) {
      const upid = encodeUpid({ node: this.node, pid: process.pid, pstart: processStartTicks(), starttime, ...spec });
      if (!this.issued.has(upid)) {
        this.issued.add(upid);
        return upid;
      }
      starttime++;
    }
  }

  /** Start `work` as a task; resolves with its UPID once the log file exists. */
  async start(spec: TaskSpec, work: (task: TaskContext) => Promise<void>): Promise<string> {
    await makeDirs(this.store.dir);
    let upid: string;
    let handle: FileHandle;
    for (;;) {
      upid = this.nextUpid(spec);
      try {
        handle = await open(this.store.logPath(upid), 'wx', 0o640);
        break;
      } catch (err) {
        // a log of an earlier server process with the same pid: take the next second
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    let writes: Promise<unknown> = Promise.resolve();
    let closed = false;
    let warnings = 0;
    const write = (text: string) => {
      writes = writes.then(() => handle.appendFile(text)).catch(() => undefined);
    };
    const log = (line: string) => {
      if (!closed) write(`${line.replace(/\r/g, '').replace(/\n+$/, '')}\n`);
    };
    const finish = async (final: string) => {
      if (closed) return;
      closed = true;
      write(`${final}\n`);
      await writes;
      await handle.close().catch(() => undefined);
      this.running.delete(upid);
      this.changed();
    };
    const abort = new AbortController();
    const ctx: TaskContext = {
      upid,
      log,
      warn: (message) => {
        warnings++;
        log(`WARN: ${oneLine(message)}`);
      },
      signal: abort.signal,
    };
    const done = (async () => {
      try {
        await work(ctx);
        await finish(warnings > 0 ? `TASK WARNINGS: ${warnings}` : 'TASK OK');
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await finish(`TASK ERROR: ${oneLine(message) || 'unknown error'}`);
      }
    })();
    this.running.set(upid, { done, abort, finish });
    this.changed();
    return upid;
  }

  /** Stop a running task (PVE kills the worker): abort it and end its log. False if not running here. */
  async stop(upid: string, reason = 'received interrupt'): Promise<boolean> {
    const task = this.running.get(upid);
    if (!task) return false;
    task.abort.abort(new Error(reason));
    await task.finish(`TASK ERROR: ${reason}`);
    return true;
  }

  /** Wait for a task of this process to end (tests, background_delay). False on timeout. */
  async wait(upid: string, timeoutMs: number): Promise<boolean> {
    const task = this.running.get(upid);
    if (!task) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([task.done.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Let running tasks finish within `graceMs`; end the rest as failed. */
  async shutdown(graceMs: number): Promise<void> {
    const pending = [...this.running.keys()];
    await Promise.all(pending.map((upid) => this.wait(upid, graceMs)));
    await Promise.all([...this.running.keys()].map((upid) => this.stop(upid, 'server shut down')));
  }
}
