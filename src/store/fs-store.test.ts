import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
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
});
