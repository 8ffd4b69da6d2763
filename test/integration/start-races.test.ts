/**
 * Lifecycle vs config races (issue 12, point 4), with real QEMU under TCG: while `start` is
 * between reading the config and QEMU running, a `set` and a `destroy` arrive. Like
 * qemu-server (the config lock is held across vm_start) the set must end up [PENDING] and the
 * destroy must refuse, because both see the VM running once they get the lock.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startVm, stopVm } from '../../src/run/index.js';
import { destroyVm, updateVm } from '../../src/store/vm-ops.js';
import { makeTestRoot, QEMU_BINARY, SKIP_REASON } from './helpers.js';

const r = makeTestRoot('cvmctl-race-');
afterAll(() => r.cleanup());

describe.skipIf(!QEMU_BINARY)(`start vs set/destroy${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('a set during start goes to [PENDING] and a destroy during start refuses', { timeout: 120_000 }, async () => {
    r.writeConfig(9201, ['memory: 64', 'cores: 1', 'kvm: 0', 'vga: none', ''].join('\n'));
    const base = await r.context();
    let building!: () => void;
    const isBuilding = new Promise<void>((res) => {
      building = res;
    });
    let release!: () => void;
    const gate = new Promise<void>((res) => {
      release = res;
    });
    // start pauses while it builds the command line: the window in which QEMU is about to run
    const ctx = {
      ...base,
      buildCommand: async (...a: Parameters<typeof base.buildCommand>) => {
        building();
        await gate;
        return base.buildCommand(...a);
      },
    };
    const start = startVm(ctx, 9201, { timeoutSec: 60 });
    await isBuilding;
    const set = updateVm({ root: r.root, vmid: 9201, params: { cores: '2' } });
    const destroy = destroyVm({ root: r.root, vmid: 9201 }).then(
      () => 'destroyed',
      (err: Error) => err.message,
    );
    await new Promise((res) => setTimeout(res, 300));
    release();
    const started = await start;
    r.track(started.pid);
    expect(started.argv.join(' ')).toContain('-smp 1,sockets=1,cores=1,maxcpus=1');
    const changed = await set;
    expect(changed.pending).toBe(true);
    expect(changed.config.conf.cores).toBe('1');
    expect(changed.config.pending.cores).toBe('2');
    expect(await destroy).toBe('VM 9201 is running - destroy failed');
    expect(existsSync(join(r.root, 'qemu-server', '9201.conf'))).toBe(true);
    await stopVm(base, 9201, { timeoutSec: 10 });
  });
});
