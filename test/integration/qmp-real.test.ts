/**
 * A QMP conversation with a real QEMU (`-machine none`): greeting and capabilities, typed
 * queries, QEMU's error classes, a command timeout (QEMU frozen with SIGSTOP) after which the
 * late answer is dropped, a disconnect while a command is in flight (QEMU killed), and quit.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient, QmpError, queryStatus, querySev, queryVersion, versionString } from '../../src/qemu/qmp/index.js';
import { QEMU_BINARY, SKIP_REASON, waitFor } from './helpers.js';

const procs: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) {
    try {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function qemuNone(): Promise<{ proc: ChildProcess; socket: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cvmctl-qmp-'));
  dirs.push(dir);
  const socket = join(dir, 'qmp.sock');
  const proc = spawn(
    QEMU_BINARY as string,
    ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${socket},server=on,wait=off`],
    {
      stdio: 'ignore',
    },
  );
  procs.push(proc);
  await waitFor(() => (existsSync(socket) ? true : undefined), 10_000, 20);
  return { proc, socket };
}

const exited = (p: ChildProcess) =>
  new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

describe.skipIf(!QEMU_BINARY)(`QMP with a real QEMU${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('negotiates, answers typed queries and reports QEMU error classes', async () => {
    const { socket } = await qemuNone();
    const c = await QmpClient.connect(socket);
    const installed = /version (\d+\.\d+\.\d+)/.exec(execFileSync(QEMU_BINARY as string, ['--version'], { encoding: 'utf8' }))?.[1];
    expect(c.greeting && versionString(c.greeting.version)).toBe(installed);
    expect(versionString(await queryVersion(c))).toBe(installed);
    expect((await queryStatus(c)).status).toMatch(/^(running|prelaunch)$/);

    const notFound = await c.execute('no-such-command').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(QmpError);
    expect((notFound as QmpError).errorClass).toBe('CommandNotFound');
    expect((notFound as QmpError).message).toBe("QMP command 'no-such-command' failed - The command no-such-command has not been found");

    // no SEV guest here: QEMU 10 answers query-sev with enabled=false
    const sev = await querySev(c);
    expect(sev.enabled).toBe(false);
    // a bad argument: QEMU's own error class comes through
    const bad = await c.execute('qom-list', { path: '/no/such/object' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(QmpError);
    expect((bad as QmpError).errorClass).toBe('DeviceNotFound');
    await c.close();
  }, 30_000);

  it('times out a command of a frozen QEMU and drops the late answer', async () => {
    const { proc, socket } = await qemuNone();
    const c = await QmpClient.connect(socket);
    proc.kill('SIGSTOP');
    const t0 = Date.now();
    const err = await c
      .execute('query-status', undefined, { timeoutMs: 300 })
      .catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'QMP_TIMEOUT', message: "VM qmp command 'query-status' failed - got timeout" });
    expect(Date.now() - t0).toBeLessThan(2000);
    proc.kill('SIGCONT');
    // the delayed query-status answer must not be taken as query-version's
    const v = await queryVersion(c);
    expect(v.qemu.major).toBeGreaterThan(0);
    expect(await c.execute('query-name')).toEqual({});
    c.destroy();
  }, 30_000);

  it('fails in-flight and later commands with QMP_DISCONNECTED when QEMU dies', async () => {
    const { proc, socket } = await qemuNone();
    const c = await QmpClient.connect(socket);
    const closed = new Promise<string>((r) => c.once('close', r));
    proc.kill('SIGSTOP');
    const inFlight = c.execute('query-status', undefined, { timeoutMs: 10_000 }).catch((e: unknown) => e as { code: string });
    const queued = c.execute('query-version').catch((e: unknown) => e as { code: string });
    proc.kill('SIGKILL');
    expect(await inFlight).toMatchObject({ code: 'QMP_DISCONNECTED' });
    expect(await queued).toMatchObject({ code: 'QMP_DISCONNECTED' });
    await closed;
    expect(c.isClosed).toBe(true);
    await expect(c.execute('query-status')).rejects.toMatchObject({ code: 'QMP_DISCONNECTED' });
  }, 30_000);

  it('quit ends QEMU and the session', async () => {
    const { proc, socket } = await qemuNone();
    const c = await QmpClient.connect(socket);
    await expect(c.execute('quit')).resolves.toEqual({});
    await exited(proc);
    expect(proc.exitCode).toBe(0);
  }, 30_000);
});
