/**
 * @module test/api/agent
 * The guest agent endpoints against real QEMU under TCG (`kvm: 0`, `vga: none`) started through
 * the API, booting the tiny Linux test guest (scripts/test-guest.sh) with the Debian qemu-guest-agent
 * running inside it: every call crosses the VM's virtio-serial channel to the guest. Also the
 * "not running" paths (the VM's vCPUs paused: nobody answers), the command index, the per-command
 * HTTP methods, `exec` with an argv array and stdin, `exec-status`, and qemu-server 9's privileges
 * (VM.GuestAgent.Audit for reads, Unrestricted for exec and the generic endpoint).
 * When the guest cannot be built here (no network for `apt-get download`), the tests say why and skip.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestArgs, prepareTestGuest, waitGuestReady } from '../integration/guest.js';
import { alive, QEMU_BINARY, waitFor } from '../integration/helpers.js';
import { type Credentials, dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

const tools = Boolean(QEMU_BINARY) && existsSync('/usr/sbin/qemu-ga');
const prepared = tools ? prepareTestGuest() : { reason: 'needs qemu-system-x86_64 and /usr/sbin/qemu-ga (run scripts/setup.sh)' };
const skip = 'reason' in prepared ? prepared.reason : undefined;
if (skip) console.warn(`test/api/agent skipped: ${skip}`);

const VM = 9501;
const base = `/nodes/${NODE}/qemu/${VM}/agent`;

describe.skipIf(Boolean(skip))(`guest agent API against qemu-ga in the test guest${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestServer;
  let logDir: string;
  let serial: string;
  let pid: number | undefined;
  let vmUser: Credentials;
  let auditor: Credentials;

  const create = async (vmid: number, extra: Record<string, string>) => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, {
      form: { vmid: String(vmid), memory: '64', cores: '1', kvm: '0', vga: 'none', ...extra },
    });
    expect((await t.waitTask(r.body?.data as string)).exitstatus).toBe('OK');
  };

  beforeAll(async () => {
    if (!('guest' in prepared)) return;
    t = await startTestServer();
    logDir = mkdtempSync(join(tmpdir(), 'cvmctl-api-guest-'));
    serial = join(logDir, 'serial.log');
    await create(VM, { agent: '1', memory: '256', args: guestArgs(prepared.guest, serial) });
    await create(9502, {});
    await create(9503, { agent: 'enabled=1' });
    const st = await t.waitTask((await t.call('POST', `/nodes/${NODE}/qemu/${VM}/status/start`)).body?.data as string, 120_000);
    expect(st.exitstatus).toBe('OK');
    pid = dataOf<{ pid: number }>(await t.call('GET', `/nodes/${NODE}/qemu/${VM}/status/current`)).pid;
    await t.addUser('vmuser@pve', 'vmuser-secret', { [`/vms/${VM}`]: ['PVEVMUser'] });
    vmUser = await t.login('vmuser@pve', 'vmuser-secret');
    auditor = await t.login('audit@pve', 'auditpw-secret');
  }, 180_000);

  afterAll(async () => {
    if (t) {
      const r = await t.call('POST', `/nodes/${NODE}/qemu/${VM}/status/stop`);
      if (r.status === 200) await t.waitTask(r.body?.data as string, 60_000).catch(() => undefined);
    }
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await t?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }, 90_000);

  it('the index lists the commands served, sorted', async () => {
    const names = dataOf<{ name: string }[]>(await t.call('GET', base)).map((e) => e.name);
    expect(names).toEqual([...names].sort());
    for (const n of ['exec', 'exec-status', 'fsfreeze-status', 'info', 'network-get-interfaces', 'ping', 'get-osinfo']) {
      expect(names).toContain(n);
    }
  });

  it("refuses with qemu-server's texts when there is no agent to talk to", async () => {
    // the guest's vCPUs paused: the channel is there, nobody answers on it
    expect((await t.waitTask((await t.call('POST', `/nodes/${NODE}/qemu/${VM}/status/suspend`)).body?.data as string)).exitstatus).toBe(
      'OK',
    );
    const t0 = Date.now();
    const ping = await t.call('POST', `${base}/ping`);
    expect([ping.status, ping.reason]).toEqual([500, 'QEMU guest agent is not running']);
    // guest-ping gets its 3 s before the agent counts as not running
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    expect((await t.waitTask((await t.call('POST', `/nodes/${NODE}/qemu/${VM}/status/resume`)).body?.data as string)).exitstatus).toBe(
      'OK',
    );
    const none = await t.call('GET', `/nodes/${NODE}/qemu/9502/agent/info`);
    expect([none.status, none.reason]).toEqual([500, 'No QEMU guest agent configured']);
    const stopped = await t.call('GET', `/nodes/${NODE}/qemu/9503/agent/info`);
    expect([stopped.status, stopped.reason]).toEqual([500, 'VM 9503 is not running']);
    const missing = await t.call('GET', `/nodes/${NODE}/qemu/9599/agent/info`);
    expect(missing.status).toBe(500);
    expect(missing.reason).toBe(`Configuration file 'nodes/${NODE}/qemu-server/9599.conf' does not exist`);
  }, 60_000);

  it('each command answers only on its own HTTP method; the generic POST checks its enum', async () => {
    expect((await t.call('POST', `${base}/info`)).status).toBe(501);
    expect((await t.call('GET', `${base}/ping`)).status).toBe(501);
    const bad = await t.call('POST', base, { form: { command: 'reboot' } });
    expect(bad.status).toBe(400);
    expect(bad.body?.errors?.command).toMatch(/^value 'reboot' does not have a value in the enumeration/);
    const badPid = await t.call('GET', `${base}/exec-status`, { query: { pid: 'x' } });
    expect(badPid.status).toBe(400);
    expect(badPid.body?.errors?.pid).toBe("type check ('integer') failed - got 'x'");
  });

  describe('with the guest up and its agent running', () => {
    beforeAll(async () => {
      const console = await waitGuestReady(serial);
      expect(console, `guest console:\n${readFileSync(serial, 'utf8')}`).toBeDefined();
    }, 300_000);

    it('ping, info, network-get-interfaces, fsfreeze-status and the generic POST answer {result}', async () => {
      expect((await t.call('POST', `${base}/ping`)).body).toEqual({ data: { result: {} } });
      const info = dataOf<{ result: { version: string; supported_commands: { name: string }[] } }>(await t.call('GET', `${base}/info`));
      expect(info.result.version).toMatch(/^\d+\.\d+/);
      expect(info.result.supported_commands.map((c) => c.name)).toContain('guest-exec');
      const ifaces = dataOf<{ result: { name: string; 'ip-addresses'?: { 'ip-address': string }[] }[] }>(
        await t.call('GET', `${base}/network-get-interfaces`),
      ).result;
      expect(ifaces.find((i) => i.name === 'lo')?.['ip-addresses']?.map((a) => a['ip-address'])).toContain('127.0.0.1');
      expect((await t.call('POST', `${base}/fsfreeze-status`)).body).toEqual({ data: { result: 'thawed' } });
      expect((await t.call('POST', base, { form: { command: 'fsfreeze-status' } })).body).toEqual({ data: { result: 'thawed' } });
      // the name the guest's /init set
      expect(dataOf(await t.call('GET', `${base}/get-host-name`))).toEqual({ result: { 'host-name': 'cvmctl-test-guest' } });
    }, 60_000);

    it('exec takes argv as an array (no shell), answers the pid; exec-status gives the decoded output', async () => {
      // repeated form keys: the arguments keep their commas, quotes and spaces
      const started = dataOf<{ pid: number }>(
        await t.call('POST', `${base}/exec`, { form: { command: ['/bin/sh', '-c', 'echo "a, b; c"; echo err >&2; exit 3'] } }),
      );
      expect(started.pid).toBeGreaterThan(0);
      const status = await waitFor(async () => {
        const st = dataOf<Record<string, unknown>>(await t.call('GET', `${base}/exec-status`, { query: { pid: String(started.pid) } }));
        return st.exited === 1 ? st : undefined;
      }, 20_000);
      expect(status).toMatchObject({ exited: 1, exitcode: 3, 'out-data': 'a, b; c\n', 'err-data': 'err\n', 'out-truncated': 0 });
      // JSON array and input-data as stdin
      const cat = dataOf<{ pid: number }>(
        await t.call('POST', `${base}/exec`, { json: { command: ['/bin/cat'], 'input-data': 'line 1\nline 2\n' } }),
      );
      const catStatus = await waitFor(async () => {
        const st = dataOf<Record<string, unknown>>(await t.call('GET', `${base}/exec-status`, { query: { pid: String(cat.pid) } }));
        return st.exited === 1 ? st : undefined;
      }, 20_000);
      expect(catStatus).toMatchObject({ exitcode: 0, 'out-data': 'line 1\nline 2\n' });
      const neither = await t.call('POST', `${base}/exec`);
      // a parameter error in cvmctl's one status mapping (qemu-server dies with 500 here)
      expect([neither.status, neither.reason]).toEqual([400, 'command or input-data (or both) required']);
      const tooLong = await t.call('POST', `${base}/exec`, { form: { command: '/bin/true', 'input-data': 'x'.repeat(64 * 1024 + 1) } });
      expect(tooLong.status).toBe(400);
      expect(Object.keys(tooLong.body?.errors ?? {})).toEqual(['input-data']);
    }, 60_000);

    it('privileges: VM.GuestAgent.Audit reads, FileSystemMgmt freezes, only Unrestricted executes', async () => {
      // PVEAuditor: VM.GuestAgent.Audit on /
      expect((await t.call('GET', `${base}/info`, { as: auditor })).status).toBe(200);
      expect((await t.call('POST', `${base}/fsfreeze-status`, { as: auditor })).status).toBe(200);
      expect((await t.call('POST', `${base}/fsfreeze-thaw`, { as: auditor })).status).toBe(403);
      expect((await t.call('POST', `${base}/shutdown`, { as: auditor })).status).toBe(403);
      // PVEVMUser on the VM: Audit, FileSystemMgmt and PowerMgmt, but not Unrestricted
      expect((await t.call('POST', `${base}/ping`, { as: vmUser })).status).toBe(200);
      expect((await t.call('POST', `${base}/fsfreeze-thaw`, { as: vmUser })).status).toBe(200);
      for (const [method, path, form] of [
        ['POST', `${base}/exec`, { command: '/bin/true' }],
        ['GET', `${base}/exec-status?pid=1`, undefined],
        ['POST', base, { command: 'ping' }],
      ] as const) {
        const r = await t.call(method, path, form ? { as: vmUser, form } : { as: vmUser, rawPath: false });
        expect(r.status, `${method} ${path}`).toBe(403);
      }
      // nothing on another VM
      expect((await t.call('GET', `/nodes/${NODE}/qemu/9503/agent/info`, { as: vmUser })).status).toBe(403);
    }, 60_000);
  });
});
