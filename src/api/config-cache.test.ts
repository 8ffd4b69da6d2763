/**
 * @module api/config-cache.test
 * The server's config cache on a temporary root with real files: a view is derived once per
 * version of the config file and shared, and derived again as soon as the file changes, whether
 * the store replaces it (rename) or someone rewrites it in place; views of one config are kept
 * apart by name; what a view's derivation or a reader does to its copy never reaches the cache;
 * a missing config is the store's error.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectedCvmError } from '../../test/helpers/cvm-error.js';
import type { VmConfig } from '../config/types.js';
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
