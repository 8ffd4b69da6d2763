/**
 * `cvmctl set` on a running VM (real QEMU under TCG, SeaBIOS, no guest OS) hotplugs like
 * qemu-server's vmconfig_hotplug_pending: a SCSI disk is added and removed (scsi-hd on
 * virtio-scsi needs no guest), a virtio disk and a NIC are added, a NIC removal times out with
 * qemu-server's text while no guest can acknowledge the PCI unplug (and stays pending) and
 * completes once QEMU resets the VM, vCPUs and memory DIMMs grow, and keys that cannot change live stay in [PENDING]. Checked against QEMU's own view
 * (query-block, query-named-block-nodes, query-pci, query-cpus-fast, the objects list).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { cliSync, configSections as sectionsOf, makeTestRoot, QEMU_BINARY, QEMU_IMG, type TestRoot, waitFor } from './helpers.js';

const ready = Boolean(QEMU_BINARY && QEMU_IMG);
const VMID = 9431;

const cli = cliSync;
const configSections = (root: string) => sectionsOf(root, VMID);

describe.skipIf(!ready)(`hotplug on a running VM${ready ? '' : ' (skipped: needs qemu-system-x86_64 and qemu-img)'}`, () => {
  let r: TestRoot;
  // QEMU's QMP socket serves one client at a time: connect per question, so cvmctl can get in
  const qmp = {
    async execute<T>(command: string, args?: Record<string, unknown>): Promise<T> {
      const c = await QmpClient.connect(join(r.root, 'run', `${VMID}.qmp`));
      try {
        return await c.execute<T>(command, args);
      } finally {
        await c.close();
      }
    },
  };

  const blockDevices = async () => (await qmp.execute<{ qdev?: string }[]>('query-block')).map((b) => b.qdev).filter(Boolean);
  const nodeNames = async () => (await qmp.execute<{ 'node-name': string }[]>('query-named-block-nodes')).map((n) => n['node-name']);
  const pciIds = async () => {
    const buses = await qmp.execute<{ devices: { qdev_id: string; pci_bridge?: { devices: { qdev_id: string }[] } }[] }[]>('query-pci');
    return buses.flatMap((b) => b.devices.flatMap((d) => [d.qdev_id, ...(d.pci_bridge?.devices ?? []).map((x) => x.qdev_id)]));
  };
  const objects = async () => (await qmp.execute<{ name: string }[]>('qom-list', { path: '/objects' })).map((o) => o.name);

  beforeAll(async () => {
    r = makeTestRoot('cvmctl-hotplug-');
    mkdirSync(join(r.root, 'images', String(VMID)), { recursive: true });
    execFileSync(QEMU_IMG as string, [
      'create',
      '-q',
      '-f',
      'qcow2',
      join(r.root, 'images', String(VMID), `vm-${VMID}-disk-0.qcow2`),
      '16M',
    ]);
    r.writeConfig(
      VMID,
      [
        'boot: order=scsi0',
        'cores: 1',
        'hotplug: network,disk,cpu',
        'ide2: none,media=cdrom',
        'kvm: 0',
        'memory: 128',
        'scsi0: local:9431/vm-9431-disk-0.qcow2,size=16M',
        'scsihw: virtio-scsi-pci',
        'sockets: 2',
        'vcpus: 1',
        'vga: none',
        '',
      ].join('\n'),
    );
    const start = cli(r.root, 'start', String(VMID), '--json');
    expect(start.code, start.stderr).toBe(0);
    r.track((JSON.parse(start.stdout) as { pid: number }).pid);
  }, 120_000);

  afterAll(async () => {
    if (r) {
      cli(r.root, 'stop', String(VMID));
      r.cleanup();
    }
  });

  it('adds a SCSI disk and removes it again (kept as unused0)', async () => {
    expect(cli(r.root, 'set', String(VMID), '--scsi1', 'local:0.01,format=qcow2')).toMatchObject({ code: 0, stderr: '' });
    const added = configSections(r.root);
    expect(added.main.scsi1).toMatch(/^local:9431\/vm-9431-disk-1\.qcow2,size=/);
    expect(added.pending).toEqual({});
    expect(await blockDevices()).toContain('scsi1');
    expect(await nodeNames()).toContain('drive-scsi1');
    expect(await objects()).toContain('throttle-drive-scsi1');

    expect(cli(r.root, 'set', String(VMID), '--delete', 'scsi1')).toMatchObject({ code: 0, stderr: '' });
    const removed = configSections(r.root);
    expect(removed.main.scsi1).toBeUndefined();
    expect(removed.main.unused0).toBe('local:9431/vm-9431-disk-1.qcow2');
    expect(removed.pending).toEqual({});
    expect(await blockDevices()).not.toContain('scsi1');
    expect(await nodeNames()).not.toContain('drive-scsi1');
    expect(await objects()).not.toContain('throttle-drive-scsi1');
    // the controller stays: scsi0 still uses it
    expect(await pciIds()).toContain('scsihw0');
  }, 120_000);

  it('refuses to unplug the boot disk, and the deletion stays pending', async () => {
    const res = cli(r.root, 'set', String(VMID), '--delete', 'scsi0');
    expect(res).toMatchObject({ code: 1, stderr: "scsi0: hotplug problem - can't unplug bootdisk 'scsi0'\n" });
    // like update_vm: removing a boot device also stages the boot order without it
    expect(configSections(r.root).pending).toEqual({ boot: '', delete: 'scsi0' });
    expect(await blockDevices()).toContain('scsi0');
    expect(cli(r.root, 'set', String(VMID), '--revert', 'scsi0,boot').code).toBe(0);
    expect(configSections(r.root).pending).toEqual({});
  }, 60_000);

  it("changes a disk's throttling live; a cache change waits for the next start", async () => {
    const disk = 'local:9431/vm-9431-disk-0.qcow2,size=16M';
    expect(cli(r.root, 'set', String(VMID), '--scsi0', `${disk},iops=200,mbps=10`)).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root)).toMatchObject({ main: { scsi0: `${disk},iops=200,mbps=10` }, pending: {} });
    const limits = await qmp.execute<Record<string, number>>('qom-get', { path: 'throttle-drive-scsi0', property: 'limits' });
    expect(limits).toMatchObject({ 'bps-total': 10 * 1024 * 1024, 'iops-total': 200, 'bps-read': 0, 'iops-total-max-length': 1 });

    expect(cli(r.root, 'set', String(VMID), '--scsi0', `${disk},cache=writeback,iops=200,mbps=10`)).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).pending).toEqual({ scsi0: `${disk},cache=writeback,iops=200,mbps=10` });
    expect(cli(r.root, 'set', String(VMID), '--revert', 'scsi0').code).toBe(0);
    expect(configSections(r.root).pending).toEqual({});
  }, 60_000);

  it('swaps the cd-rom medium live: insert an ISO, eject it', async () => {
    const isoDir = join(r.root, 'template', 'iso');
    mkdirSync(isoDir, { recursive: true });
    writeFileSync(join(isoDir, 'tools.iso'), Buffer.alloc(2 * 1024 * 1024));
    const cdrom = async () =>
      (await qmp.execute<{ qdev?: string; tray_open?: boolean; inserted?: { file: string } }[]>('query-block')).find(
        (b) => b.qdev === 'ide2',
      );
    expect((await cdrom())?.inserted).toBeUndefined();
    expect(cli(r.root, 'set', String(VMID), '--ide2', 'local:iso/tools.iso,media=cdrom')).toMatchObject({ code: 0, stderr: '' });
    // like update_vm, a cd-rom not in the boot order is appended to it - a pending change of its own
    expect(configSections(r.root)).toMatchObject({
      main: { ide2: 'local:iso/tools.iso,media=cdrom' },
      pending: { boot: 'order=scsi0;ide2' },
    });
    expect(cli(r.root, 'set', String(VMID), '--revert', 'boot').code).toBe(0);
    const inserted = await cdrom();
    expect(inserted?.inserted?.file).toContain(join(isoDir, 'tools.iso'));
    expect(inserted?.tray_open).toBe(false);
    expect(cli(r.root, 'set', String(VMID), '--ide2', 'none,media=cdrom')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.ide2).toBe('none,media=cdrom');
    expect(cli(r.root, 'set', String(VMID), '--revert', 'boot').code).toBe(0);
    expect(configSections(r.root).pending).toEqual({});
    expect((await cdrom())?.inserted).toBeUndefined();
    expect(await nodeNames()).not.toContain('drive-ide2');
  }, 60_000);

  it('adds a virtio disk on its PCI slot', async () => {
    expect(cli(r.root, 'set', String(VMID), '--virtio2', 'local:0.01,format=qcow2')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.virtio2).toMatch(/^local:9431\/vm-9431-disk-\d\.qcow2/);
    expect(await pciIds()).toContain('virtio2');
    expect(await blockDevices()).toContain('/machine/peripheral/virtio2/virtio-backend');
  }, 60_000);

  // A PCI unplug needs the guest OS to acknowledge it, and there is none: with the vCPUs paused
  // the request cannot complete and times out the qemu-server way; QEMU carries out a pending
  // unplug request at a system reset, which then stands in for the guest's acknowledgement.
  it('adds a NIC; removing it times out without the guest, stays pending, and completes after a reset', async () => {
    expect(cli(r.root, 'set', String(VMID), '--net1', 'virtio=BC:24:11:00:00:09,link_down=1')).toMatchObject({ code: 0, stderr: '' });
    expect(configSections(r.root).main.net1).toBe('virtio=BC:24:11:00:00:09,link_down=1');
    expect(await pciIds()).toContain('net1');
    const info = await qmp.execute<string>('human-monitor-command', { 'command-line': 'info network' });
    expect(info).toMatch(/net1: index=0,type=nic,model=virtio-net-pci,macaddr=bc:24:11:00:00:09/);
    expect(info).toMatch(/net1: index=0,type=user/);

    expect(cli(r.root, 'suspend', String(VMID)).code).toBe(0);
    const t0 = Date.now();
    expect(cli(r.root, 'set', String(VMID), '--delete', 'net1')).toMatchObject({
      code: 1,
      stderr: "net1: hotplug problem - error on hot-unplugging device 'net1' - still busy in guest?\n",
    });
    // qemu_devicedelverify: 6 checks a second apart
    expect(Date.now() - t0).toBeGreaterThanOrEqual(5000);
    const pendingDelete = configSections(r.root);
    expect(pendingDelete.main.net1).toBe('virtio=BC:24:11:00:00:09,link_down=1');
    expect(pendingDelete.pending).toEqual({ delete: 'net1' });
    expect(await pciIds()).toContain('net1');

    expect(cli(r.root, 'resume', String(VMID)).code).toBe(0);
    expect(cli(r.root, 'reset', String(VMID)).code).toBe(0);
    expect(await waitFor(async () => ((await pciIds()).includes('net1') ? undefined : true), 20_000)).toBe(true);
    // the retried deletion finds the device gone, removes its netdev and the config entry
    expect(cli(r.root, 'set', String(VMID), '--delete', 'net1')).toMatchObject({ code: 0, stderr: '' });
    const after = configSections(r.root);
    expect(after.main.net1).toBeUndefined();
    expect(after.pending).toEqual({});
    expect(await qmp.execute<string>('human-monitor-command', { 'command-line': 'info network' })).not.toMatch(/net1/);
  }, 90_000);

  it('grows vCPUs with device_add of the CPU model', async () => {
    expect((await qmp.execute<unknown[]>('query-cpus-fast')).length).toBe(1);
    expect(cli(r.root, 'set', String(VMID), '--vcpus', '2')).toMatchObject({ code: 0, stderr: '' });
    expect((await qmp.execute<unknown[]>('query-cpus-fast')).length).toBe(2);
    expect(await qmp.execute<{ 'qom-path': string }[]>('query-cpus-fast')).toContainEqual(
      expect.objectContaining({ 'qom-path': '/machine/peripheral/cpu2' }),
    );
    expect(configSections(r.root).main.vcpus).toBe('2');
    expect(cli(r.root, 'set', String(VMID), '--vcpus', '3')).toMatchObject({
      code: 1,
      stderr: "vcpus: hotplug problem - you can't add more vcpus than maxcpus\n",
    });
    // the failed value stays pending (and would be retried by the next set): revert it
    expect(configSections(r.root).pending).toEqual({ vcpus: '3' });
    expect(cli(r.root, 'set', String(VMID), '--revert', 'vcpus').code).toBe(0);
    // shrinking needs the guest's ACPI eject (QEMU refuses it on this machine without one): it
    // fails after qemu-server's retries and stays pending
    expect(cli(r.root, 'set', String(VMID), '--vcpus', '1')).toMatchObject({
      code: 1,
      stderr: 'vcpus: hotplug problem - error unplugging cpu2\n',
    });
    expect((await qmp.execute<unknown[]>('query-cpus-fast')).length).toBe(2);
    expect(configSections(r.root).main.vcpus).toBe('2');
    expect(cli(r.root, 'set', String(VMID), '--revert', 'vcpus').code).toBe(0);
  }, 60_000);

  it('keeps what cannot change live in [PENDING] and applies it at the next start', async () => {
    expect(
      cli(
        r.root,
        'set',
        String(VMID),
        '--memory',
        '192',
        '--machine',
        'pc-i440fx-10.0',
        '--ide1',
        'local:0.01,format=qcow2',
        '--name',
        'live',
      ),
    ).toMatchObject({
      code: 0,
      stderr: '',
    });
    const { main, pending } = configSections(r.root);
    expect(main.name).toBe('live'); // a fast-plug option
    expect(Object.keys(pending).sort()).toEqual(['ide1', 'machine', 'memory']);
    expect(pending).toMatchObject({ memory: '192', machine: 'pc-i440fx-10.0' });
    expect(pending.ide1).toMatch(/^local:9431\/vm-9431-disk-\d\.qcow2/);
    expect(await blockDevices()).not.toContain('ide1');

    expect(cli(r.root, 'stop', String(VMID)).code).toBe(0);
    const restart = cli(r.root, 'start', String(VMID), '--json');
    expect(restart.code, restart.stderr).toBe(0);
    r.track((JSON.parse(restart.stdout) as { pid: number }).pid);
    const applied = configSections(r.root);
    expect(applied.pending).toEqual({});
    expect(applied.main).toMatchObject({ memory: '192', machine: 'pc-i440fx-10.0' });
    expect(await blockDevices()).toContain('ide1');
  }, 120_000);
});

describe.skipIf(!ready)(`memory hotplug on a running VM${ready ? '' : ' (skipped: needs qemu-system-x86_64 and qemu-img)'}`, () => {
  let r: TestRoot;
  const MEM_VMID = 9432;
  const query = async <T>(command: string): Promise<T> => {
    const c = await QmpClient.connect(join(r.root, 'run', `${MEM_VMID}.qmp`));
    try {
      return await c.execute<T>(command);
    } finally {
      await c.close();
    }
  };
  const dimms = async () =>
    (await query<{ data: { id: string; size: number; node: number } }[]>('query-memory-devices')).map((d) => [
      d.data.id,
      d.data.size / 2 ** 20,
      d.data.node,
    ]);
  const memoryLine = () => /^memory: (.*)$/m.exec(readFileSync(join(r.root, 'qemu-server', `${MEM_VMID}.conf`), 'utf8'))?.[1];

  beforeAll(() => {
    r = makeTestRoot('cvmctl-memhp-');
    r.writeConfig(MEM_VMID, 'hotplug: memory\nkvm: 0\nmemory: 1024\nnuma: 1\nsockets: 1\nvga: none\n');
    const start = cli(r.root, 'start', String(MEM_VMID), '--json');
    expect(start.code, start.stderr).toBe(0);
    r.track((JSON.parse(start.stdout) as { pid: number }).pid);
  }, 120_000);

  afterAll(() => {
    if (r) {
      cli(r.root, 'stop', String(MEM_VMID));
      r.cleanup();
    }
  });

  it('adds the DIMMs a start with the new size would have, and refuses sizes out of range', async () => {
    expect(await dimms()).toEqual([]);
    expect(cli(r.root, 'set', String(MEM_VMID), '--memory', '2048')).toMatchObject({ code: 0, stderr: '' });
    expect(await dimms()).toEqual([
      ['dimm0', 512, 0],
      ['dimm1', 512, 0],
    ]);
    const summary = await query<{ 'base-memory': number; 'plugged-memory': number }>('query-memory-size-summary');
    expect(summary).toEqual({ 'base-memory': 1024 * 2 ** 20, 'plugged-memory': 1024 * 2 ** 20 });
    expect(memoryLine()).toBe('2048');

    expect(cli(r.root, 'set', String(MEM_VMID), '--memory', '512')).toMatchObject({
      code: 1,
      stderr: "memory: hotplug problem - memory can't be lower than 1024 MB\n",
    });
    expect(cli(r.root, 'set', String(MEM_VMID), '--revert', 'memory').code).toBe(0);
    const huge = cli(r.root, 'set', String(MEM_VMID), '--memory', String(64 * 1024 * 1024));
    expect(huge.code).toBe(1);
    expect(huge.stderr).toMatch(/^memory: hotplug problem - you cannot add more memory than max mem \d+ MB!\n$/);
    expect(cli(r.root, 'set', String(MEM_VMID), '--revert', 'memory').code).toBe(0);
    expect(memoryLine()).toBe('2048');
  }, 120_000);

  it('shrinking asks for the top DIMM; without a guest to release it, it fails after the retries and stays pending', async () => {
    const t0 = Date.now();
    expect(cli(r.root, 'set', String(MEM_VMID), '--memory', '1536')).toMatchObject({
      code: 1,
      stderr: 'memory: hotplug problem - dimm1: error unplug memory module\n',
    });
    // qemu-server: up to 7 device_del tries, 3 s apart
    expect(Date.now() - t0).toBeGreaterThanOrEqual(18_000);
    expect(await dimms()).toEqual([
      ['dimm0', 512, 0],
      ['dimm1', 512, 0],
    ]);
    expect(memoryLine()).toBe('2048');
    expect(readFileSync(join(r.root, 'qemu-server', `${MEM_VMID}.conf`), 'utf8')).toMatch(/\[PENDING\]\nmemory: 1536\n/);
  }, 120_000);
});
