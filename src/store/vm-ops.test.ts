import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeQemu } from '../../test/helpers/fake-qemu.js';
import { checkUpdateRequest, createVm, defaultBootDevices, destroyVm, updateVm } from './vm-ops.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-ops-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const conf = (vmid: number) => readFileSync(join(root, 'qemu-server', `${vmid}.conf`), 'utf8');

describe('VM config operations', () => {
  it('checks a set request like update_vm before locking', () => {
    expect(() => checkUpdateRequest({ params: {} })).toThrow('no options specified');
    expect(() => checkUpdateRequest({ params: {}, delete: 'bogus' })).toThrow("delete: unknown option 'bogus'");
    expect(() => checkUpdateRequest({ params: {}, revert: 'bogus' })).toThrow("revert: unknown option 'bogus'");
    expect(() => checkUpdateRequest({ params: { memory: '512' }, revert: 'memory' })).toThrow(
      "delete: you can't use '-memory' and -revert memory' at the same time",
    );
    expect(() => checkUpdateRequest({ params: {}, delete: 'cores', revert: 'cores' })).toThrow(
      "revert: you can't use '-delete cores' and -revert cores' at the same time",
    );
    expect(checkUpdateRequest({ params: {}, delete: 'cdrom;tags' }).deletes).toEqual(['ide2', 'tags']);
  });

  it('picks the default boot devices: first disk, first cd-rom, first NIC', () => {
    expect(
      defaultBootDevices({
        net3: 'virtio=BC:24:11:00:00:01',
        ide2: 'none,media=cdrom',
        virtio1: 'local:100/vm-100-disk-0.raw',
        sata0: 'local:100/vm-100-disk-1.raw',
        efidisk0: 'local:100/vm-100-disk-2.raw',
      }),
    ).toEqual(['virtio1', 'ide2', 'net3']);
  });

  it('creates with cdrom alias, normalised booleans and the create defaults', async () => {
    await createVm({ root, vmid: 100, params: { cdrom: 'none', numa: 'on', vmgenid: '1' }, now: 1_700_000_000_123, creationQemu: '10.0.2' });
    const text = conf(100);
    expect(text).toMatch(
      /^boot: order=ide2\nide2: none,media=cdrom\nmeta: creation-qemu=10.0.2,ctime=1700000000\nnuma: 1\nsmbios1: uuid=[0-9a-f-]{36}\nvmgenid: [0-9a-f-]{36}\n$/,
    );
  });

  it('records the installed QEMU as creation-qemu, and leaves it out when asked', async () => {
    const { findQemuBinary, qemuBinaryFacts } = await import('../host/local/qemu-binary.js');
    const binary = await findQemuBinary(process.arch === 'arm64' ? 'aarch64' : 'x86_64');
    await createVm({ root, vmid: 110, params: {}, now: 1_700_000_000_000 });
    // the version QEMU itself prints, e.g. `QEMU emulator version 10.0.2 (Debian …)`
    const expected = binary ? `creation-qemu=${(await qemuBinaryFacts(binary, undefined)).version},` : '';
    expect(conf(110)).toContain(`meta: ${expected}ctime=1700000000\n`);
    await createVm({ root, vmid: 111, params: {}, now: 1_700_000_000_000, creationQemu: false });
    expect(conf(111)).toContain('meta: ctime=1700000000\n');
  });

  it('refuses a balloon larger than the memory', async () => {
    await createVm({ root, vmid: 101, params: { memory: '1024' } });
    await expect(updateVm({ root, vmid: 101, params: { balloon: '2048' } })).rejects.toThrow(
      'balloon value too large (must be smaller than assigned memory)',
    );
    await expect(updateVm({ root, vmid: 101, params: { balloon: '512' } })).resolves.toMatchObject({ pending: false });
  });

  it('stages changes while running, reverts them, and passes warnings on', async () => {
    await createVm({ root, vmid: 102, params: { cores: '1' } });
    const qemu = await fakeQemu(join(root, 'run', '102.pid'));
    const warnings: string[] = [];
    const result = await updateVm({ root, vmid: 102, params: { cores: '2' }, delete: 'numa', warn: (m) => warnings.push(m) });
    expect(result.pending).toBe(true);
    expect(result.config.pending).toEqual({ cores: '2' });
    expect(warnings).toEqual(["cannot delete 'numa' - not set in current configuration!"]);
    await updateVm({ root, vmid: 102, params: {}, revert: 'cores' });
    expect(conf(102)).not.toContain('[PENDING]');
    qemu.stop();
  });

  it('applies fast-plug options of a running VM at once, like qemu-server hotplug', async () => {
    await createVm({ root, vmid: 104, params: { cores: '1', tags: 'a', name: 'old' } });
    const qemu = await fakeQemu(join(root, 'run', '104.pid'));
    const { config } = await updateVm({ root, vmid: 104, params: { name: 'new', cores: '4', onboot: '1' }, delete: 'tags' });
    qemu.stop();
    expect(config.conf).toMatchObject({ name: 'new', onboot: '1', cores: '1' });
    expect(config.conf.tags).toBeUndefined();
    expect(config.pending).toEqual({ cores: '4' });
  });

  it('pins the machine version of a Windows guest on create, like check_and_pin_machine_string', async () => {
    const lines: string[] = [];
    const info = (m: string) => lines.push(m);
    const create = (vmid: number, params: Record<string, string>) =>
      createVm({ root, vmid, params, now: 1_700_000_000_000, creationQemu: '10.0.2', info });
    await create(120, { ostype: 'win11' });
    await create(121, { ostype: 'win10', machine: 'q35,viommu=virtio' });
    await create(122, { ostype: 'win11', machine: 'pc-q35-8.1' });
    await create(123, { ostype: 'l26', machine: 'q35' });
    expect(conf(120)).toContain('machine: pc-i440fx-10.0+pve1\n');
    expect(conf(121)).toContain('machine: pc-q35-10.0+pve1,viommu=virtio\n');
    expect(conf(122)).toContain('machine: pc-q35-8.1\n');
    expect(conf(123)).toContain('machine: q35\n');
    expect(lines).toEqual([
      "pinning machine type to 'pc-i440fx-10.0+pve1' for Windows guest OS",
      "pinning machine type to 'pc-q35-10.0+pve1' for Windows guest OS",
    ]);
    // no QEMU version known: nothing to pin to, the machine stays as given
    await createVm({ root, vmid: 124, params: { ostype: 'win11' }, creationQemu: false });
    expect(conf(124)).not.toContain('machine:');
  });

  it('pins the machine when ostype becomes Windows, unless machine is set or deleted too', async () => {
    await createVm({ root, vmid: 130, params: { ostype: 'l26', machine: 'q35' }, creationQemu: false });
    const lines: string[] = [];
    await updateVm({ root, vmid: 130, params: { ostype: 'win11' }, kvmVersion: '9.2.0', info: (m) => lines.push(m) });
    expect(conf(130)).toContain('machine: pc-q35-9.2+pve1\n');
    expect(lines).toEqual(["pinning machine type to 'pc-q35-9.2+pve1' for Windows guest OS"]);
    await createVm({ root, vmid: 131, params: { ostype: 'l26', machine: 'q35' }, creationQemu: false });
    await updateVm({ root, vmid: 131, params: { ostype: 'win11', machine: 'pc' }, kvmVersion: '9.2.0' });
    expect(conf(131)).toContain('machine: pc\n');
    await createVm({ root, vmid: 132, params: { ostype: 'l26', machine: 'q35' }, creationQemu: false });
    await updateVm({ root, vmid: 132, params: { ostype: 'win11' }, delete: 'machine', kvmVersion: '9.2.0' });
    expect(conf(132)).not.toContain('machine:');
    // a running VM gets the pinned machine as a pending change next to the ostype
    await createVm({ root, vmid: 133, params: { ostype: 'l26' }, creationQemu: false });
    const qemu = await fakeQemu(join(root, 'run', '133.pid'));
    const { config } = await updateVm({ root, vmid: 133, params: { ostype: 'win10' }, kvmVersion: '10.0.2' });
    qemu.stop();
    expect(config.pending).toEqual({ ostype: 'win10', machine: 'pc-i440fx-10.0+pve1' });
  });

  it('will not destroy a protected or running VM', async () => {
    await createVm({ root, vmid: 103, params: { protection: '1' } });
    await expect(destroyVm({ root, vmid: 103 })).rejects.toThrow("can't remove VM 103 - protection mode enabled");
    await updateVm({ root, vmid: 103, params: {}, delete: 'protection' });
    const qemu = await fakeQemu(join(root, 'run', '103.pid'));
    await expect(destroyVm({ root, vmid: 103 })).rejects.toThrow('VM 103 is running - destroy failed');
    qemu.stop();
    await destroyVm({ root, vmid: 103 });
  });
});
