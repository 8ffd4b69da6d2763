/**
 * @module run/spawn
 * Starting the QEMU process without a shell. qemu-server's command lines carry `-daemonize`:
 * the parent QEMU exits only once the VM is set up (sockets listening, pid file written), with
 * a non-zero code and its error on stderr when setup fails, so we wait for that exit and keep
 * QEMU's own message. For a command without `-daemonize` the process is started detached with
 * stderr in `<runDir>/<vmid>.log`. Either way we then wait for the QMP socket to accept a session.
 */

import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { CvmError } from '../errors.js';
import { QmpClient } from '../qemu/qmp/index.js';

export interface SpawnResult {
  /** Present when the command was not daemonizing (the direct child). */
  childPid?: number;
}

/** QEMU's stderr as a compact message: its lines joined, the binary prefix kept (it names the failing option). */
export function qemuErrorText(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' - ');
}

function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  return code !== null ? `QEMU exited with code ${code}` : `QEMU was killed by signal ${signal}`;
}

/** Run a `-daemonize` QEMU command and wait for the parent to exit (success = VM set up). */
export function spawnDaemonizing(argv: readonly string[], timeoutMs: number): Promise<void> {
  const [bin, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CvmError('QEMU_FAILED', `start failed: QEMU did not finish starting within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new CvmError('QEMU_FAILED', `start failed: unable to run ${bin} - ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
        return;
      }
      // the stderr pipe may still hold the last message; give it a moment to drain
      const finish = () => {
        const text = qemuErrorText(stderr);
        reject(
          new CvmError('QEMU_FAILED', `start failed: ${exitDescription(code, signal)}${text ? `: ${text}` : ''}`, {
            details: { exitCode: code, signal, stderr },
          }),
        );
      };
      if (child.stderr && !child.stderr.readableEnded) {
        child.stderr.once('end', finish);
        setTimeout(finish, 200).unref();
      } else finish();
    });
  });
}

/** Start a non-daemonizing QEMU detached from us; stderr goes to `logFile`. */
export async function spawnDetached(argv: readonly string[], logFile: string): Promise<{ pid: number; exited: Promise<string> }> {
  const [bin, ...args] = argv as [string, ...string[]];
  // never through a symlink planted in the run dir
  const log = await open(logFile, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', log.fd], detached: true });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        void readFile(logFile, 'utf8')
          .catch(() => '')
          .then((text) => resolve(`${exitDescription(code, signal)}${text.trim() ? `: ${qemuErrorText(text)}` : ''}`));
      });
      child.once('error', (err) => resolve(`unable to run ${bin} - ${err.message}`));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new CvmError('QEMU_FAILED', `start failed: unable to run ${bin} - ${err.message}`)));
    });
    child.unref();
    return { pid: child.pid as number, exited };
  } finally {
    await log.close();
  }
}

/**
 * Connect to the QMP socket, retrying while it does not exist yet, until `deadline`.
 * `gone` resolves with a reason when the process died meanwhile.
 */
export async function waitForQmp(path: string, deadline: number, gone?: () => Promise<string | undefined>): Promise<QmpClient> {
  let lastError: unknown;
  for (;;) {
    try {
      return await QmpClient.connect(path, { connectTimeoutMs: Math.max(500, Math.min(5000, deadline - Date.now())) });
    } catch (err) {
      lastError = err;
    }
    const reason = gone ? await gone() : undefined;
    if (reason) throw new CvmError('QEMU_FAILED', `start failed: ${reason}`);
    if (Date.now() >= deadline) {
      throw new CvmError('QMP_TIMEOUT', `start failed: QMP socket ${path} not ready - ${(lastError as Error)?.message ?? 'timeout'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
