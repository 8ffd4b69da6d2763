/**
 * @module api/config-cache.test
 * The server's config cache on a temporary root with real files: a view is derived once per
 * version of the config file and shared, and derived again as soon as the file changes, whether
 * the store replaces it (rename) or someone rewrites it in place; views of one config are kept
 * apart by name; what a view's derivation or a reader does to its copy never reaches the cache;
 * a missing config is the store's error. The listing matches the store's, shares unchanged
 * parses, sees every kind of change and lets a concurrent listing reuse the one under way.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectedCvmError } from '../../test/helpers/cvm-error.js';
import type { VmConfig } from '../config/types.js';
import { FsConfigStore } from '../store/fs-store.js';
import { updateVm } from '../store/vm-ops.js';
import { ConfigCache } from './config-cache.js';

let root: string;
const confPath = (vmid: number) => join(root, 'qemu-server', `${vmid}.conf`);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-config-cache-'));
  mkdirSync(join(root, 'qemu-server'), { recursive: true });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ConfigCache.view', () => {
  it('derives once per file version and again after the store replaces the file', async () => {
    writeFileSync(confPath(700), 'memory: 512\nname: first\n');
    const cache = new ConfigCache(root);
    let derived = 0;
    const nameView = (cfg: VmConfig) => {
      derived++;
      return { name: cfg.conf.name, digest: cfg.digest };
    };
    const a = await cache.view(700, 'name', nameView);
    const b = await cache.view(700, 'name', nameView);
    expect(a).toEqual({ name: 'first', digest: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(b).toBe(a);
    expect(derived).toBe(1);
    await updateVm({ root, vmid: 700, params: { name: 'second' } });
    const c = await cache.view(700, 'name', nameView);
    expect(c.name).toBe('second');
    expect(c.digest).not.toBe(a.digest);
    expect(derived).toBe(2);
  });

  it('sees a file rewritten in place (same inode) at the next call', async () => {
    writeFileSync(confPath(701), 'memory: 512\n');
    const cache = new ConfigCache(root);
    const memory = (cfg: VmConfig) => cfg.conf.memory;
    expect(await cache.view(701, 'memory', memory)).toBe('512');
    writeFileSync(confPath(701), 'memory: 2048\n');
    expect(await cache.view(701, 'memory', memory)).toBe('2048');
    appendFileSync(confPath(701), 'cores: 2\n');
    expect(await cache.view(701, 'cores', (cfg) => cfg.conf.cores)).toBe('2');
  });

  it('keeps views apart by name, and a derivation changing its copy does not reach readers', async () => {
    writeFileSync(confPath(702), 'memory: 512\nname: vm702\n');
    const cache = new ConfigCache(root);
    const taken = await cache.view(702, 'take', (cfg) => {
      cfg.conf.name = 'changed by a view';
      return cfg.conf.name;
    });
    expect(taken).toBe('changed by a view');
    expect(await cache.view(702, 'other', (cfg) => cfg.conf.name)).toBe('vm702');
    const read = await cache.read(702);
    expect(read.conf.name).toBe('vm702');
    read.conf.memory = '1';
    expect((await cache.read(702)).conf.memory).toBe('512');
  });

  it('raises the store’s error for a missing config and derives nothing', async () => {
    const cache = new ConfigCache(root);
    let derived = 0;
    const err = await rejectedCvmError(cache.view(799, 'x', () => derived++));
    expect(err.code).toBe('VM_NOT_FOUND');
    expect(err.message).toMatch(/799\.conf' does not exist$/);
    expect(derived).toBe(0);
  });
});

describe('ConfigCache.list', () => {
  it('lists what the store lists, parses only changed files, and sees additions, rewrites and removals', async () => {
    const listRoot = mkdtempSync(join(tmpdir(), 'cvmctl-config-list-'));
    const dir = join(listRoot, 'qemu-server');
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, '100.conf'), 'name: a\nmemory: 512\n');
      writeFileSync(join(dir, '101.conf'), 'name: b\ncores: 2\n');
      writeFileSync(join(dir, '102.conf'), 'name: c\n');
      writeFileSync(join(dir, 'notes.txt'), 'not a config\n');
      symlinkSync(join(dir, '100.conf'), join(dir, '103.conf')); // the store refuses symlinks
      const cache = new ConfigCache(listRoot);
      const first = await cache.list();
      expect(first).toEqual(await new FsConfigStore(listRoot).list());
      expect(first.map((vm) => vm.vmid)).toEqual([100, 101, 102]);
      // shared and frozen: no reader can change what the next one gets
      expect(Object.isFrozen(first[0]?.config) && Object.isFrozen(first[0]?.config.conf)).toBe(true);
      expect(() => {
        (first[0]?.config.conf as Record<string, string>).name = 'x';
      }).toThrow(TypeError);
      const again = await cache.list();
      expect(again[1]).toBe(first[1]); // unchanged file: the same parse
      writeFileSync(join(dir, '101.conf'), 'name: b2\ncores: 4\n'); // in place
      await updateVm({ root: listRoot, vmid: 102, params: { name: 'c2' } }); // replaced by rename
      rmSync(join(dir, '100.conf'));
      writeFileSync(join(dir, '104.conf'), 'name: d\n');
      const third = await cache.list();
      expect(third.map((vm) => [vm.vmid, vm.config.conf.name])).toEqual([
        [101, 'b2'],
        [102, 'c2'],
        [104, 'd'],
      ]);
      expect(third).toEqual(await new FsConfigStore(listRoot).list());
    } finally {
      rmSync(listRoot, { recursive: true, force: true });
    }
  });

  it('a listing started while another runs waits for it and then reuses its parses', async () => {
    const listRoot = mkdtempSync(join(tmpdir(), 'cvmctl-config-list-'));
    mkdirSync(join(listRoot, 'qemu-server'), { recursive: true });
    try {
      for (let i = 0; i < 600; i++) writeFileSync(join(listRoot, 'qemu-server', `${1000 + i}.conf`), `name: vm${i}\n`);
      const cache = new ConfigCache(listRoot);
      const [a, b] = await Promise.all([cache.list(), cache.list()]);
      expect(a).toHaveLength(600);
      expect(b.every((vm, i) => vm === a[i])).toBe(true);
    } finally {
      rmSync(listRoot, { recursive: true, force: true });
    }
  });
});
