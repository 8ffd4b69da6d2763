/**
 * LVM-thin allocation with the real LVM tools on a loop device: a throw-away volume group on a
 * sparse file, a thin pool in it, `create` allocating a disk and a TPM state as thin LVs,
 * `destroy` removing them. Needs root, loop devices and the kernel's device-mapper thin-pool
 * target; where any is missing (containers usually have no device-mapper) the tests are skipped
 * with the reason printed -- the command lines are covered by src/storage/block-alloc.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVm, destroyVm } from '../../src/store/vm-ops.js';
import { makeTestRoot } from './helpers.js';

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    const targets = execFileSync('dmsetup', ['targets'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (!/^thin-pool\b/m.test(targets)) return 'the kernel has no device-mapper thin-pool target';
  } catch {
    return 'no device-mapper in this kernel (dmsetup targets fails)';
  }
  return undefined;
}
const reason = unavailable();
if (reason) process.stdout.write(`lvm.test.ts: LVM-thin tests skipped: ${reason}\n`);

const vg = `cvmctltest${process.pid}`;
const r = makeTestRoot('cvmctl-lvm-');
let loop: string | undefined;
afterAll(() => {
  if (loop) {
    execFileSync('vgremove', ['-f', vg], { stdio: 'ignore' });
    execFileSync('pvremove', ['-y', loop], { stdio: 'ignore' });
    execFileSync('losetup', ['-d', loop], { stdio: 'ignore' });
  }
  r.cleanup();
});
const lvNames = () =>
  execFileSync('lvs', ['--noheadings', '-o', 'lv_name', vg], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();

describe.skipIf(reason !== undefined)(`LVM-thin allocation on a loop device${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('allocates thin LVs for a disk and a TPM state and removes them with the VM', async () => {
    const backing = join(r.logs, 'pv.img');
    execFileSync('truncate', ['-s', '256M', backing]);
    loop = execFileSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' }).trim();
    execFileSync('pvcreate', ['-y', loop]);
    execFileSync('vgcreate', [vg, loop]);
    execFileSync('lvcreate', ['-y', '-L', '128M', '-T', `${vg}/data`]);
    writeFileSync(join(r.root, 'storage.cfg'), `lvmthin: thin\n\tvgname ${vg}\n\tthinpool data\n\tcontent images\n`);

    const cfg = await createVm({ root: r.root, vmid: 9801, params: { scsi0: 'thin:0.0625', tpmstate0: 'thin:1,version=v2.0' } });
    expect(cfg.conf.scsi0).toBe('thin:vm-9801-disk-0,size=64M');
    expect(cfg.conf.tpmstate0).toBe('thin:vm-9801-disk-1,size=4M,version=v2.0');
    expect(lvNames()).toEqual(['data', 'vm-9801-disk-0', 'vm-9801-disk-1']);
    await destroyVm({ root: r.root, vmid: 9801 });
    expect(lvNames()).toEqual(['data']);
  });
});
