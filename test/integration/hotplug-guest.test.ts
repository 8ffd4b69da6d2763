/**
 * `cvmctl set` on a running VM with a real guest OS (the tiny Linux test guest of
 * scripts/test-guest.sh, under TCG, `hotplug: network,disk,cpu,memory`, `numa: 1`): every change
 * is checked on both sides — the config and QEMU's view (query-pci, query-block, query-cpus-fast,
 * query-memory-devices) and what the guest kernel sees, asked through the real qemu-guest-agent
 * inside it (`cvmctl agent exec`, `network-get-interfaces`). With a guest to acknowledge them the
 * unplugs complete (SCSI disk and its controller, virtio NIC, the top vCPU, a DIMM), where
 * test/integration/hotplug.test.ts (no guest OS) can only show them timing out; the guest's
 * balloon driver meets a balloon target, and `reboot` and `shutdown` go through the agent.
 * When the guest cannot be built here (no network for `apt-get download`), the tests say why and skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestArgs, prepareTestGuest, waitGuestReady } from './guest.js';
import {
  cliSync,
  makeTestRoot,
  pciQdevIds,
  QEMU_BINARY,
  QEMU_IMG,
  qmpOnce,
  readIfExists,
  startTracked,
  configSections as sectionsOf,
  type TestRoot,
  waitFor,
} from './helpers.js';

const tools = Boolean(QEMU_BINARY && QEMU_IMG) && existsSync('/usr/sbin/qemu-ga');
const prepared = tools ? prepareTestGuest() : { reason: 'needs qemu-system-x86_64, qemu-img, /usr/sbin/qemu-ga' };
const skip = 'reason' in prepared ? prepared.reason : undefined;
if (skip) console.warn(`test/integration/hotplug-guest skipped: ${skip}`);

const VMID = 9441;
const NIC_MAC = 'BC:24:11:00:94:41';
const cli = cliSync;
const configSections = (root: string) => sectionsOf(root, VMID);

describe.skipIf(Boolean(skip))(`hotplug seen from inside a running guest${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let r: TestRoot;
  let serial: string;
  const qmp = <T>(command: string, args?: Record<string, unknown>) => qmpOnce<T>(r.root, VMID, command, args);
  const pciIds = () => pciQdevIds(r.root, VMID);
  const blockDevices = async () => (await qmp<{ qdev?: string }[]>('query-block')).map((b) => b.qdev).filter(Boolean);

  /** Run a program in the guest through the agent; its stdout (exit code 0 asserted). */
  const guest = (...argv: string[]): string => {
    const res = cli(r.root, 'agent', String(VMID), 'exec', '--', ...argv);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { exitcode: number; 'out-data'?: string; 'err-data'?: string };
    expect(out.exitcode, out['err-data']).toBe(0);
    return out['out-data'] ?? '';
  };
  /** Poll a guest-side value until `ok` holds (the guest handles ACPI events asynchronously). */
  const guestUntil = async (argv: string[], ok: (out: string) => boolean, timeoutMs = 60_000): Promise<string> => {
    let last = '';
    await waitFor(
      () => {
        last = guest(...argv);
        return ok(last) ? true : undefined;
      },
      timeoutMs,
      1000,
    );
    return last;
  };
  const guestMacs = () =>
    (JSON.parse(cli(r.root, 'agent', String(VMID), 'network-get-interfaces').stdout) as { 'hardware-address'?: string }[]).map(
      (i) => i['hardware-address'],
    );
  const memTotalKiB = (meminfo = guest('cat', '/proc/meminfo')) => Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1]);

  beforeAll(async () => {
    if (!('guest' in prepared)) return;
    r = makeTestRoot('cvmctl-hotplug-guest-');
    serial = join(r.logs, 'guest-serial.log');
    mkdirSync(join(r.root, 'images', String(VMID)), { recursive: true });
    r.writeConfig(
      VMID,
      [
        'agent: 1',
        `args: ${guestArgs(prepared.guest, serial)}`,
        'cores: 1',
        'hotplug: network,disk,cpu,memory',
        'kvm: 0',
        'memory: 1024',
        'numa: 1',
        'scsihw: virtio-scsi-pci',
        'sockets: 2',
        'vcpus: 1',
        'vga: none',
        '',
      ].join('\n'),
    );
    startTracked(r, VMID);
    const console = await waitGuestReady(serial);
    expect(console, `guest console:\n${readFileSync(serial, 'utf8')}`).toBeDefined();
  }, 300_000);

  afterAll(() => {
    if (r) {
      cli(r.root, 'stop', String(VMID));
      r.cleanup();
    }
  }, 60_000);

  it('adds a SCSI disk (and its controller) the guest sees as sda, and removes both completely', async () => {
    expect(guest('ls', '/sys/block')).not.toMatch(/\bsd[a-z]\b/);
    expect(cli(r.root, 'set', String(VMID), '--scsi1', 'local:0.01,format=qcow2')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.scsi1).toMatch(/^local:9441\/vm-9441-disk-0\.qcow2,size=/);
    expect(await pciIds()).toContain('scsihw0');
    expect(await blockDevices()).toContain('scsi1');
    await guestUntil(['ls', '/sys/block'], (out) => /^sda$/m.test(out));
    // the guest's size of the disk is the image's
    const sectors = Number(guest('cat', '/sys/block/sda/size'));
    const imageBytes = JSON.parse(
      execFileSync(QEMU_IMG as string, ['info', '--output=json', '-U', join(r.root, 'images', String(VMID), 'vm-9441-disk-0.qcow2')], {
        encoding: 'utf8',
      }),
    )['virtual-size'] as number;
    expect(sectors * 512).toBe(imageBytes);

    // the guest lets go of the disk, then of the controller (no disk left on it): both unplugs complete
    expect(cli(r.root, 'set', String(VMID), '--delete', 'scsi1')).toMatchObject({ code: 0, stderr: '' });
    const removed = configSections(r.root);
    expect(removed.main.scsi1).toBeUndefined();
    expect(removed.main.unused0).toBe('local:9441/vm-9441-disk-0.qcow2');
    expect(removed.pending).toEqual({});
    expect(await blockDevices()).not.toContain('scsi1');
    expect(await pciIds()).not.toContain('scsihw0');
    await guestUntil(['ls', '/sys/block'], (out) => !/\bsd[a-z]\b/.test(out));
  }, 180_000);

  it('adds a virtio disk the guest sees as vda, and removes it completely', async () => {
    expect(guest('ls', '/sys/block')).not.toMatch(/\bvd[a-z]\b/);
    expect(cli(r.root, 'set', String(VMID), '--virtio1', 'local:0.01,format=qcow2')).toMatchObject({ code: 0, stderr: '' });
    const volume = configSections(r.root).main.virtio1?.split(',')[0];
    expect(volume).toMatch(/^local:9441\/vm-9441-disk-\d\.qcow2$/);
    expect(await pciIds()).toContain('virtio1');
    await guestUntil(['ls', '/sys/block'], (out) => /^vda$/m.test(out));
    // the guest reads and writes the device: a pattern written at the end reads back
    guest('sh', '-c', 'printf cvmctl-hotplug | dd of=/dev/vda bs=512 seek=100 conv=notrunc,fsync 2>/dev/null');
    expect(guest('dd', 'if=/dev/vda', 'bs=512', 'skip=100', 'count=1')).toMatch(/^cvmctl-hotplug\0/);

    expect(cli(r.root, 'set', String(VMID), '--delete', 'virtio1')).toMatchObject({ code: 0, stderr: '' });
    const removed = configSections(r.root);
    expect(removed.main.virtio1).toBeUndefined();
    expect(Object.values(removed.main)).toContain(volume);
    expect(removed.pending).toEqual({});
    expect(await pciIds()).not.toContain('virtio1');
    expect(await blockDevices()).not.toContain('/machine/peripheral/virtio1/virtio-backend');
    await guestUntil(['ls', '/sys/block'], (out) => !/\bvd[a-z]\b/.test(out));
  }, 180_000);

  it('adds a virtio NIC the guest sees with its MAC, and removes it completely', async () => {
    expect(guestMacs()).not.toContain(NIC_MAC.toLowerCase());
    expect(cli(r.root, 'set', String(VMID), '--net1', `virtio=${NIC_MAC}`)).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.net1).toBe(`virtio=${NIC_MAC}`);
    expect(await pciIds()).toContain('net1');
    expect(await waitFor(() => (guestMacs().includes(NIC_MAC.toLowerCase()) ? true : undefined), 60_000, 1000)).toBe(true);

    const t0 = Date.now();
    expect(cli(r.root, 'set', String(VMID), '--delete', 'net1')).toMatchObject({ code: 0, stderr: '' });
    const after = configSections(r.root);
    expect(after.main.net1).toBeUndefined();
    expect(after.pending).toEqual({});
    expect(await pciIds()).not.toContain('net1');
    expect(await qmp<string>('human-monitor-command', { 'command-line': 'info network' })).not.toMatch(/net1/);
    expect(guestMacs()).not.toContain(NIC_MAC.toLowerCase());
    // the guest acknowledged the unplug: no reset was needed, and it took less than the verify window
    expect(Date.now() - t0).toBeLessThan(60_000);
  }, 180_000);

  it('grows vCPUs: the new CPU comes online in the guest; shrinking unplugs it from QEMU and the guest', async () => {
    expect(guest('cat', '/sys/devices/system/cpu/online')).toBe('0\n');
    expect(cli(r.root, 'set', String(VMID), '--vcpus', '2')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.vcpus).toBe('2');
    expect((await qmp<unknown[]>('query-cpus-fast')).length).toBe(2);
    await guestUntil(['cat', '/sys/devices/system/cpu/online'], (out) => out === '0-1\n');
    expect(guest('nproc')).toBe('2\n');

    // qemu-server unplugs the top vCPU; the guest's ACPI eject lets QEMU remove it
    expect(cli(r.root, 'set', String(VMID), '--vcpus', '1')).toMatchObject({ code: 0, stderr: '' });
    const { main, pending } = configSections(r.root);
    expect(main.vcpus).toBe('1');
    expect(pending).toEqual({});
    expect(await qmp<{ 'qom-path': string }[]>('query-cpus-fast')).toEqual([expect.objectContaining({ 'cpu-index': 0 })]);
    await guestUntil(['cat', '/sys/devices/system/cpu/online'], (out) => out === '0\n');
    expect(guest('ls', '/sys/devices/system/cpu')).not.toMatch(/^cpu1$/m);
  }, 180_000);

  it('adds a DIMM the guest onlines (MemTotal grows by its size), and removes it again', async () => {
    const before = memTotalKiB();
    expect(before).toBeGreaterThan(0);
    expect(cli(r.root, 'set', String(VMID), '--memory', '1536')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.memory).toBe('1536');
    const devices = await qmp<{ data: { id: string; size: number } }[]>('query-memory-devices');
    expect(devices.map((d) => [d.data.id, d.data.size / 2 ** 20])).toEqual([['dimm0', 512]]);
    await guestUntil(['cat', '/proc/meminfo'], (out) => memTotalKiB(out) - before === 512 * 1024);

    // online_movable: the guest can offline the DIMM's memory again and ejects it
    expect(cli(r.root, 'set', String(VMID), '--memory', '1024')).toMatchObject({ code: 0, stderr: '' });
    const { main, pending } = configSections(r.root);
    expect(main.memory).toBe('1024');
    expect(pending).toEqual({});
    expect(await qmp<unknown[]>('query-memory-devices')).toEqual([]);
    expect((await qmp<{ name: string }[]>('qom-list', { path: '/objects' })).map((o) => o.name)).not.toContain('mem-dimm0');
    await guestUntil(['cat', '/proc/meminfo'], (out) => memTotalKiB(out) === before);
  }, 240_000);

  it("a balloon target (shares: 0) is met by the guest's virtio_balloon driver, and released on delete", async () => {
    const before = memTotalKiB();
    expect(await qmp('query-balloon')).toEqual({ actual: 1024 * 2 ** 20 });
    expect(cli(r.root, 'set', String(VMID), '--shares', '0', '--balloon', '768')).toMatchObject({ code: 0, stderr: '' });
    // the guest gives 256 MiB to the balloon: QEMU sees it, the guest's MemTotal shrinks by as much
    expect(
      await waitFor(
        async () => ((await qmp<{ actual: number }>('query-balloon')).actual === 768 * 2 ** 20 ? true : undefined),
        60_000,
        1000,
      ),
    ).toBe(true);
    await guestUntil(['cat', '/proc/meminfo'], (out) => before - memTotalKiB(out) === 256 * 1024);
    expect(cli(r.root, 'set', String(VMID), '--delete', 'balloon')).toMatchObject({ code: 0, stderr: '' });
    expect(
      await waitFor(
        async () => ((await qmp<{ actual: number }>('query-balloon')).actual === 1024 * 2 ** 20 ? true : undefined),
        60_000,
        1000,
      ),
    ).toBe(true);
    await guestUntil(['cat', '/proc/meminfo'], (out) => memTotalKiB(out) === before);
  }, 180_000);

  it('reboot shuts the guest down through its agent and starts it again', async () => {
    const pidFile = join(r.root, 'run', `${VMID}.pid`);
    const before = readFileSync(pidFile, 'utf8').trim();
    const res = cli(r.root, 'reboot', String(VMID));
    expect(res, res.stderr).toMatchObject({ code: 0 });
    // a new QEMU, its console (the file chardev starts empty) showing a fresh boot
    expect(readFileSync(pidFile, 'utf8').trim()).not.toBe(before);
    const console = await waitGuestReady(serial);
    expect(console, `guest console:\n${readIfExists(serial)}`).toBeDefined();
    expect(cli(r.root, 'agent', String(VMID), 'ping')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(Number(guest('cut', '-d.', '-f1', '/proc/uptime'))).toBeLessThan(300);
  }, 300_000);

  // last: the guest ignores the ACPI power button (no acpid), so only the agent's guest-shutdown can power it off
  it('shutdown goes through the guest agent, as qm shutdown does with agent: 1', () => {
    const res = cli(r.root, 'shutdown', String(VMID), '--timeout', '120');
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(serial, 'utf8')).toMatch(/^guest: shutdown (-h )?-P \+0 hypervisor initiated shutdown\r?$/m);
    expect(cli(r.root, 'status', String(VMID))).toMatchObject({ code: 0, stdout: 'status: stopped\n' });
  }, 180_000);
});
