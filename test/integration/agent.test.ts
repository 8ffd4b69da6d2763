/**
 * `cvmctl agent` through the built CLI against a real QEMU (TCG) and the real Debian guest
 * agent. This host has no guest kernel (/boot is empty) to boot a guest with qemu-ga inside,
 * so the test first shows what a VM without a running agent answers (QEMU's `<vmid>.qga`
 * chardev is there, nobody speaks on the other side), then puts `qemu-ga -m unix-listen` on
 * the VM's `.qga` path: every agent command then crosses the real guest-agent protocol
 * (guest-sync-delimited, 0xFF framing, base64 exec output) from the CLI to qemu-ga.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVm, stopVm } from '../../src/run/index.js';
import { makeTestRoot, QEMU_BINARY, type TestRoot, waitFor } from './helpers.js';

const BIN = resolve('bin/cvmctl');
const QEMU_GA = '/usr/sbin/qemu-ga';
const built = existsSync(resolve('dist/cli/main.js'));
const ready = Boolean(QEMU_BINARY) && built && existsSync(QEMU_GA);

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

describe.skipIf(!ready)(`cvmctl agent${ready ? '' : ' (skipped: needs qemu-system-x86_64, /usr/sbin/qemu-ga and npm run build)'}`, () => {
  let r: TestRoot;
  let ga: ChildProcess | undefined;
  let gaState: string;
  const VMID = 9411;

  beforeAll(async () => {
    r = makeTestRoot('cvmctl-agent-');
    gaState = mkdtempSync(join(tmpdir(), 'cvmctl-qga-'));
    r.writeConfig(VMID, 'name: agent-vm\nmemory: 64\ncores: 1\nkvm: 0\nvga: none\nagent: 1\n');
    r.writeConfig(9412, 'name: no-agent\nmemory: 64\nkvm: 0\nvga: none\n');
    r.writeConfig(9413, 'name: stopped\nmemory: 64\nkvm: 0\nvga: none\nagent: enabled=1\n');
    const ctx = await r.context();
    const started = await startVm(ctx, VMID, { timeoutSec: 60 });
    r.track(started.pid);
    // the generator wires the channel like qemu-server (chardev socket + virtserialport)
    expect(started.argv).toContain(`socket,path=${join(r.root, 'run')}/${VMID}.qga,server=on,wait=off,id=qga0`);
    expect(started.argv).toContain('virtserialport,chardev=qga0,name=org.qemu.guest_agent.0');
  }, 120_000);

  afterAll(async () => {
    ga?.kill('SIGKILL');
    if (r) {
      await stopVm(await r.context(), VMID, { timeoutSec: 10 }).catch(() => undefined);
      r.cleanup();
    }
    rmSync(gaState, { recursive: true, force: true });
  });

  it("says why it cannot talk to an agent, with qemu-server's texts", async () => {
    const t0 = Date.now();
    expect(await cli(r.root, ['agent', String(VMID), 'ping'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'QEMU guest agent is not running\n',
    });
    // guest-ping waits 3 s (qga_check_running), not the 5 s default
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
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

  describe('with qemu-ga answering on the VM channel', () => {
    beforeAll(async () => {
      const socket = join(r.root, 'run', `${VMID}.qga`);
      unlinkSync(socket);
      ga = spawn(QEMU_GA, ['-m', 'unix-listen', '-p', socket, '-t', gaState], { stdio: 'ignore' });
      expect(await waitFor(() => (existsSync(socket) ? true : undefined), 10_000)).toBe(true);
    });

    it('ping, info, network-get-interfaces and fsfreeze-status', async () => {
      expect(await cli(r.root, ['agent', String(VMID), 'ping'])).toEqual({ code: 0, stdout: '', stderr: '' });
      const info = await cli(r.root, ['agent', String(VMID), 'info']);
      expect(info.code).toBe(0);
      // qm prints Perl's pretty JSON: three-space indent, " : " between key and value
      expect(info.stdout).toMatch(/^\{\n {3}"supported_commands" : \[\n/);
      const parsed = JSON.parse(info.stdout) as { version: string; supported_commands: { name: string; enabled: boolean }[] };
      expect(parsed.supported_commands.map((c) => c.name)).toContain('guest-exec');
      expect(parsed.version).toMatch(/^\d+\.\d+/);
      const ifaces = JSON.parse((await cli(r.root, ['agent', String(VMID), 'network-get-interfaces'])).stdout) as {
        name: string;
        'ip-addresses'?: { 'ip-address': string }[];
      }[];
      const lo = ifaces.find((i) => i.name === 'lo');
      expect(lo?.['ip-addresses']?.map((a) => a['ip-address'])).toContain('127.0.0.1');
      expect(await cli(r.root, ['agent', String(VMID), 'fsfreeze-status'])).toEqual({ code: 0, stdout: 'thawed\n', stderr: '' });
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
  });
});
