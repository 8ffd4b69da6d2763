/**
 * The snapshot and disk commands through the built CLI, as a user runs them: qm-style progress
 * on stdout, listsnapshot's tree and JSON, one-line errors with the right exit codes (2 for a
 * rejected input, 1 for a refused operation), and nothing changed by a refused command.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'cvmctl');
let root: string;

function cvmctl(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--root', root, ...args], { encoding: 'utf8', env: { ...process.env, CVMCTL_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const readConf = (vmid: number) => readFileSync(join(root, 'qemu-server', `${vmid}.conf`), 'utf8');

function expectOneLine(r: { code: number; stdout: string; stderr: string }, code: number, text: string): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(text);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` before the e2e tests');
  root = mkdtempSync(join(tmpdir(), 'cvmctl-snap-cli-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('snapshot commands', () => {
  it('takes, lists, rolls back and deletes snapshots', () => {
    expect(cvmctl('create', '120', '--scsi0', 'local:1,format=qcow2', '--memory', '64').code).toBe(0);
    const taken = cvmctl('snapshot', '120', 'before', '--description', 'clean install');
    expect(taken).toMatchObject({ code: 0, stderr: '' });
    expect(taken.stdout).toBe("snapshotting 'drive-scsi0' (local:120/vm-120-disk-0.qcow2)\n");
    expect(cvmctl('set', '120', '--memory', '128').code).toBe(0);
    const tree = cvmctl('listsnapshot', '120').stdout.split('\n');
    expect(tree[0]).toMatch(/^`-> before {22}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {5}clean install$/);
    expect(tree[1]).toBe(` \`-> ${'current'.padEnd(26)} ${''.padEnd(23)} You are here!`);
    const json = JSON.parse(cvmctl('listsnapshot', '120', '--json').stdout) as { name: string; parent?: string; running?: number }[];
    expect(json.map((e) => e.name)).toEqual(['before', 'current']);
    expect(json[1]).toMatchObject({ parent: 'before', running: 0 });

    expect(cvmctl('rollback', '120', 'before').code).toBe(0);
    expect(readConf(120)).toMatch(/^memory: 64$/m);
    expect(cvmctl('delsnapshot', '120', 'before').code).toBe(0);
    expect(readConf(120)).not.toContain('[before]');
  });

  it('refuses with one line and changes nothing', () => {
    expect(cvmctl('create', '121', '--scsi0', 'local:1').code).toBe(0);
    const before = readConf(121);
    expectOneLine(cvmctl('snapshot', '121', 'snap1'), 1, 'snapshot feature is not available');
    expectOneLine(cvmctl('snapshot', '121', 'current'), 2, "unable to use snapshot name 'current' (reserved name)");
    expectOneLine(cvmctl('snapshot', '121', 'a,b'), 2, "snapname: invalid format - invalid configuration ID 'a,b'");
    expectOneLine(cvmctl('rollback', '121', 'nope'), 1, "snapshot 'nope' does not exist");
    expectOneLine(cvmctl('delsnapshot', '121', 'nope'), 1, "snapshot 'nope' does not exist");
    expect(readConf(121)).toBe(before);
  });
});

describe('disk commands', () => {
  it('resizes and moves disks with progress lines, refusing what qm refuses', () => {
    expect(cvmctl('create', '122', '--virtio0', 'local:1').code).toBe(0);
    const grown = cvmctl('disk', 'resize', '122', 'virtio0', '+512M');
    expect(grown).toMatchObject({ code: 0, stdout: 'update VM 122: resize --disk virtio0 --size +512M\n', stderr: '' });
    expect(readConf(122)).toMatch(/^virtio0: local:122\/vm-122-disk-0\.raw,size=1536M$/m);
    expectOneLine(cvmctl('disk', 'resize', '122', 'virtio0', '1G'), 2, 'shrinking disks is not supported');
    expectOneLine(cvmctl('disk', 'resize', '122', 'virtio0', '1X'), 2, 'size: value does not match the regex pattern');
    expectOneLine(cvmctl('disk', 'resize', '122', 'scsi5', '1G'), 2, "disk 'scsi5' does not exist");

    const moved = cvmctl('disk', 'move', '122', 'virtio0', 'local', '--format', 'qcow2', '--delete');
    expect(moved.code).toBe(0);
    expect(moved.stdout.split('\n')[0]).toBe(
      "copying volume 'local:122/vm-122-disk-0.raw' from current storage 'local' to target storage 'local'",
    );
    expect(moved.stdout).toContain('transferred 1.50 GiB of 1.50 GiB (100.00%)\n');
    expect(moved.stdout).toMatch(/removing source volume 'local:122\/vm-122-disk-0\.raw' after successful copy\n$/);
    expect(readConf(122)).toMatch(/^virtio0: local:122\/vm-122-disk-1\.qcow2,size=1536M$/m);
    expectOneLine(cvmctl('disk', 'move', '122', 'virtio0', 'local'), 2, "you can't move to the same storage with same format");
  });
});
