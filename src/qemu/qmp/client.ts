/**
 * @module qemu/qmp/client
 * Our QMP client: a unix-socket session with one QEMU monitor. It reads the greeting,
 * negotiates `qmp_capabilities`, then runs commands strictly one at a time (queued, as
 * Incus does: QEMU answers in order and one in flight keeps id checking trivial), each with
 * its own timeout from `timeouts.ts`. Replies are matched by id; a late reply to a command
 * that already timed out is dropped. Asynchronous events are emitted as `event`. Failures
 * are typed: QMP_TIMEOUT, QMP_DISCONNECTED, QMP_ERROR (with QEMU's error class and text).
 */

import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { CvmError } from '../../errors.js';
import { encodeCommand, LineDecoder, type QmpMessage } from './framing.js';
import { DEFAULT_QMP_TIMEOUT_MS, qmpTimeoutFor } from './timeouts.js';

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpClientOptions {
  /** How long to wait for the socket connection and the greeting (default 5 s). */
  connectTimeoutMs?: number;
  /** Per-command overrides in ms, e.g. `{ 'query-status': 1000 }`. */
  timeouts?: Record<string, number>;
  /** Timeout for commands not in the table (default 5 s). */
  defaultTimeoutMs?: number;
}

export interface ExecuteOptions {
  timeoutMs?: number;
}

/** QEMU answered with `{"error": {...}}`. */
export class QmpError extends CvmError {
  readonly errorClass: string;
  readonly desc: string;
  constructor(command: string, errorClass: string, desc: string) {
    super('QMP_ERROR', `QMP command '${command}' failed - ${desc}`, { details: { command, class: errorClass, desc } });
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

/** Commands after which QEMU may close the connection instead of answering. */
const MAY_CLOSE_WITHOUT_REPLY = new Set(['quit']);

interface Pending {
  command: string;
  args: Record<string, unknown> | undefined;
  timeoutMs: number;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface InFlight extends Pending {
  id: string;
  timer: NodeJS.Timeout;
}

let clientSerial = 0;

export class QmpClient extends EventEmitter {
  readonly path: string;
  greeting: QmpGreeting | undefined;
  private readonly socket: Socket;
  private readonly decoder = new LineDecoder();
  private readonly queue: Pending[] = [];
  private inFlight: InFlight | undefined;
  private closed = false;
  private closeReason = 'connection closed';
  private nextId = 0;
  private readonly idPrefix = `cvmctl-${process.pid}-${++clientSerial}`;
  private readonly options: QmpClientOptions;
  private greetingWaiter: ((greeting: QmpGreeting | Error) => void) | undefined;

  private constructor(path: string, socket: Socket, options: QmpClientOptions) {
    super();
    this.path = path;
    this.socket = socket;
    this.options = options;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeReason = err.message;
    });
    socket.on('close', () => this.onClose());
  }

  /** Connect to a QMP socket, read the greeting and enter command mode. */
  static async connect(path: string, options: QmpClientOptions = {}): Promise<QmpClient> {
    const connectTimeout = options.connectTimeoutMs ?? DEFAULT_QMP_TIMEOUT_MS;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ path });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new CvmError('QMP_TIMEOUT', `QMP connect to ${path} timed out after ${connectTimeout} ms`));
      }, connectTimeout);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new CvmError('QMP_DISCONNECTED', `unable to connect to QMP socket ${path} - ${err.message}`, { cause: err }));
      });
    });
    const client = new QmpClient(path, socket, options);
    try {
      client.greeting = await client.waitForGreeting(connectTimeout);
      await client.execute('qmp_capabilities');
    } catch (err) {
      client.destroy();
      throw err;
    }
    return client;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Run one QMP command; resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: ExecuteOptions = {}): Promise<T> {
    if (this.closed) {
      return Promise.reject(new CvmError('QMP_DISCONNECTED', `QMP command '${command}' failed - not connected (${this.closeReason})`));
    }
    const timeoutMs =
      opts.timeoutMs ?? qmpTimeoutFor(command, this.options.timeouts, this.options.defaultTimeoutMs ?? DEFAULT_QMP_TIMEOUT_MS);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ command, args, timeoutMs, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Close the session; queued commands fail with QMP_DISCONNECTED. Resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.closeReason = 'closed by client';
      this.socket.end();
      // a peer that never answers the FIN must not keep us waiting
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  /** Close immediately without waiting. */
  destroy(): void {
    if (!this.closed) this.closeReason = 'closed by client';
    this.socket.destroy();
  }

  private waitForGreeting(timeoutMs: number): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.greetingWaiter = undefined;
        reject(new CvmError('QMP_TIMEOUT', `no QMP greeting on ${this.path} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.greetingWaiter = (g) => {
        clearTimeout(timer);
        this.greetingWaiter = undefined;
        if (g instanceof Error) reject(g);
        else resolve(g);
      };
    });
  }

  private pump(): void {
    if (this.inFlight || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    const id = `${this.idPrefix}-${++this.nextId}`;
    const timer = setTimeout(() => {
      if (this.inFlight?.id !== id) return;
      this.inFlight = undefined;
      next.reject(
        new CvmError('QMP_TIMEOUT', `VM qmp command '${next.command}' failed - got timeout`, {
          details: { command: next.command, timeoutMs: next.timeoutMs },
        }),
      );
      this.pump();
    }, next.timeoutMs);
    this.inFlight = { ...next, id, timer };
    this.socket.write(encodeCommand(next.command, id, next.args));
  }

  private onData(chunk: string): void {
    const { messages } = this.decoder.push(chunk);
    for (const msg of messages) this.onMessage(msg);
  }

  private onMessage(msg: QmpMessage): void {
    if ('QMP' in msg) {
      this.greetingWaiter?.(msg.QMP as QmpGreeting);
      return;
    }
    if (typeof msg.event === 'string') {
      this.emit('event', msg as unknown as QmpEvent);
      return;
    }
    if (!('return' in msg) && !('error' in msg)) return;
    const current = this.inFlight;
    // replies without our id, or for a command that already timed out, are not ours to deliver
    if (!current || msg.id !== current.id) return;
    clearTimeout(current.timer);
    this.inFlight = undefined;
    if ('error' in msg) {
      const e = (msg.error ?? {}) as { class?: string; desc?: string };
      current.reject(new QmpError(current.command, e.class ?? 'GenericError', e.desc ?? 'unknown error'));
    } else {
      current.resolve(msg.return);
    }
    this.pump();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const reason = this.closeReason;
    this.greetingWaiter?.(new CvmError('QMP_DISCONNECTED', `QMP socket ${this.path} closed before the greeting (${reason})`));
    const current = this.inFlight;
    this.inFlight = undefined;
    if (current) {
      clearTimeout(current.timer);
      if (MAY_CLOSE_WITHOUT_REPLY.has(current.command)) current.resolve({});
      else current.reject(new CvmError('QMP_DISCONNECTED', `VM qmp command '${current.command}' failed - ${reason}`));
    }
    for (const p of this.queue.splice(0)) {
      p.reject(new CvmError('QMP_DISCONNECTED', `VM qmp command '${p.command}' failed - ${reason}`));
    }
    this.emit('close', reason);
  }
}
