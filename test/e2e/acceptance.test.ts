/**
 * @module test/e2e/acceptance
 * Regression tests for what an acceptance run of every command found, through bin/cvmctl
 * (run `npm run build` first): one VM-id parser for every command (`0100` is not VM 100),
 * an empty or unusable `--root`, numbers too large to mean anything, drive values naming
 * volumes that cannot be drives, error lines that stay readable for huge or multi-line
 * values, qemu-server's `memory` default in `list`, folded multi-line warnings, lifecycle
 * commands on missing and locked VMs (a real QEMU under TCG, stopped again at the end),
 * `--timeout` bounds, `measure --vcpus` bounds and an empty `host capabilities --write`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'cvmctl');
const QEMU = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) => existsSync(p));

let root: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cvmctl(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, '--root', root, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CVMCTL_DEBUG: '', CVMCTL_ROOT: '' },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const confPath = (vmid: number) => join(root, 'qemu-server', `${vmid}.conf`);
const readConf = (vmid: number) => readFileSync(confPath(vmid), 'utf8');

/** One stderr line, nothing on stdout, no stack, no "internal error", the given exit code. */
function expectOneLineError(r: Run, code: number, ...mustContain: string[]): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at |TimeoutOverflowWarning/);
  for (const text of mustContain) expect(r.stderr).toContain(text);
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` before the e2e tests');
  root = mkdtempSync(join(tmpdir(), 'cvmctl-acceptance-'));
  expect(cvmctl('create', '100', '--memory', '128', '--kvm', '0', '--vga', 'none').code).toBe(0);
});

afterAll(() => {
  // never leave a QEMU behind, whatever a test did
  for (const vmid of ['100', '700', '710']) cvmctl('stop', vmid, '--skiplock', '--timeout', '5');
  rmSync(root, { recursive: true, force: true });
});

describe('VM ids', () => {
  it('refuses 0100 in every command instead of acting on VM 100', () => {
    const commands: string[][] = [
      ['create'],
      ['config'],
      ['destroy'],
      ['showcmd'],
      ['start'],
      ['stop'],
      ['status'],
      ['reset'],
      ['lint'],
      ['measure'],
      ['policy', 'show'],
    ];
    for (const cmd of commands) {
      expectOneLineError(
        cvmctl(...cmd, '0100'),
        2,
        "vmid: invalid value '0100'",
        'does not look like a valid VM ID',
        'allowed: integer between 100 and 999999999',
      );
    }
    expectOneLineError(cvmctl('showcmd', '--file', confPath(100), '--vmid', '0100'), 2, "vmid: invalid value '0100'");
    expect(existsSync(confPath(100))).toBe(true);
  });

  it('names the same range for too small, too large and non-numeric ids everywhere', () => {
    for (const cmd of [['config'], ['start'], ['lint'], ['policy', 'show'], ['measure'], ['showcmd']]) {
      expectOneLineError(cvmctl(...cmd, '99'), 2, "vmid: invalid value '99'", 'minimum value of 100');
      expectOneLineError(cvmctl(...cmd, '1e3'), 2, "vmid: invalid value '1e3'", "type check ('integer') failed");
      expectOneLineError(cvmctl(...cmd, '1000000000'), 2, 'maximum value of 999999999');
    }
  });
});

describe('usage errors', () => {
  it('keeps commander usage errors with a suggestion on one line', () => {
    expectOneLineError(cvmctl('status', '100', '--jsn'), 2, "error: unknown option '--jsn' (Did you mean --json?)");
    expectOneLineError(cvmctl('stats', '100'), 2, "error: unknown command 'stats' (Did you mean status?)");
    expectOneLineError(cvmctl('create', '100', 'extra'), 2, 'too many arguments');
  });
});

describe('state root', () => {
  it('refuses an empty --root instead of falling back to the system-wide root', () => {
    expectOneLineError(cvmctl('--root', '', 'list'), 2, "root: invalid value ''");
  });

  it('reports a root that is a file as one line with exit 1, not an internal error', () => {
    const r = spawnSync(process.execPath, [BIN, '--root', '/etc/passwd', 'list'], { encoding: 'utf8' });
    expectOneLineError({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }, 1, 'ENOTDIR', '/etc/passwd');
  });
});

describe('create / set input', () => {
  it('refuses numbers beyond 2^53 - 1, naming the sub-key, and writes nothing', () => {
    const before = readConf(100);
    expectOneLineError(
      cvmctl('set', '100', '--memory', '99999999999999999999'),
      2,
      'memory:',
      'current: value must have a maximum value of 9007199254740991',
    );
    expectOneLineError(
      cvmctl('set', '100', '--cores', '99999999999999999999'),
      2,
      "cores: invalid value '99999999999999999999'",
      'maximum value',
    );
    expectOneLineError(cvmctl('set', '100', '--sockets', '9007199254740993'), 2, 'sockets:');
    expect(readConf(100)).toBe(before);
    expect(cvmctl('set', '100', '--sockets', '1').code).toBe(0);
  });

  it('refuses drive values naming volumes that cannot be drives, before allocating anything', () => {
    expectOneLineError(
      cvmctl('create', '101', '--scsi0', 'local:-1'),
      2,
      "scsi0: invalid value 'local:-1'",
      "unable to parse directory volume name '-1'",
    );
    expectOneLineError(cvmctl('create', '101', '--scsi0', 'local:../../etc/passwd'), 2, 'scsi0:', 'unable to parse directory volume name');
    expectOneLineError(
      cvmctl('create', '101', '--scsi0', 'local:iso/x.iso'),
      2,
      'scsi0:',
      "explicit 'media=cdrom' is required for iso images",
    );
    expectOneLineError(cvmctl('create', '101', '--scsi0', 'local:vztmpl/x.tar.gz'), 2, "content type needs to be 'images' or 'iso'");
    expectOneLineError(cvmctl('create', '101', '--scsi0', 'nosuch:101/vm-101-disk-0.raw'), 2, "storage 'nosuch' does not exist");
    expectOneLineError(cvmctl('create', '101', '--scsi0', 'local:1', '--scsi1', 'local:-1'), 2, 'scsi1:');
    expect(existsSync(confPath(101))).toBe(false);
    expect(existsSync(join(root, 'images', '101')) ? readdirSync(join(root, 'images', '101')) : []).toEqual([]);
    expectOneLineError(
      cvmctl('create', '101', '--scsi0', 'local:1', '--scsi1', 'local:99999999999'),
      2,
      'scsi1:',
      'is too large (allowed: at most 8589934591 GiB)',
    );
    // a failing qemu-img leaves neither an image nor an empty image directory behind
    const failing = spawnSync(process.execPath, [BIN, '--root', root, 'create', '101', '--scsi0', 'local:1'], {
      encoding: 'utf8',
      env: { ...process.env, CVMCTL_QEMU_IMG: '/bin/false' },
    });
    expectOneLineError({ code: failing.status ?? -1, stdout: failing.stdout, stderr: failing.stderr }, 1, 'unable to create image');
    expect(existsSync(confPath(101))).toBe(false);
    expect(existsSync(join(root, 'images', '101'))).toBe(false);
    const before = readConf(100);
    expectOneLineError(cvmctl('set', '100', '--ide2', 'local:iso/x.iso'), 2, "ide2: invalid value 'local:iso/x.iso'", 'media=cdrom');
    expect(readConf(100)).toBe(before);
    expect(cvmctl('set', '100', '--ide2', 'local:iso/x.iso,media=cdrom').code).toBe(0);
    expect(cvmctl('set', '100', '--delete', 'ide2').code).toBe(0);
  });

  it('names key and value for a boot order with a missing device, after the update line as qm prints it', () => {
    const before = readConf(100);
    // update_vm checks the boot order inside its worker, after 'update VM …' is printed
    const r = cvmctl('set', '100', '--boot', 'order=scsi9');
    expectOneLineError(
      { ...r, stdout: r.stdout.replace(/^update VM 100: -boot order=scsi9\n$/, '') },
      2,
      "boot: invalid value 'order=scsi9'",
      "device 'scsi9' does not exist",
    );
    expect(r.stdout).toBe('update VM 100: -boot order=scsi9\n');
    expect(readConf(100)).toBe(before);
  });

  it('refuses --args with an unbalanced quote; quoted args reach the command line as single words', () => {
    expectOneLineError(cvmctl('set', '100', '--args', "-device 'a b"), 2, "args: invalid value '-device 'a b'", 'unbalanced quote');
    expect(readConf(100)).not.toContain('args:');
    expect(cvmctl('set', '100', '--args', `-device 'virtio-rng-pci,id=x y' -name "a,b"`).code).toBe(0);
    const { argv } = JSON.parse(cvmctl('showcmd', '100', '--json').stdout) as { argv: string[] };
    expect(argv.slice(-4)).toEqual(['-device', 'virtio-rng-pci,id=x y', '-name', 'a,b']);
    expect(cvmctl('set', '100', '--delete', 'args').code).toBe(0);
  });

  it('keeps error lines readable: long values cut with their length, line breaks shown as \\n', () => {
    const long = 'x'.repeat(9000);
    const r = cvmctl('set', '100', '--description', long);
    expectOneLineError(r, 2, 'description:', '(9000 characters)', 'at most 8192 characters');
    expect(r.stderr.length).toBeLessThan(400);
    expectOneLineError(cvmctl('set', '100', '--name', 'a\nb'), 2, "name: invalid value 'a\\nb'", 'line feed');
    const id = cvmctl('start', 'a'.repeat(5000));
    expectOneLineError(id, 2, 'vmid:', '(5000 characters)');
    expect(id.stderr.length).toBeLessThan(400);
  });
});

describe('disks', () => {
  it('frees only the deleted volume: the VM keeps its other disks (set --delete unusedN, --force)', () => {
    expect(cvmctl('create', '104', '--scsi0', 'local:1', '--scsi1', 'local:1', '--tpmstate0', 'local:1,version=v2.0').code).toBe(0);
    const dir = join(root, 'images', '104');
    const images = () => readdirSync(dir).sort();
    expect(images()).toEqual(['vm-104-disk-0.raw', 'vm-104-disk-1.raw', 'vm-104-disk-2.raw']);
    expect(cvmctl('set', '104', '--delete', 'scsi0').code).toBe(0);
    expect(readConf(104)).toContain('unused0: local:104/vm-104-disk-0.raw');
    expect(cvmctl('set', '104', '--delete', 'unused0').code).toBe(0);
    expect(images()).toEqual(['vm-104-disk-1.raw', 'vm-104-disk-2.raw']);
    expect(cvmctl('set', '104', '--delete', 'scsi1', '--force').code).toBe(0);
    expect(images()).toEqual(['vm-104-disk-2.raw']);
    expect(readConf(104)).toContain('tpmstate0: local:104/vm-104-disk-2.raw');
    // the TPM runs on swtpm: the kept state volume starts and stops with the VM
    expect(cvmctl('set', '104', '--kvm', '0', '--vga', 'none', '--memory', '64').code).toBe(0);
    const started = cvmctl('start', '104');
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(cvmctl('stop', '104').code).toBe(0);
    expect(readFileSync(join(dir, 'vm-104-disk-2.raw')).subarray(0, 8).toString('latin1')).not.toBe('\0'.repeat(8));
    expect(cvmctl('destroy', '104').code).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('read commands', () => {
  it("lists a VM without memory with qemu-server's default of 512 MiB", () => {
    writeFileSync(confPath(102), 'name: nomem\n');
    const rows = JSON.parse(cvmctl('list', '--json').stdout) as { vmid: number; maxmem: number }[];
    expect(rows.find((r) => r.vmid === 102)?.maxmem).toBe(512 * 1024 * 1024);
    expect(cvmctl('list').stdout).toMatch(/^\s+102 nomem\s+stopped\s+512\s/m);
    rmSync(confPath(102));
  });

  it('reports a missing snapshot as a runtime failure in config as in showcmd', () => {
    expectOneLineError(cvmctl('config', '100', '--snapshot', 'nope'), 1, "snapshot 'nope' does not exist");
    expectOneLineError(cvmctl('showcmd', '100', '--snapshot', 'nope'), 1, "snapshot 'nope' does not exist");
  });

  it('folds multi-line parse warnings of showcmd into single WARN lines', () => {
    mkdirSync(join(root, 'qemu-server'), { recursive: true });
    writeFileSync(confPath(103), 'memory: abc\ncores: 1\nkvm: 0\n');
    const r = cvmctl('showcmd', '103');
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^WARN: /);
    expect(r.stderr).toContain(
      "WARN: vm 103 - unable to parse value of 'memory' - format error - current: type check ('integer') failed - got 'abc'",
    );
    rmSync(confPath(103));
  });
});

describe('lifecycle input', () => {
  it('reports a VM without config as missing for every lifecycle command', () => {
    for (const cmd of ['start', 'stop', 'shutdown', 'reboot', 'reset', 'suspend', 'resume', 'status']) {
      expectOneLineError(cvmctl(cmd, '555'), 1, `Configuration file '${join(root, 'qemu-server', '555.conf')}' does not exist`);
    }
  });

  it('bounds --timeout to 0 - 86400 and names what is allowed', () => {
    for (const cmd of ['start', 'stop', 'shutdown', 'reboot']) {
      expectOneLineError(
        cvmctl(cmd, '100', '--timeout', '-1'),
        2,
        "timeout: invalid value '-1'",
        'minimum value of 0',
        'allowed: integer between 0 and 86400',
      );
      expectOneLineError(cvmctl(cmd, '100', '--timeout', '99999999999999999999'), 2, 'maximum value of 86400');
      expectOneLineError(cvmctl(cmd, '100', '--timeout', 'abc'), 2, "type check ('integer') failed");
    }
    expect(cvmctl('start', '--help').stdout).toMatch(/--skiplock/);
  });
});

describe.skipIf(!QEMU)('lifecycle of a locked VM (real QEMU, TCG)', () => {
  it('honours the config lock like qm start/stop/reset, and --skiplock overrides it', () => {
    expect(cvmctl('create', '700', '--kvm', '0', '--vga', 'none', '--memory', '128', '--lock', 'backup').code).toBe(0);
    expectOneLineError(cvmctl('start', '700'), 1, 'VM is locked (backup)');
    expect(cvmctl('status', '700').stdout).toBe('status: stopped\n');
    const started = cvmctl('start', '700', '--skiplock', '--json');
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ vmid: 700, qmpstatus: 'running' });
    try {
      expectOneLineError(cvmctl('stop', '700'), 1, 'VM is locked (backup)');
      expectOneLineError(cvmctl('reset', '700'), 1, 'VM is locked (backup)');
      expectOneLineError(cvmctl('shutdown', '700', '--timeout', '1', '--force-stop'), 1, 'VM is locked (backup)');
      // suspend and resume tolerate a backup lock, as qemu-server's vm_suspend/vm_resume do
      expect(cvmctl('suspend', '700').code).toBe(0);
      expect(JSON.parse(cvmctl('status', '700', '--json').stdout)).toMatchObject({ status: 'paused' });
      expect(cvmctl('resume', '700').code).toBe(0);
      expect(cvmctl('reset', '700', '--skiplock').code).toBe(0);
      expect(JSON.parse(cvmctl('status', '700', '--json').stdout)).toMatchObject({ status: 'running' });
    } finally {
      const stopped = cvmctl('stop', '700', '--skiplock', '--timeout', '10');
      expect(stopped).toMatchObject({ code: 0, stdout: 'VM 700 stopped (quit)\n' });
    }
    expect(cvmctl('status', '700').stdout).toBe('status: stopped\n');
    expect(cvmctl('stop', '700').stdout).toBe('VM 700 was not running\n');
  });
});

describe.skipIf(!QEMU)('pending changes (real QEMU, TCG)', () => {
  it('applies changes kept pending while the VM ran when it starts again, like vm_start', () => {
    expect(cvmctl('create', '710', '--kvm', '0', '--vga', 'none', '--memory', '128').code).toBe(0);
    expect(cvmctl('start', '710').code).toBe(0);
    try {
      expect(cvmctl('set', '710', '--memory', '192', '--cores', '2').code).toBe(0);
      expect(readConf(710)).toContain('[PENDING]');
      expect(cvmctl('config', '710', '--current').stdout).toContain('memory: 128\n');
    } finally {
      expect(cvmctl('stop', '710').code).toBe(0);
    }
    expect(cvmctl('start', '710').code).toBe(0);
    try {
      const text = readConf(710);
      expect(text).not.toContain('[PENDING]');
      expect(text).toContain('memory: 192\n');
      expect(text).toContain('cores: 2\n');
      const pid = readFileSync(join(root, 'run', '710.pid'), 'utf8').trim();
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(args[args.indexOf('-m') + 1]).toBe('192');
    } finally {
      expect(cvmctl('stop', '710').code).toBe(0);
    }
  });
});

describe('measure and host input', () => {
  it('bounds measure --vcpus instead of running out of memory', () => {
    const ovmf = join(root, 'fake-ovmf.fd');
    writeFileSync(ovmf, Buffer.alloc(4096));
    for (const v of ['0', '-1', '4097', '99999999999999999999']) {
      expectOneLineError(
        cvmctl('measure', '--mode', 'seves', '--ovmf', ovmf, '--vcpus', v, '--vcpu-type', 'EPYC'),
        2,
        `--vcpus: invalid value '${v}'`,
        'between 1 and 4096',
      );
    }
  });

  it('refuses an empty host capabilities --write path', () => {
    expectOneLineError(cvmctl('host', 'capabilities', '--write', ''), 2, "write: invalid value ''");
  });

  it('states config key defaults in create/set help, also via `help <command>`, and prints --version', () => {
    for (const args of [
      ['create', '--help'],
      ['help', 'create'],
      ['help', 'set'],
    ]) {
      const r = cvmctl(...args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--memory <value>\s+Memory properties\. \(default: 512\)/);
      expect(r.stdout).toMatch(/--bios <value>\s+Select BIOS implementation\. \(default: seabios\)/);
    }
    const v = cvmctl('--version');
    expect(v.code).toBe(0);
    expect(v.stdout).toBe(`cvmctl ${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  it('says in policy explain --help that --type is required', () => {
    expect(cvmctl('policy', 'explain', '--help').stdout).toMatch(/--type <type>\s+policy kind \(required\)/);
  });
});
