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
