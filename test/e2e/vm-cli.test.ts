/**
 * @module test/e2e/vm-cli
 * End-to-end tests of `cvmctl create/set/config/list/destroy` through bin/cvmctl (run
 * `npm run build` first): results on stdout, one-line errors with the right exit code, the
 * config file untouched by rejected input, pending changes for a running VM, and 20
 * concurrent `set --digest` processes of which exactly one wins.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVmConfig } from '../../src/config/file/parse.js';
import { fakeQemu } from '../helpers/fake-qemu.js';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'cvmctl');

let root: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cvmctl(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, '--root', root, ...args], { encoding: 'utf8', env: { ...process.env, CVMCTL_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function cvmctlAsync(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, '--root', root, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const confPath = (vmid: number) => join(root, 'qemu-server', `${vmid}.conf`);
const readConf = (vmid: number) => readFileSync(confPath(vmid), 'utf8');
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** A rejected command: exit 2, one stderr line naming key and value, no output, no stack. */
function expectRejected(r: Run, ...mustContain: string[]): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const text of mustContain) expect(r.stderr).toContain(text);
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` before the e2e tests');
  root = mkdtempSync(join(tmpdir(), 'cvmctl-vm-cli-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('cvmctl create / config / set / list / destroy', () => {
  it('creates a VM config with the qemu-server create defaults', () => {
    const r = cvmctl(
      'create',
      '200',
      '--name',
      'web',
      '--memory',
      '2048',
      '--cores',
      '2',
      '--net0',
      'virtio,bridge=vmbr0',
      '--onboot',
      'yes',
    );
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const conf = parseVmConfig(confPath(200), readConf(200), { strict: true }).conf;
    expect(conf).toMatchObject({ name: 'web', memory: '2048', cores: '2', onboot: '1', boot: 'order=net0' });
    expect(conf.net0).toMatch(/^virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=vmbr0$/);
    expect(conf.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(conf.vmgenid).toMatch(/^[0-9a-f-]{36}$/);
    expect(conf.meta).toMatch(/^creation-qemu=\d+\.\d+\.\d+,ctime=\d+$/);
  });

  it('prints the config as sorted key: value lines and as JSON with the file digest', () => {
    const r = cvmctl('config', '200');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([...lines].sort());
    expect(lines).toContain('memory: 2048');
    expect(lines).toContain('onboot: 1');
    const json = JSON.parse(cvmctl('config', '200', '--json').stdout) as Record<string, unknown>;
    expect(json.digest).toBe(sha1(readConf(200)));
    expect(json.cores).toBe(2);
    expect(json.onboot).toBe(1);
    expect(json.name).toBe('web');
  });

  it('sets and deletes options, printing the qm log line', () => {
    const r = cvmctl('set', '200', '--memory', '4096', '--delete', 'onboot', '--description', 'two\nlines: 100%');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('update VM 200: -delete onboot -description two\nlines: 100% -memory 4096\n');
    const text = readConf(200);
    expect(text.startsWith('#two\n#lines%3A 100%25\n')).toBe(true);
    expect(text).toContain('memory: 4096\n');
    expect(text).not.toContain('onboot');
    expect(text).not.toContain('[PENDING]');
    expect(cvmctl('config', '200').stdout).toContain('description: two%0Alines%3A 100%25\n');
  });

  it('accepts a matching digest and refuses a stale one without touching the file', () => {
    const before = readConf(200);
    expect(cvmctl('set', '200', '--cores', '4', '--digest', sha1(before)).code).toBe(0);
    const after = readConf(200);
    const r = cvmctl('set', '200', '--cores', '8', '--digest', sha1(before));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('checksum mismatch (file change by other user?)\n');
    expect(readConf(200)).toBe(after);
  });

  it('rejects bad input with one line, exit 2, and writes nothing', () => {
    const before = readConf(200);
    expectRejected(cvmctl('set', '200', '--memory', 'lots'), 'memory', "'lots'", 'allowed:');
    expectRejected(cvmctl('set', '200', '--amd-sev', 'type=xyz'), 'amd-sev', "'type=xyz'", "enumeration 'std, es, snp'");
    expectRejected(cvmctl('set', '200', '--cores', '0'), 'cores', "'0'", 'minimum value of 1');
    expectRejected(cvmctl('set', '200', '--onboot', 'maybe'), 'onboot', "'maybe'", 'boolean');
    expectRejected(cvmctl('set', '200', '--bios', 'uefi'), 'bios', "'uefi'", 'ovmf');
    expectRejected(cvmctl('set', '200', '--delete', 'nosuchkey'), "unknown option 'nosuchkey'");
    expectRejected(cvmctl('set', '200', '--delete', 'memory', '--memory', '512'), "-delete memory'");
    expectRejected(cvmctl('set', '200'), 'no options specified');
    expectRejected(cvmctl('set', 'abc', '--memory', '512'), 'vmid', "'abc'");
    expectRejected(cvmctl('set', '200', '--nosuchkey', '1'), "'--nosuchkey'");
    expectRejected(cvmctl('create', '99'), 'vmid', "'99'", '100');
    expectRejected(cvmctl('config', '200', '--current', '--snapshot', 'x'), "cannot use 'snapshot' parameter with 'current'");
    expect(readConf(200)).toBe(before);
  });

  it('refuses values it could not read back or generate, and drives parse_drive rejects (issue 12, 10/11/13)', () => {
    const before = readConf(200);
    for (const key of ['sshkeys', 'affinity', 'machine', 'vga', 'usb0', 'hostpci0']) {
      expectRejected(cvmctl('set', '200', `--${key}`, ''), `${key}: invalid value '' - empty value - use --delete ${key}`);
    }
    expectRejected(cvmctl('set', '200', '--hotplug', '\u00a0'), 'hotplug', 'invalid hotplug feature');
    expectRejected(cvmctl('set', '200', '--virtio0', 'local:1,media=cdrom'), 'virtio0', 'virtio does not support media=cdrom');
    expectRejected(cvmctl('set', '200', '--scsi1', 'local:1,mbps=1,bps=2'), 'scsi1', 'both bps and mbps specified');
    expectRejected(cvmctl('set', '200', '--scsi1', 'local:1,mbps_max=3'), 'scsi1', 'mbps_max requires mbps');
    expectRejected(cvmctl('set', '200', '--ide2', 'none,media=cdrom,snapshot=1'), 'ide2', "a cdrom cannot have 'snapshot'");
    expectRejected(cvmctl('set', '200', '--scsi1', 'nosuch:1'), "scsi1: invalid value 'nosuch:1' - storage 'nosuch' does not exist");
    expectRejected(cvmctl('create', '201', '--scsi1', 'nosuch:1'), "scsi1: invalid value 'nosuch:1' - storage 'nosuch' does not exist");
    expect(existsSync(confPath(201))).toBe(false);
    expect(readConf(200)).toBe(before);
  });

  it('refuses to create an existing VM and leaves it unchanged', () => {
    const before = readConf(200);
    const r = cvmctl('create', '200', '--memory', '512');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('unable to create VM 200: config file already exists\n');
    expect(readConf(200)).toBe(before);
  });

  it('honours the config lock unless --skiplock is given', () => {
    expect(cvmctl('set', '200', '--lock', 'backup').code).toBe(0);
    const r = cvmctl('set', '200', '--memory', '1024');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('VM is locked (backup)\n');
    expect(cvmctl('set', '200', '--delete', 'lock', '--skiplock').code).toBe(0);
    expect(readConf(200)).not.toContain('lock:');
  });

  it('keeps changes pending while the VM runs; config shows them, --current does not', async () => {
    // a process that looks like the VM's QEMU (its command line names the pid file)
    const qemu = await fakeQemu(join(root, 'run', '200.pid'));
    try {
      expect(cvmctl('set', '200', '--memory', '8192', '--delete', 'cores').code).toBe(0);
      expect(readConf(200)).toMatch(/\n\[PENDING\]\ndelete: cores\nmemory: 8192\n$/);
      expect(cvmctl('config', '200').stdout).toContain('memory: 8192\n');
      expect(cvmctl('config', '200').stdout).not.toContain('cores:');
      expect(cvmctl('config', '200', '--current').stdout).toContain('memory: 4096\n');
      expect(cvmctl('list').stdout).toMatch(new RegExp(`\\n\\s+200 web\\s+running\\s+4096\\s+0\\.00 ${qemu.pid}\\s*\\n`));
    } finally {
      qemu.stop();
    }
    // stopped again: the next change applies everything that was pending
    expect(cvmctl('set', '200', '--name', 'web2').code).toBe(0);
    const text = readConf(200);
    expect(text).not.toContain('[PENDING]');
    expect(text).toContain('memory: 8192\n');
    expect(text).not.toContain('cores:');
  });

  it('lists VMs as a qm list table and as JSON', () => {
    expect(cvmctl('create', '150', '--memory', '1024', '--scsi0', 'local:150/vm-150-disk-0.raw,size=10G').code).toBe(0);
    const r = cvmctl('list');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       ');
    expect(r.stdout).toContain('       150 VM 150               stopped    1024              10.00 0         \n');
    expect(r.stdout.indexOf(' 150 ')).toBeLessThan(r.stdout.indexOf(' 200 '));
    const json = JSON.parse(cvmctl('list', '--json').stdout) as Array<Record<string, unknown>>;
    expect(json.map((v) => v.vmid)).toEqual([150, 200]);
    expect(json[0]).toMatchObject({ name: 'VM 150', status: 'stopped', maxmem: 1024 * 1024 * 1024, maxdisk: 10 * 1024 ** 3 });
  });

  it('destroys a VM and then reports it missing', () => {
    expect(cvmctl('destroy', '150')).toMatchObject({ code: 0, stdout: '' });
    expect(existsSync(confPath(150))).toBe(false);
    const r = cvmctl('config', '150');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Configuration file '${confPath(150)}' does not exist\n`);
    expect(cvmctl('destroy', '150').code).toBe(1);
  });
});

describe('concurrent set with the same digest', () => {
  it('lets exactly one of 20 processes win; the file is always complete and valid', async () => {
    expect(cvmctl('create', '300', '--memory', '1024', '--name', 'race').code).toBe(0);
    const digest = sha1(readConf(300));
    const invalid: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        try {
          const text = readFileSync(confPath(300), 'utf8');
          const cfg = parseVmConfig(confPath(300), text, { strict: true });
          if (!cfg.conf.name || !cfg.conf.memory) invalid.push(text);
        } catch (err) {
          invalid.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cvmctlAsync('set', '300', '--memory', String(2048 + i), '--digest', digest)),
    );
    reading = false;
    await reader;
    const winners = runs.filter((r) => r.code === 0);
    const losers = runs.filter((r) => r.code !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const r of losers) {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('checksum mismatch (file change by other user?)\n');
    }
    const winnerMemory = (winners[0]?.stdout.match(/-memory (\d+)/) ?? [])[1];
    expect(readConf(300)).toContain(`memory: ${winnerMemory}\n`);
    expect(invalid).toEqual([]);
    expect(existsSync(join(root, 'lock', 'lock-300.conf'))).toBe(false);
  }, 120_000);
});
