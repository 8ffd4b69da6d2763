/**
 * The rest of qemu-server's vmconfig_hotplug_pending on a running VM (real QEMU under TCG,
 * q35, ostype l26, no guest OS), through the built CLI: USB host devices and SPICE ports are
 * added and removed on the qemu-xhci controller (QEMU accepts a `usb-host` whose device is
 * absent and waits for it), the tablet comes and goes, the balloon target is sent with
 * `shares: 0` and reset on delete (seen in QEMU's `virtio_balloon_to_target` trace: without
 * a guest driver `query-balloon` keeps answering the full size), and `cpuunits`/`cpulimit`
 * go to the VM's cpu cgroup, which `start` created and put QEMU in. What cannot change live
 * stays in [PENDING]. Checked against QEMU's view (qom-list, `info usb`, query-chardev,
 * query-mice) and the cgroup files the kernel holds. A cloud-init drive added live gets its image
 * and is plugged. A second VM, started with `-S`, shows a
 * disk hot-added and removed before the firmware numbered the PCI bridges (query-pci blind).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { type CpuCgroup, findCpuCgroup } from '../../src/run/cgroup.js';
import { cliSync, configSections as sectionsOf, makeTestRoot, QEMU_BINARY, QEMU_IMG, qmpOnce, readIfExists, type TestRoot, waitFor } from './helpers.js';

const ready = Boolean(QEMU_BINARY && QEMU_IMG);
const VMID = 9441;
const MiB = 2 ** 20;

const cli = cliSync;
const configSections = (root: string) => sectionsOf(root, VMID);

describe.skipIf(!ready)(`USB, tablet, balloon and cgroup changes on a running VM${ready ? '' : ' (skipped: needs qemu-system-x86_64 and qemu-img)'}`, () => {
  let r: TestRoot;
  let trace: string;
  let cg: CpuCgroup;
  const qmp = <T>(command: string, args?: Record<string, unknown>): Promise<T> => qmpOnce<T>(r.root, VMID, command, args);
  const peripherals = async () => (await qmp<{ name: string }[]>('qom-list', { path: '/machine/peripheral' })).map((p) => p.name);
  const usbInfo = async () => (await qmp<string>('human-monitor-command', { 'command-line': 'info usb' })).replace(/\r/g, '');
  const balloonTargets = () => [...readIfExists(trace).matchAll(/balloon target: 0x([0-9a-f]+)/g)].map((m) => Number.parseInt(m[1] as string, 16) / MiB);
  const cgroupFile = (name: string) => readFileSync(join(cg.scope, name), 'utf8').trim();
  const set = (...args: string[]) => cli(r.root, 'set', String(VMID), ...args);

  beforeAll(async () => {
    r = makeTestRoot('cvmctl-hotplug-usb-');
    trace = join(r.root, 'balloon-trace.log');
    r.writeConfig(
      VMID,
      [
        `args: -trace enable=virtio_balloon_to_target -D ${trace}`,
        'balloon: 200',
        'cores: 1',
        'cpulimit: 1.5',
        'cpuunits: 500',
        'kvm: 0',
        'machine: q35',
        'memory: 256',
        'ostype: l26',
        'sockets: 1',
        'vga: none',
        '',
      ].join('\n'),
    );
    const start = cli(r.root, 'start', String(VMID), '--json');
    expect(start.code, start.stderr).toBe(0);
    r.track((JSON.parse(start.stdout) as { pid: number }).pid);
    const found = await findCpuCgroup(r.root, VMID);
    if (!found) throw new Error('this host has no cpu cgroup controller (/proc/self/cgroup, /sys/fs/cgroup)');
    cg = found;
    // what a QEMU killed without a stop in a since-deleted state root leaves behind
    mkdirSync(join(cg.base, 'cvmctl-000000000000.slice', '1.scope'), { recursive: true });
  }, 120_000);

  afterAll(async () => {
    if (r) {
      cli(r.root, 'stop', String(VMID));
      r.cleanup();
      // the stop removed the VM's cgroup and this root's slice, and swept the empty leftovers
      if (cg) expect([existsSync(join(cg.base, cg.slice)), existsSync(join(cg.base, 'cvmctl-000000000000.slice'))]).toEqual([false, false]);
    }
  });

  it('starts QEMU in its cpu cgroup with cpuunits and cpulimit, and with the balloon target and stats polling', async () => {
    const pid = Number(readFileSync(join(r.root, 'run', `${VMID}.pid`), 'utf8'));
    expect(cgroupFile('cgroup.procs').split('\n')).toContain(String(pid));
    // every QEMU thread moved along (the vCPU thread included)
    expect(cgroupFile('tasks').split('\n').length).toBeGreaterThan(1);
    if (cg.version === 2) expect([cgroupFile('cpu.weight'), cgroupFile('cpu.max')]).toEqual(['500', '150000 100000']);
    else expect([cgroupFile('cpu.shares'), cgroupFile('cpu.cfs_quota_us'), cgroupFile('cpu.cfs_period_us')]).toEqual(['500', '150000', '100000']);
    expect(await waitFor(() => (balloonTargets().length ? balloonTargets() : undefined), 10_000)).toEqual([200]);
    expect(await qmp('qom-get', { path: 'machine/peripheral/balloon0', property: 'guest-stats-polling-interval' })).toBe(2);
  });

  it('changes cpuunits and cpulimit live, and resets them on delete', () => {
    expect(set('--cpuunits', '2000', '--cpulimit', '0.25')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root)).toMatchObject({ main: { cpuunits: '2000', cpulimit: '0.25' }, pending: {} });
    if (cg.version === 2) expect([cgroupFile('cpu.weight'), cgroupFile('cpu.max')]).toEqual(['2000', '25000 100000']);
    else expect([cgroupFile('cpu.shares'), cgroupFile('cpu.cfs_quota_us')]).toEqual(['2000', '25000']);

    expect(set('--delete', 'cpuunits,cpulimit')).toMatchObject({ code: 0, stderr: '' });
    const { main, pending } = configSections(r.root);
    expect([main.cpuunits, main.cpulimit, pending]).toEqual([undefined, undefined, {}]);
    if (cg.version === 2) expect([cgroupFile('cpu.weight'), cgroupFile('cpu.max')]).toEqual(['100', 'max 100000']);
    else expect([cgroupFile('cpu.shares'), cgroupFile('cpu.cfs_quota_us')]).toEqual(['1024', '-1']);
  }, 60_000);

  it('adds a host USB device and a SPICE port on qemu-xhci, and removes them again', async () => {
    expect(await peripherals()).not.toContain('xhci');
    expect(set('--usb0', '1234:5678', '--usb1', 'spice')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root)).toMatchObject({ main: { usb0: '1234:5678', usb1: 'spice' }, pending: {} });
    const names = await peripherals();
    expect(names).toEqual(expect.arrayContaining(['xhci', 'usb0', 'usbredirdev1']));
    const info = await usbInfo();
    expect(info).toMatch(/Port 1, .*Product USB Host Device, ID: usb0/);
    expect(info).toMatch(/Port 2, .*Product USB Redirection Device, ID: usbredirdev1/);
    const chardevs = await qmp<{ label: string; filename: string }[]>('query-chardev');
    expect(chardevs).toContainEqual(expect.objectContaining({ label: 'usbredirchardev1', filename: 'spicevmc' }));

    // a port changes from SPICE to a host device: the old device goes first
    expect(set('--usb1', '1234:0001')).toMatchObject({ code: 0, stderr: '' });
    expect(await usbInfo()).toMatch(/Port 2, .*Product USB Host Device, ID: usb1/);
    expect(await peripherals()).not.toContain('usbredirdev1');

    expect(set('--delete', 'usb0,usb1')).toMatchObject({ code: 0, stderr: '' });
    const { main, pending } = configSections(r.root);
    expect([main.usb0, main.usb1, pending]).toEqual([undefined, undefined, {}]);
    expect(await usbInfo()).not.toMatch(/ID: usb[01]/);
    expect((await peripherals()).filter((n) => /^usb/.test(n))).toEqual([]);
  }, 60_000);

  it('keeps a USB change pending when the hotplug option lacks usb', async () => {
    expect(set('--hotplug', 'network,disk')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.hotplug).toBe('network,disk');
    expect(set('--usb2', '1234:0002')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).pending).toEqual({ usb2: '1234:0002' });
    expect(await peripherals()).not.toContain('usb2');
    expect(set('--revert', 'usb2', '--delete', 'hotplug')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).pending).toEqual({});
  }, 60_000);

  it('unplugs the tablet and plugs it back when the setting is removed', async () => {
    const tablet = async () => (await qmp<{ name: string }[]>('query-mice')).some((m) => m.name === 'QEMU HID Tablet');
    expect(await tablet()).toBe(true);
    expect(set('--tablet', '0')).toMatchObject({ code: 0, stderr: '' });
    expect(await tablet()).toBe(false);
    expect(set('--delete', 'tablet')).toMatchObject({ code: 0, stderr: '' });
    expect(await tablet()).toBe(true);
    expect(configSections(r.root).pending).toEqual({});
  }, 60_000);

  it('sends a balloon target only with shares=0, resets it to memory on delete, keeps switching the device off pending', async () => {
    const before = balloonTargets().length;
    expect(set('--balloon', '160')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root)).toMatchObject({ main: { balloon: '160' }, pending: {} });
    // auto-ballooning's floor (pvestatd): nothing sent to QEMU
    expect(balloonTargets().length).toBe(before);

    expect(set('--shares', '0', '--balloon', '96')).toMatchObject({ code: 0, stderr: '' });
    expect(await waitFor(() => (balloonTargets().length > before ? balloonTargets().slice(before) : undefined), 10_000)).toEqual([96]);
    expect(set('--delete', 'balloon')).toMatchObject({ code: 0, stderr: '' });
    expect(await waitFor(() => (balloonTargets().length > before + 1 ? balloonTargets().slice(before) : undefined), 10_000)).toEqual([96, 256]);
    // no guest driver here: QEMU reports the full size as the actual one
    expect(await qmp('query-balloon')).toEqual({ actual: 256 * MiB });

    expect(set('--balloon', '0')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).pending).toEqual({ balloon: '0' });
    expect(set('--revert', 'balloon')).toMatchObject({ code: 0, stderr: '' });
  }, 60_000);

  it('generates the image of a cloud-init drive added to the running VM (allocating a missing volume) and hotplugs it', async () => {
    const drive = `local:${VMID}/vm-${VMID}-cloudinit.qcow2,media=cdrom`;
    const image = join(r.root, 'images', String(VMID), `vm-${VMID}-cloudinit.qcow2`);
    expect(existsSync(image)).toBe(false);
    expect(set('--scsi1', drive)).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root)).toMatchObject({ main: { scsi1: drive }, pending: {} });
    expect(existsSync(image)).toBe(true);
    expect(await peripherals()).toContain('scsi1');
    // (unplugging it would take the SCSI controller with it, which needs a guest to let go of the PCI device)
  }, 60_000);
});

describe.skipIf(!ready)(`hotplug before the firmware numbered the PCI bridges${ready ? '' : ' (skipped: needs qemu-system-x86_64 and qemu-img)'}`, () => {
  // q35 puts the SCSI controller behind pcidmi/pci.0; QEMU started with -S runs no firmware, so
  // query-pci cannot see below those bridges (as during OVMF's first seconds under TCG)
  const EARLY = 9442;
  let r: TestRoot;
  const qdevs = async () => {
    const c = await QmpClient.connect(join(r.root, 'run', `${EARLY}.qmp`));
    try {
      return (await c.execute<{ qdev?: string }[]>('query-block')).map((b) => b.qdev);
    } finally {
      await c.close();
    }
  };

  beforeAll(() => {
    r = makeTestRoot('cvmctl-hotplug-early-');
    mkdirSync(join(r.root, 'images', String(EARLY)), { recursive: true });
    execFileSync(QEMU_IMG as string, ['create', '-q', '-f', 'qcow2', join(r.root, 'images', String(EARLY), `vm-${EARLY}-disk-0.qcow2`), '16M']);
    r.writeConfig(
      EARLY,
      ['args: -S', 'boot: order=scsi0', 'kvm: 0', 'machine: q35', 'memory: 128', `scsi0: local:${EARLY}/vm-${EARLY}-disk-0.qcow2,size=16M`, 'vga: none', ''].join('\n'),
    );
    const start = cli(r.root, 'start', String(EARLY), '--json');
    expect(start.code, start.stderr).toBe(0);
    r.track((JSON.parse(start.stdout) as { pid: number }).pid);
  }, 120_000);

  afterAll(() => {
    if (r) {
      cli(r.root, 'stop', String(EARLY));
      r.cleanup();
    }
  });

  it('adds a SCSI disk to the controller that is there, and removes it', async () => {
    const add = cli(r.root, 'set', String(EARLY), '--scsi1', 'local:0.01,format=qcow2');
    expect(add.stderr).toBe('');
    expect(sectionsOf(r.root, EARLY).pending).toEqual({});
    expect(await qdevs()).toContain('scsi1');
    expect(cli(r.root, 'set', String(EARLY), '--delete', 'scsi1')).toMatchObject({ code: 0, stderr: '' });
    expect(sectionsOf(r.root, EARLY).main.unused0).toBe(`local:${EARLY}/vm-${EARLY}-disk-1.qcow2`);
    expect(await qdevs()).not.toContain('scsi1');
  }, 60_000);
});
