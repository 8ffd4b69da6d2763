import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { withVmRunLock } from '../run/lock.js';
import { withFileLock } from './lock.js';

const CHILD = resolve(import.meta.dirname, '../../test/helpers/lock-child.ts');
const children: ChildProcess[] = [];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cvmctl-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function holder(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function locked(child: ChildProcess): Promise<void> {
  return new Promise((res, rej) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked\n')) res();
    });
    child.once('exit', (code) => rej(new Error(`lock holder exited early (${code})`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function lockError(p: Promise<unknown>): Promise<CvmError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CvmError) return err;
    throw err;
  }
  throw new Error('expected the lock to be refused');
}

describe('withFileLock across processes', () => {
  it('a holder whose event loop is blocked for 30 s keeps its lock', { timeout: 90_000 }, async () => {
    const path = join(dir, 'lock', 'lock-100.conf');
    const child = holder(['config', path, '0', 'block:30000']);
    await locked(child);
    const t0 = Date.now();
    // the former lock counted a holder as dead after 10 s without a refresh and took the lock away
    const err = await lockError(withFileLock(path, async () => 'stolen', { timeoutMs: 25_000 }));
    expect(err.code).toBe('VM_LOCKED');
    expect(err.message).toBe(`can't lock file '${path}' - got timeout`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25_000);
    await exited(child);
    expect(child.exitCode).toBe(0);
    expect(await withFileLock(path, async () => 'after', { timeoutMs: 5000 })).toBe('after');
  });

  it('the lock of a holder killed with SIGKILL is free for the next command at once', async () => {
    const path = join(dir, 'lock', 'lock-101.conf');
    const child = holder(['config', path, '0', 'sleep']);
    await locked(child);
    await expect(withFileLock(path, async () => 1, { timeoutMs: 300 })).rejects.toThrow('got timeout');
    child.kill('SIGKILL');
    await exited(child);
    const t0 = Date.now();
    // generous bound for a loaded machine; the former lock waited 10 s and failed with "got timeout"
    expect(await withFileLock(path, async () => 'next', { timeoutMs: 3000 })).toBe('next');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(readdirSync(join(dir, 'lock'))).toEqual([]);
  });

  it('the run lock of a killed holder is free at once too, and held while its holder lives', async () => {
    const root = join(dir, 'root');
    const child = holder(['run', root, '102', 'sleep']);
    await locked(child);
    const busy = await lockError(withVmRunLock(root, 102, async () => 1, 300));
    expect(busy.code).toBe('VM_LOCKED');
    expect(busy.message).toMatch(/^can't lock VM 102 - another operation is running/);
    child.kill('SIGKILL');
    await exited(child);
    expect(await withVmRunLock(root, 102, async () => 'mine', 3000)).toBe('mine');
  });

  it('many contenders racing for the lock of a dead holder enter one at a time', { timeout: 60_000 }, async () => {
    const path = join(dir, 'lock', 'lock-103.conf');
    const dead = holder(['config', path, '0', 'sleep']);
    await locked(dead);
    dead.kill('SIGKILL');
    await exited(dead);
    const log = join(dir, 'log');
    writeFileSync(log, '');
    const racers = Array.from({ length: 4 }, () => holder(['config', path, '0', `log:${log}:100`]));
    // and this process, with several async operations of its own
    const local = Array.from({ length: 3 }, () =>
      withFileLock(
        path,
        async () => {
          writeFileSync(log, `in self\n`, { flag: 'a' });
          await new Promise((r) => setTimeout(r, 50));
          writeFileSync(log, `out self\n`, { flag: 'a' });
        },
        { timeoutMs: 30_000 },
      ),
    );
    await Promise.all([...racers.map(exited), ...local]);
    for (const r of racers) expect(r.exitCode).toBe(0);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(14);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toMatch(/^in /);
      expect(lines[i + 1]).toBe(`out ${(lines[i] as string).slice(3)}`);
    }
    expect(readdirSync(join(dir, 'lock'))).toEqual([]);
  });
});

describe('withFileLock inside one process', () => {
  it('serializes async operations on one lock and lets unrelated locks run alongside', async () => {
    const path = join(dir, 'l');
    let inside = 0;
    let maxInside = 0;
    const order: string[] = [];
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) =>
        withFileLock(path, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 10));
          order.push(`a${i}`);
          inside--;
        }),
      ),
      withFileLock(join(dir, 'other'), async () => {
        order.push('other');
      }),
    ]);
    expect(maxInside).toBe(1);
    expect(order[0]).toBe('other');
    expect(order.slice(1)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('is re-entrant along one call chain (start applying pending changes under its own lock)', async () => {
    const path = join(dir, 'l');
    const inner = await withFileLock(path, () => withFileLock(path, async () => 'inner', { timeoutMs: 200 }), { timeoutMs: 200 });
    expect(inner).toBe('inner');
  });

  it('a waiter that times out does not break the queue for later ones', async () => {
    const path = join(dir, 'l');
    let releaseFirst!: () => void;
    const first = withFileLock(path, () => new Promise<void>((r) => (releaseFirst = r)));
    await new Promise((r) => setTimeout(r, 20));
    const err = await lockError(withFileLock(path, async () => 1, { timeoutMs: 50, timeoutMessage: 'busy' }));
    expect(err.message).toBe('busy');
    const third = withFileLock(path, async () => 'third', { timeoutMs: 5000 });
    releaseFirst();
    await first;
    expect(await third).toBe('third');
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a lock path that is a symlink, in one line, and leaves its target alone', async () => {
    mkdirSync(join(dir, 'lock'));
    writeFileSync(join(dir, 'target'), 'precious\n');
    symlinkSync(join(dir, 'target'), join(dir, 'lock', 'lock-1.conf'));
    const err = await lockError(withFileLock(join(dir, 'lock', 'lock-1.conf'), async () => 1, { timeoutMs: 200 }));
    expect(err.code).toBe('IO');
    expect(err.message).toBe(
      `can't lock file '${join(dir, 'lock', 'lock-1.conf')}' - not a regular file (refusing to follow a symlink or use a device)`,
    );
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('precious\n');
  });
});
