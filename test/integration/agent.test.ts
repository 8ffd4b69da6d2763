/**
 * `cvmctl agent` through the built CLI against a real QEMU (TCG) booting the tiny Linux test
 * guest (scripts/test-guest.sh: Debian's kernel and busybox in an initramfs) with the Debian
 * qemu-guest-agent running INSIDE it on the virtio-serial port org.qemu.guest_agent.0: every
 * command crosses QEMU's chardev, the virtio-serial device and the guest kernel to the agent.
 * With the guest's vCPUs paused, and after the agent inside is killed, the CLI says what qemu-server says.
 * When the guest cannot be built here (no network for `apt-get download`), the tests say why and skip.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestArgs, prepareTestGuest, TEST_GUEST_DIR, waitGuestReady } from './guest.js';
import { createQcow2, makeTestRoot, QEMU_BINARY, QEMU_IMG, startTracked, type TestRoot, waitFor } from './helpers.js';

const BIN = resolve('bin/cvmctl');
const QEMU_GA = '/usr/sbin/qemu-ga';
const tools = Boolean(QEMU_BINARY && QEMU_IMG) && existsSync(QEMU_GA);
const prepared = tools ? prepareTestGuest() : { reason: 'needs qemu-system-x86_64, qemu-img, /usr/sbin/qemu-ga' };
const skip = 'reason' in prepared ? prepared.reason : undefined;
if (skip) console.warn(`test/integration/agent skipped: ${skip}`);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(root: string, args: string[], stdin?: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [BIN, '--root', root, ...args], { timeout: 90_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

describe.skipIf(Boolean(skip))(`cvmctl agent against qemu-ga in the test guest${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let r: TestRoot;
  let serial: string;
  const VMID = 9411;
  const MAC = 'BC:24:11:00:94:11';

  beforeAll(async () => {
    if (!('guest' in prepared)) return;
    r = makeTestRoot('cvmctl-agent-');
    serial = join(r.logs, 'guest-serial.log');
    createQcow2(r.root, VMID, `vm-${VMID}-disk-0.qcow2`, '32M');
    r.writeConfig(
      VMID,
      `name: agent-vm\nmemory: 256\ncores: 1\nkvm: 0\nvga: none\nagent: 1\nnet0: virtio=${MAC}\nscsihw: virtio-scsi-pci\nscsi0: local:${VMID}/vm-${VMID}-disk-0.qcow2,size=32M\nargs: ${guestArgs(prepared.guest, serial)}\n`,
    );
    r.writeConfig(9412, 'name: no-agent\nmemory: 64\nkvm: 0\nvga: none\n');
    r.writeConfig(9413, 'name: stopped\nmemory: 64\nkvm: 0\nvga: none\nagent: enabled=1\n');
    startTracked(r, VMID);
  }, 120_000);

  afterAll(async () => {
    if (r) {
      await cli(r.root, ['stop', String(VMID)]);
      r.cleanup();
    }
  }, 60_000);

  it("says why it cannot talk to an agent, with qemu-server's texts", async () => {
    // the guest's vCPUs paused: the channel is there, nobody answers on it
    expect(await cli(r.root, ['suspend', String(VMID)])).toMatchObject({ code: 0 });
    const t0 = Date.now();
    expect(await cli(r.root, ['agent', String(VMID), 'ping'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'QEMU guest agent is not running\n',
    });
    // guest-ping waits 3 s (qga_check_running), not the 5 s default
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    expect(await cli(r.root, ['resume', String(VMID)])).toMatchObject({ code: 0 });
    expect(await cli(r.root, ['agent', '9412', 'info'])).toEqual({ code: 1, stdout: '', stderr: 'No QEMU guest agent configured\n' });
    expect(await cli(r.root, ['agent', '9413', 'info'])).toEqual({ code: 1, stdout: '', stderr: 'VM 9413 is not running\n' });
    const bad = await cli(r.root, ['agent', String(VMID), 'reboot']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^command: value 'reboot' does not have a value in the enumeration 'fsfreeze-freeze, .*ping.*'\n$/);
  }, 60_000);

  it('changes fstrim_cloned_disks live; other agent options wait for the next start', async () => {
    const conf = () => readFileSync(join(r.root, 'qemu-server', `${VMID}.conf`), 'utf8');
    expect(await cli(r.root, ['set', String(VMID), '--agent', 'enabled=1,fstrim_cloned_disks=1'])).toMatchObject({ code: 0, stderr: '' });
    expect(conf()).toMatch(/^agent: enabled=1,fstrim_cloned_disks=1$/m);
    expect(conf()).not.toContain('[PENDING]');
    expect(await cli(r.root, ['set', String(VMID), '--agent', 'enabled=1,type=isa'])).toMatchObject({ code: 0, stderr: '' });
    expect(conf()).toMatch(/\[PENDING\]\nagent: enabled=1,type=isa\n/);
    expect(await cli(r.root, ['set', String(VMID), '--revert', 'agent'])).toMatchObject({ code: 0 });
    expect(conf()).not.toContain('[PENDING]');
  }, 60_000);

  describe('with the guest up and its agent running', () => {
    beforeAll(async () => {
      const console = await waitGuestReady(serial);
      expect(console, `guest console:\n${readFileSync(serial, 'utf8')}`).toBeDefined();
    }, 300_000);

    it('ping, info, get-osinfo, network-get-interfaces and fsfreeze-status come from the guest', async () => {
      expect(await cli(r.root, ['agent', String(VMID), 'ping'])).toEqual({ code: 0, stdout: '', stderr: '' });
      const info = await cli(r.root, ['agent', String(VMID), 'info']);
      expect(info.code).toBe(0);
      // qm prints Perl's pretty JSON: three-space indent, " : " between key and value
      expect(info.stdout).toMatch(/^\{\n {3}"supported_commands" : \[\n/);
      const parsed = JSON.parse(info.stdout) as { version: string; supported_commands: { name: string; enabled: boolean }[] };
      expect(parsed.supported_commands.map((c) => c.name)).toContain('guest-exec');
      // the agent binary copied into the guest is the host's Debian qemu-ga
      const hostVersion = /Agent ([\d.]+)/.exec(execFileSync(QEMU_GA, ['--version'], { encoding: 'utf8' }))?.[1];
      expect(parsed.version).toBe(hostVersion);
      const os = JSON.parse((await cli(r.root, ['agent', String(VMID), 'get-osinfo'])).stdout) as Record<string, string>;
      expect(os).toMatchObject({ id: 'cvmctl-test-guest', 'kernel-release': guestKernelRelease(), machine: 'x86_64' });
      const ifaces = JSON.parse((await cli(r.root, ['agent', String(VMID), 'network-get-interfaces'])).stdout) as {
        name: string;
        'hardware-address'?: string;
        'ip-addresses'?: { 'ip-address': string }[];
      }[];
      const lo = ifaces.find((i) => i.name === 'lo');
      expect(lo?.['ip-addresses']?.map((a) => a['ip-address'])).toContain('127.0.0.1');
      // net0 as the guest's virtio_net driver sees it
      expect(ifaces.map((i) => i['hardware-address'])).toContain(MAC.toLowerCase());
      expect(await cli(r.root, ['agent', String(VMID), 'fsfreeze-status'])).toEqual({ code: 0, stdout: 'thawed\n', stderr: '' });
    }, 60_000);

    it('exec runs a program in the guest: uname -r is the test kernel', async () => {
      const res = await cli(r.root, ['agent', String(VMID), 'exec', '--', 'uname', '-r']);
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual({ exitcode: 0, exited: 1, 'out-data': `${guestKernelRelease()}\n`, 'out-truncated': 0 });
    }, 60_000);

    it('exec waits for the program and returns its exit code and output', async () => {
      const res = await cli(r.root, [
        'agent',
        String(VMID),
        'exec',
        '--',
        '/bin/sh',
        '-c',
        'echo out; echo "err, with; chars" >&2; exit 3',
      ]);
      expect(res.code).toBe(0);
      // JSON booleans (out-truncated…) become 1/0 as in qemu_exec_status
      expect(JSON.parse(res.stdout)).toMatchObject({
        exitcode: 3,
        exited: 1,
        'out-data': 'out\n',
        'err-data': 'err, with; chars\n',
        'out-truncated': 0,
      });
      const cat = await cli(r.root, ['agent', String(VMID), 'exec', '--pass-stdin', '--', '/bin/cat'], 'line 1\nline 2\n');
      expect(JSON.parse(cat.stdout)).toMatchObject({ exited: 1, exitcode: 0, 'out-data': 'line 1\nline 2\n' });
    }, 60_000);

    it('exec returns the pid when asked not to wait or when the timeout passes; exec-status reports it', async () => {
      const async = await cli(r.root, ['agent', String(VMID), 'exec', '--synchronous', '0', '--', '/bin/sleep', '2']);
      const { pid } = JSON.parse(async.stdout) as { pid: number };
      expect(pid).toBeGreaterThan(0);
      expect(JSON.parse((await cli(r.root, ['agent', String(VMID), 'exec-status', String(pid)])).stdout)).toEqual({ exited: 0 });
      const done = await waitFor(
        async () => {
          const st = JSON.parse((await cli(r.root, ['agent', String(VMID), 'exec-status', String(pid)])).stdout) as { exited: number };
          return st.exited === 1 ? st : undefined;
        },
        20_000,
        500,
      );
      expect(done).toEqual({ exited: 1, exitcode: 0 });

      const timed = await cli(r.root, ['agent', String(VMID), 'exec', '--timeout', '1', '--', '/bin/sleep', '5']);
      expect(timed.stderr).toBe('WARN: timeout reached, returning pid\n');
      expect(Object.keys(JSON.parse(timed.stdout))).toEqual(['pid']);
      expect((await cli(r.root, ['agent', String(VMID), 'exec', '--synchronous', '0', '--timeout', '3', '--', '/bin/true'])).stderr).toBe(
        "synchronous: needs to be set for 'timeout'\n",
      );
    }, 60_000);

    it("reports the agent's own error as 'Agent error: …'", async () => {
      const res = await cli(r.root, ['agent', String(VMID), 'exec', '--', '/nonexistent/program']);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^Agent error: .*nonexistent.*\n$/);
      const status = await cli(r.root, ['agent', String(VMID), 'exec-status', '999999999']);
      expect(status.code).toBe(1);
      expect(status.stderr).toBe("Agent error: Invalid parameter 'pid'\n");
    }, 60_000);

    it("freezes and thaws the guest's mounted file system; a disk snapshot of the running VM does so too", async () => {
      const exec = async (...argv: string[]) => {
        const res = await cli(r.root, ['agent', String(VMID), 'exec', '--', ...argv]);
        expect(res.code, res.stderr).toBe(0);
        const out = JSON.parse(res.stdout) as { exitcode: number; 'out-data'?: string; 'err-data'?: string };
        expect(out.exitcode, out['err-data']).toBe(0);
        return out['out-data'] ?? '';
      };
      await exec('sh', '-c', 'mke2fs -q /dev/sda && mkdir -p /run/data && mount /dev/sda /run/data && echo kept > /run/data/file');
      // one file system the agent can freeze (tmpfs, proc, sysfs cannot be frozen and are left out)
      expect(await cli(r.root, ['agent', String(VMID), 'fsfreeze-freeze'])).toEqual({ code: 0, stdout: '1\n', stderr: '' });
      expect(await cli(r.root, ['agent', String(VMID), 'fsfreeze-status'])).toEqual({ code: 0, stdout: 'frozen\n', stderr: '' });
      expect(await cli(r.root, ['agent', String(VMID), 'fsfreeze-thaw'])).toEqual({ code: 0, stdout: '1\n', stderr: '' });
      expect(await cli(r.root, ['agent', String(VMID), 'fsfreeze-status'])).toEqual({ code: 0, stdout: 'thawed\n', stderr: '' });

      const froze = (readFileSync(serial, 'utf8').match(/guest-fsfreeze called/g) ?? []).length;
      const snap = await cli(r.root, ['snapshot', String(VMID), 'withguest']);
      expect(snap.code, snap.stderr).toBe(0);
      expect(snap.stdout + snap.stderr).not.toMatch(/skipping guest filesystem freeze|unable to freeze|thaw problems/);
      // qemu-ga logs each freeze on the guest's console
      expect((readFileSync(serial, 'utf8').match(/guest-fsfreeze called/g) ?? []).length).toBe(froze + 1);
      expect(await cli(r.root, ['agent', String(VMID), 'fsfreeze-status'])).toEqual({ code: 0, stdout: 'thawed\n', stderr: '' });
      expect((await cli(r.root, ['listsnapshot', String(VMID)])).stdout).toContain('withguest');
      expect(await exec('cat', '/run/data/file')).toBe('kept\n');
    }, 120_000);

    // last: kill the agent inside the guest; the channel stays, nobody answers any more
    it('says the agent is not running once qemu-ga in the guest is gone; shutdown falls back to ACPI', async () => {
      const kill = await cli(r.root, [
        'agent',
        String(VMID),
        'exec',
        '--synchronous',
        '0',
        '--',
        'sh',
        '-c',
        'sleep 1; kill $(cat /run/qemu-ga.pid)',
      ]);
      expect(kill.code, kill.stderr).toBe(0);
      const gone = await waitFor(
        async () => ((await cli(r.root, ['agent', String(VMID), 'ping'])).code === 1 ? true : undefined),
        30_000,
        500,
      );
      expect(gone).toBe(true);
      expect(await cli(r.root, ['agent', String(VMID), 'info'])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'QEMU guest agent is not running\n',
      });
      // shutdown then warns like qga_check_running and falls back to ACPI, which this guest ignores (no acpid)
      const down = await cli(r.root, ['shutdown', String(VMID), '--timeout', '2', '--force-stop']);
      expect(down.code, down.stderr).toBe(0);
      expect(down.stderr).toContain(`QEMU Guest Agent is not running - VM ${VMID} qga command 'guest-ping' failed - got timeout\n`);
      expect(down.stderr).toContain(`guest did not power off within 2 s - stopping VM ${VMID}\n`);
      expect(readFileSync(serial, 'utf8')).not.toMatch(/guest: shutdown/);
    }, 90_000);
  });
});

/** `uname -r` of the kernel the guest boots, from the package test-guest.sh recorded (linux-image-<release>). */
function guestKernelRelease(): string {
  const stamp = readFileSync(join(TEST_GUEST_DIR, 'stamp'), 'utf8');
  const release = /^linux-image-(\S+) /.exec(stamp)?.[1];
  expect(release).toBeDefined();
  return release as string;
}
