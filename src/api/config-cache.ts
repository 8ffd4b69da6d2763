/**
 * @module api/config-cache
 * Reading VM configs for API requests without parsing the same file again: every request
 * looks at the file (lstat, made after the request asked and shared by the requests of one
 * event-loop turn), so a change by the CLI or another server is seen at once. While
 * the file's identity is unchanged (device, inode, size, change and modification times; the
 * store replaces configs by rename, so every write makes a new inode) the
 * config parsed from it is reused; otherwise the file is read by the store's rules (a regular
 * file within the config limit, no symlink followed) and parsed with the store's parser.
 * Callers get a copy, so nothing they do reaches the cached config. A `view` is something
 * derived from a config (the typed JSON answer of `GET …/config`): it is computed once per
 * version of the file and shared, so callers must treat it as read-only. A missing or
 * unreadable file goes through the store, which raises its usual errors.
 * `list()` is the listing `/cluster/resources` makes of every VM: one `readdir` and one `lstat`
 * per config, and a parse only for the files that changed since the previous listing; the
 * listed configs are shared and frozen (what the cluster's watch-fed copy hands out too), and
 * `serve` warms this copy in the background at start.
 */

import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { parseVmConfig } from '../config/file/parse.js';
import { freezeConfig } from '../config/file/views.js';
import type { ConfigSection, VmConfig } from '../config/types.js';
import type { ConfigStore } from '../store/config-store.js';
import { FsConfigStore, type ListedVm } from '../store/fs-store.js';
import { openConfigStore } from '../store/open.js';
import { perTurn } from '../util/per-turn.js';
import { READ_LIMITS, readRegularFile } from '../util/read-file.js';

interface Entry {
  identity: string;
  config: VmConfig;
  /** Views derived from `config`, by name. */
  views: Map<string, unknown>;
}

/** Most VMs whose parsed config is kept (a map in insertion order: the oldest goes first). */
const MAX_ENTRIES = 1024;

/**
 * Synchronous on purpose: a metadata lookup of a small local file costs microseconds, far less
 * than an async round trip through the thread pool, and it runs on every request. Times as
 * float milliseconds (0.25 µs steps at today's dates, finer than two writes can follow each
 * other), as access/files' fileVersion: BigInt stats cost 1.5 µs more per request.
 */
function fileIdentity(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    if (!st.isFile()) return undefined;
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return undefined;
  }
}

/** The identity as of a moment after the caller asked, one `lstat` per file and event-loop turn for all its callers (util/per-turn). */
const identityNow = perTurn(fileIdentity);

const copySections = (sections: Record<string, ConfigSection>): Record<string, ConfigSection> =>
  Object.fromEntries(Object.entries(sections).map(([name, section]) => [name, { ...section }]));

/** A full copy: every section is a flat map of strings, so copying the maps copies everything. */
function copyConfig(cfg: VmConfig): VmConfig {
  return {
    ...cfg,
    conf: { ...cfg.conf },
    pending: { ...cfg.pending },
    special: copySections(cfg.special),
    snapshots: copySections(cfg.snapshots),
  };
}

/** Configs parsed in one go before the listing yields to other work (the warm-up must not hold requests up). */
const LIST_BATCH = 250;

export class ConfigCache {
  private readonly entries = new Map<number, Entry>();
  /** The listing's copy: every config file's frozen parse by identity (no cap: exactly the files the directory has). */
  private readonly listed = new Map<number, { identity: string; vm: ListedVm }>();
  private readonly store: ConfigStore;
  /** The listing under way, if any. */
  private listing: Promise<ListedVm[]> | undefined;

  constructor(root: string) {
    this.store = openConfigStore(root);
  }

  async read(vmid: number): Promise<VmConfig> {
    const { config, entry } = await this.load(vmid);
    return entry ? copyConfig(config) : config;
  }

  /**
   * `derive(config)`, computed once per version of the VM's config file (`name` tells the views
   * of one config apart) and shared by every caller: treat it as read-only. The freshness check
   * is `read`'s: a config changed by anyone is seen by the next call.
   */
  async view<T>(vmid: number, name: string, derive: (config: VmConfig) => T): Promise<T> {
    const { config, entry } = await this.load(vmid);
    if (!entry) return derive(config);
    if (entry.views.has(name)) return entry.views.get(name) as T;
    const view = derive(copyConfig(config));
    entry.views.set(name, view);
    return view;
  }

  /**
   * Every VM with a config file, by ascending vmid, as the store's `list()` gives them but
   * shared and frozen: treat them as read-only. Unreadable files are skipped as the store does.
   */
  async list(): Promise<ListedVm[]> {
    // one listing after the other: a request arriving during the start-up warm-up waits for it
    // and then finds every file parsed, instead of parsing the same files a second time
    const earlier = this.listing;
    const mine = (async () => {
      if (earlier) await earlier.catch(() => undefined);
      return this.listNow();
    })();
    this.listing = mine;
    const clear = () => {
      if (this.listing === mine) this.listing = undefined;
    };
    mine.then(clear, clear);
    return mine;
  }

  private async listNow(): Promise<ListedVm[]> {
    const store = this.store;
    if (!(store instanceof FsConfigStore)) return store.list();
    let names: string[];
    try {
      names = await readdir(store.layout.configDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const vmids = names
      .map((name) => /^(\d+)\.conf$/.exec(name)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const out: ListedVm[] = [];
    let parsed = 0;
    for (const vmid of vmids) {
      const path = store.configPath(vmid);
      const identity = fileIdentity(path);
      const hit = this.listed.get(vmid);
      if (identity !== undefined && hit?.identity === identity) {
        out.push(hit.vm);
        continue;
      }
      this.listed.delete(vmid);
      try {
        const vm = Object.freeze({ vmid, config: freezeConfig((await store.read(vmid)).config) });
        out.push(vm);
        // a file replaced while it was read is listed but not kept: the next listing reads it again
        if (identity !== undefined && fileIdentity(path) === identity) this.listed.set(vmid, { identity, vm });
      } catch {
        // gone meanwhile, not a regular file, too big, unparsable: skipped, as the store's list() does
      }
      if (++parsed % LIST_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.listed.size > vmids.length) {
      const present = new Set(vmids);
      for (const vmid of this.listed.keys()) if (!present.has(vmid)) this.listed.delete(vmid);
    }
    return out;
  }

  /** The current config; with its cache entry unless it cannot be cached (then the config is the caller's own). */
  private async load(vmid: number): Promise<{ config: VmConfig; entry?: Entry }> {
    // a cluster's configs live in etcd: no file identity to validate a cache entry by
    if (!(this.store instanceof FsConfigStore)) return { config: (await this.store.read(vmid)).config };
    const path = this.store.configPath(vmid);
    const before = await identityNow(path);
    const hit = this.entries.get(vmid);
    if (before !== undefined && hit?.identity === before) return { config: hit.config, entry: hit };
    this.entries.delete(vmid);
    if (before === undefined) return { config: (await this.store.read(vmid)).config }; // the store's "does not exist" / IO error
    const raw = await readRegularFile(path, { what: 'config file', maxBytes: READ_LIMITS.config, noFollow: true });
    const config = parseVmConfig(path, raw, { strict: false });
    // a file replaced while it was read is not cached: the next request reads it again
    if (fileIdentity(path) !== before) return { config };
    const entry: Entry = { identity: before, config, views: new Map() };
    this.entries.set(vmid, entry);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as number);
    return { config, entry };
  }
}
