/**
 * A create killed while allocating (issue 12, point 6): `cvmctl create` is SIGKILLed right
 * after its first image exists (a qemu-img wrapper creates the image, then hangs). Like
 * qemu-server, the config was reserved first with `lock: create`, so the half-created VM is
 * visible (a second create is refused), `destroy` frees the image it left, and a new create
 * of the same id starts again at disk-0 instead of leaving an orphan and taking disk-1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVm, destroyVm } from '../../src/store/vm-ops.js';
import { QEMU_IMG } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');
const dir = mkdtempSync(join(tmpdir(), 'cvmctl-crash-'));
const root = join(dir, 'root');
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function waitForFile(path: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (existsSync(path)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe.skipIf(!QEMU_IMG)(`create killed while allocating${QEMU_IMG ? '' : ' (skipped: qemu-img is not installed)'}`, () => {
  it('leaves a reserved config that destroy cleans up, and a re-create starts at disk-0', { timeout: 90_000 }, async () => {
    const ready = join(dir, 'allocated');
    const wrapper = join(dir, 'qemu-img-then-hang');
    writeFileSync(wrapper, `#!/bin/sh\n${QEMU_IMG} "$@" || exit $?\ntouch '${ready}'\nexec sleep 600\n`);
    chmodSync(wrapper, 0o755);
    child = spawn(process.execPath, [BIN, 'create', '100', '--scsi0', 'local:1', '--scsi1', 'local:1', '--root', root], {
      env: { ...process.env, CVMCTL_QEMU_IMG: wrapper },
      stdio: 'ignore',
      detached: true,
    });
    expect(await waitForFile(ready, 60_000)).toBe(true);
    process.kill(-(child.pid as number), 'SIGKILL');
    await new Promise((r) => (child?.exitCode !== null || child?.signalCode !== null ? r(undefined) : child?.once('exit', r)));

    const images = join(root, 'images', '100');
    expect(readdirSync(images)).toEqual(['vm-100-disk-0.raw']);
    const conf = join(root, 'qemu-server', '100.conf');
    expect(readFileSync(conf, 'utf8')).toBe('lock: create\n');
    await expect(createVm({ root, vmid: 100, params: { scsi0: 'local:1' } })).rejects.toThrow(
      'unable to create VM 100: config file already exists',
    );

    await destroyVm({ root, vmid: 100 });
    expect(existsSync(conf)).toBe(false);
    expect(existsSync(join(images, 'vm-100-disk-0.raw'))).toBe(false);

    const created = await createVm({ root, vmid: 100, params: { scsi0: 'local:1' } });
    expect(created.conf.scsi0).toBe('local:100/vm-100-disk-0.raw,size=1G');
    expect(created.conf.lock).toBeUndefined();
    expect(readdirSync(images)).toEqual(['vm-100-disk-0.raw']);
  });

  it('a create that fails while allocating frees its volumes and leaves no config', async () => {
    const bad = join(dir, 'qemu-img-fails-second');
    const count = join(dir, 'count');
    writeFileSync(bad, `#!/bin/sh\nif [ -e '${count}' ]; then echo 'no space' >&2; exit 1; fi\ntouch '${count}'\nexec ${QEMU_IMG} "$@"\n`);
    chmodSync(bad, 0o755);
    const saved = process.env.CVMCTL_QEMU_IMG;
    process.env.CVMCTL_QEMU_IMG = bad;
    try {
      await expect(createVm({ root, vmid: 101, params: { scsi0: 'local:1', scsi1: 'local:1' } })).rejects.toThrow();
    } finally {
      if (saved === undefined) delete process.env.CVMCTL_QEMU_IMG;
      else process.env.CVMCTL_QEMU_IMG = saved;
    }
    expect(existsSync(join(root, 'qemu-server', '101.conf'))).toBe(false);
    expect(existsSync(join(root, 'images', '101')) ? readdirSync(join(root, 'images', '101')) : []).toEqual([]);
  });
});
