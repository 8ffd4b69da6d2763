import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import type { VmConfig } from '../config/types.js';
import { FsConfigStore } from './fs-store.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-store-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const vm = (conf: Record<string, string>): VmConfig => ({ vmid: 0, digest: '', conf, pending: {}, special: {}, snapshots: {} });
const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CvmError);
    return (err as CvmError).code;
  }
  return undefined;
};

describe('FsConfigStore', () => {
  it('reports a missing VM with the qemu-server text', async () => {
    const store = new FsConfigStore(root);
    await expect(store.read(101)).rejects.toThrow(`Configuration file '${join(root, 'qemu-server', '101.conf')}' does not exist`);
    expect(await store.exists(101)).toBe(false);
    expect(await store.list()).toEqual([]);
  });

  it('creates, reads back with digest, and refuses to create twice', async () => {
    const store = new FsConfigStore(root);
    const created = await store.create(101, vm({ cores: '2', memory: '1024' }));
    const raw = readFileSync(store.configPath(101), 'utf8');
    expect(raw).toBe('cores: 2\nmemory: 1024\n');
    expect(created.vmid).toBe(101);
    expect((await store.read(101)).config.digest).toBe(created.digest);
    expect(await codeOf(store.create(101, vm({ cores: '1' })))).toBe('VM_EXISTS');
    expect(readFileSync(store.configPath(101), 'utf8')).toBe(raw);
  });

  it('writes nothing when the new config does not validate', async () => {
    const store = new FsConfigStore(root);
    expect(await codeOf(store.create(102, vm({ cores: 'x' })))).toBe('PARAM_INVALID');
    expect(existsSync(store.configPath(102))).toBe(false);
    await store.create(102, vm({ cores: '1' }));
    expect(await codeOf(store.update(102, (c) => ({ ...c, conf: { ...c.conf, numa: 'perhaps' } })))).toBe('PARAM_INVALID');
    expect(readFileSync(store.configPath(102), 'utf8')).toBe('cores: 1\n');
  });

  it('checks the digest inside the lock', async () => {
    const store = new FsConfigStore(root);
    const first = await store.create(103, vm({ cores: '1' }));
    const second = await store.update(103, (c) => ({ ...c, conf: { ...c.conf, cores: '2' } }), { digest: first.digest });
    expect(second.conf.cores).toBe('2');
    const err = await store.update(103, (c) => c, { digest: first.digest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).code).toBe('DIGEST_MISMATCH');
    expect((err as CvmError).message).toBe('checksum mismatch (file change by other user?)');
  });

  it('times out with VM_LOCKED when another holder keeps the lock', async () => {
    const store = new FsConfigStore(root, { lockTimeoutMs: 200 });
    await store.create(104, vm({ cores: '1' }));
    mkdirSync(store.lockPath(104)); // a fresh lock directory held by "someone else"
    const err = await store.update(104, (c) => c).catch((e: unknown) => e);
    expect((err as CvmError).code).toBe('VM_LOCKED');
    expect((err as CvmError).message).toBe(`can't lock file '${store.lockPath(104)}' - got timeout`);
    rmSync(store.lockPath(104), { recursive: true });
  });

  it('serialises concurrent updates in one process', async () => {
    const store = new FsConfigStore(root);
    await store.create(105, vm({ cores: '1' }));
    await Promise.all(
      Array.from({ length: 10 }, () =>
        store.update(105, async (c) => {
          await new Promise((r) => setTimeout(r, 2));
          return { ...c, conf: { ...c.conf, cores: String(Number(c.conf.cores) + 1) } };
        }),
      ),
    );
    expect((await store.read(105)).config.conf.cores).toBe('11');
  });

  it('lists VMs by vmid, skipping other files, and destroys with a guard', async () => {
    const store = new FsConfigStore(root, { warn: () => undefined });
    await store.create(300, vm({ name: 'b' }));
    await store.create(120, vm({ name: 'a' }));
    writeFileSync(join(root, 'qemu-server', 'notes.txt'), 'x');
    expect((await store.list()).map((v) => v.vmid)).toEqual([120, 300]);
    await expect(
      store.destroy(300, () => {
        throw new CvmError('VM_RUNNING', 'no');
      }),
    ).rejects.toThrow('no');
    expect(await store.exists(300)).toBe(true);
    await store.destroy(300);
    expect(await store.exists(300)).toBe(false);
  });

  it('refuses to read or write a config that is a symlink, and leaves its target untouched (issue 12.2)', async () => {
    const store = new FsConfigStore(root);
    mkdirSync(join(root, 'qemu-server'), { recursive: true });
    const target = join(root, 'precious.txt');
    writeFileSync(target, 'not a VM config\n');
    symlinkSync(target, store.configPath(106));
    const msg = `unable to read config file '${store.configPath(106)}' - it is a symbolic link, not a regular file`;
    await expect(store.update(106, (c) => ({ ...c, conf: { ...c.conf, cores: '2' } }))).rejects.toThrow(msg);
    await expect(store.destroy(106)).rejects.toThrow(msg);
    await expect(store.create(106, vm({ cores: '1' }))).rejects.toThrow('config file already exists');
    expect(readFileSync(target, 'utf8')).toBe('not a VM config\n');
    expect(lstatSync(store.configPath(106)).isSymbolicLink()).toBe(true);
  });

  it('refuses a config that is a FIFO or a symlink to /dev/zero at once; list skips and reports them (issue 12.9)', async () => {
    const warnings: string[] = [];
    const store = new FsConfigStore(root, { warn: (m) => warnings.push(m) });
    await store.create(110, vm({ name: 'ok' }));
    execFileSync('mkfifo', [store.configPath(111)]);
    symlinkSync('/dev/zero', store.configPath(112));
    await expect(store.read(111)).rejects.toThrow(
      `unable to read config file '${store.configPath(111)}' - it is a FIFO, not a regular file`,
    );
    await expect(store.read(112)).rejects.toThrow('it is a symbolic link, not a regular file');
    expect((await store.list()).map((v) => v.vmid)).toEqual([110]);
    expect(warnings).toEqual([
      `unable to read config of VM 111 - unable to read config file '${store.configPath(111)}' - it is a FIFO, not a regular file`,
      `unable to read config of VM 112 - unable to read config file '${store.configPath(112)}' - it is a symbolic link, not a regular file`,
    ]);
  });

  it('refuses a config larger than pmxcfs allows (1 MiB) without parsing it', async () => {
    const store = new FsConfigStore(root);
    mkdirSync(join(root, 'qemu-server'), { recursive: true });
    writeFileSync(store.configPath(113), `description: ${'x'.repeat(1024 * 1024)}\n`);
    await expect(store.read(113)).rejects.toThrow(/- 1048590 bytes is more than the 1048576 bytes allowed$/);
  });
});
