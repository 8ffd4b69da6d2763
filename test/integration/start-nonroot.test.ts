/**
 * @module test/integration/start-nonroot
 * `cvmctl start` run as the unprivileged user `nobody` (through setpriv) fails at once with one
 * line that says why (issue 12, point 13): on a state root it cannot write (before any lock or
 * file exists), and for a NIC on a real bridge without CAP_NET_ADMIN (before QEMU is spawned).
 * Needs root to switch users and to create the bridge; a test run without root skips with that
 * reason, since neither can exist there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');
const isRoot = process.getuid?.() === 0;
const SKIP = 'needs root to run a command as nobody (setpriv) and to create a bridge';
if (!isRoot) console.warn(`start-nonroot: skipped - ${SKIP}`);

const NOBODY = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
const NOGROUP = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
const BRIDGE = `cvmnr${process.pid % 100000}`;
const dirs: string[] = [];

function asNobody(root: string, ...args: string[]) {
  const started = Date.now();
  const r = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOGROUP}`, '--clear-groups', process.execPath, BIN, '--root', root, ...args],
    { encoding: 'utf8', env: { ...process.env, HOME: '/nonexistent', CVMCTL_DEBUG: '' }, timeout: 60_000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

/** The host probe may warn (no KVM here); the error itself is one line. */
const withoutWarnings = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => !l.startsWith('WARN: '))
    .join('\n');

function rootWithVm(owner: number, conf: string): string {
  const root = mkdtempSync(join(tmpdir(), 'cvmctl-nonroot-'));
  dirs.push(root);
  mkdirSync(join(root, 'qemu-server'));
  writeFileSync(join(root, 'qemu-server', '100.conf'), conf);
  chmodSync(root, 0o755);
  if (owner !== 0) {
    for (const p of [root, join(root, 'qemu-server'), join(root, 'qemu-server', '100.conf')]) chownSync(p, owner, NOGROUP);
  }
  return root;
}

beforeAll(() => {
  if (isRoot) {
    execFileSync('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    execFileSync('ip', ['link', 'set', BRIDGE, 'up']);
  }
});
afterAll(() => {
  if (isRoot) spawnSync('ip', ['link', 'del', BRIDGE]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('start as a non-root user', () => {
  it('on a state root it cannot write: one clear line, exit 1, nothing created', () => {
    const root = rootWithVm(0, 'memory: 128\nkvm: 0\nvga: none\n');
    const r = asNobody(root, 'start', '100');
    expect(withoutWarnings(r.stderr)).toBe(
      `start: user 'nobody' (uid ${NOBODY}) cannot write the state root '${root}' - run cvmctl as root, or use a state root of your own (--root, CVMCTL_ROOT)\n`,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(readdirSync(root).sort()).toEqual(['qemu-server']);
    expect(r.ms).toBeLessThan(20_000);
  });

  it('with a NIC on a bridge: says a tap needs root or CAP_NET_ADMIN before anything starts', () => {
    const root = rootWithVm(NOBODY, `memory: 128\nkvm: 0\nvga: none\nnet0: virtio=BC:24:11:00:00:01,bridge=${BRIDGE}\n`);
    const r = asNobody(root, 'start', '100');
    expect(
      r.stderr
        .split('\n')
        .filter((l) => !l.startsWith('WARN: '))
        .join('\n'),
    ).toBe(
      `net0: user 'nobody' (uid ${NOBODY}) cannot create tap device 'tap100i0' on bridge '${BRIDGE}' (needs root or CAP_NET_ADMIN) - run cvmctl start as root, or use a NIC without bridge\n`,
    );
    expect(r.code).toBe(1);
    expect(asNobody(root, 'status', '100').stdout).toBe('status: stopped\n');
  });
});
