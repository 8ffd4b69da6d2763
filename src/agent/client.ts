/**
 * @module agent/client
 * One QEMU guest agent command over the VM's `<vmid>.qga` socket, the way qemu-server's
 * QMPClient talks to a guest agent: a fresh connection per command, the command preceded by
 * `guest-sync-delimited` with a unique id (the agent answers the sync with a 0xFF byte and the
 * id, which flushes whatever an earlier, timed-out command left in the channel), then the
 * command's own answer. Timeouts come from the QMP table (`guest-fsfreeze-freeze` 1 h,
 * `guest-fstrim` 10 min, 5 s otherwise). Errors carry qemu-server's texts:
 * `VM 100 qga command 'guest-info' failed - got timeout`.
 */

import { connect as netConnect, type Socket } from 'node:net';
import { CvmError } from '../errors.js';
import { qmpTimeoutFor } from '../qemu/qmp/timeouts.js';

/** Commands that may end the connection without answering (the guest goes away). */
const MAY_CLOSE_WITHOUT_REPLY = new Set(['guest-shutdown', 'guest-suspend-ram', 'guest-suspend-disk', 'guest-suspend-hybrid']);

export interface QgaCommandOptions {
  /** Wait this long for the answer (default: the QMP timeout table). */
  timeoutMs?: number;
}

/** What the agent answered: `return` value, or the agent's own error. */
export type QgaReply = { ok: true; value: unknown } | { ok: false; errorClass: string; desc: string };

let syncSeq = 0;

/** A sync id no earlier command of this process used (qemu-server: pid, '0', counter). */
function nextSyncId(): number {
  syncSeq = (syncSeq + 1) % 1_000_000;
  return (process.pid % 1_000_000) * 1_000_000 + syncSeq;
}

/**
 * Parse what the agent sent so far: everything up to the last 0xFF is left over from earlier
 * commands; after it come the sync answer and the command's answer, one JSON line each.
 * Returns undefined while incomplete.
 */
export function parseSyncedReply(buffer: Buffer, syncId: number): QgaReply | undefined {
  const start = buffer.lastIndexOf(0xff);
  if (start < 0) return undefined;
  const lines = buffer
    .subarray(start + 1)
    .toString('utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  if (lines.length < 2 || !/\}\s*$/.test(lines[1] as string)) return undefined;
  const sync = JSON.parse(lines[0] as string) as { return?: unknown };
  if (sync.return !== syncId) throw new Error(`got wrong command id '${String(sync.return)}' (expected ${syncId})`);
  const msg = JSON.parse(lines[1] as string) as { return?: unknown; error?: { class?: string; desc?: string } };
  if (msg.error) return { ok: false, errorClass: msg.error.class ?? 'GenericError', desc: msg.error.desc ?? 'unknown error' };
  return { ok: true, value: msg.return };
}

/** Run `command` against the agent socket `path`; `vmid` only names the VM in errors. */
export function qgaCommand(
  path: string,
  vmid: number,
  command: string,
  args?: Record<string, unknown>,
  opts: QgaCommandOptions = {},
): Promise<QgaReply> {
  const timeoutMs = opts.timeoutMs ?? qmpTimeoutFor(command);
  const failure = (reason: string) => new CvmError('QMP_TIMEOUT', `VM ${vmid} qga command '${command}' failed - ${reason}`);
  const syncId = nextSyncId();
  return new Promise<QgaReply>((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let done = false;
    const socket: Socket = netConnect({ path });
    const finish = (err: Error | undefined, reply?: QgaReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply as QgaReply);
    };
    const timer = setTimeout(() => finish(failure('got timeout')), timeoutMs);
    socket.on('connect', () => {
      const sync = JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id: syncId } });
      socket.write(`${sync}\n${JSON.stringify({ execute: command, arguments: args ?? {} })}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        const reply = parseSyncedReply(buffer, syncId);
        if (reply) finish(undefined, reply);
      } catch (err) {
        finish(new CvmError('QMP_ERROR', `VM ${vmid} qga command '${command}' failed - ${(err as Error).message}`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const unreachable = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      finish(
        new CvmError(
          'QMP_DISCONNECTED',
          `VM ${vmid} qga command '${command}' failed - ${unreachable ? 'unable to open monitor socket' : err.message}`,
        ),
      );
    });
    socket.on('close', () => {
      if (MAY_CLOSE_WITHOUT_REPLY.has(command)) finish(undefined, { ok: true, value: {} });
      else finish(new CvmError('QMP_DISCONNECTED', `VM ${vmid} qga command '${command}' failed - client closed connection`));
    });
  });
}
