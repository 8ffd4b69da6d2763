/**
 * @module store/fs-store
 * VM configs as files, the way pmxcfs keeps them: `<root>/qemu-server/<vmid>.conf` in
 * qemu-server's format, each a regular file of at most pmxcfs's 1 MiB (a symlink, FIFO or
 * device in its place is refused, never followed). Reads take no lock (a file is only ever replaced atomically); every
 * change runs under the VM's lock (`<root>/lock/lock-<vmid>.conf`), re-reads the file inside
 * the lock, checks an optional digest against it, validates the complete new config by
 * rendering it, and only then replaces the file atomically. A failed validation writes
 * nothing.
 */

import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { parseVmConfig } from '../config/file/parse.js';
import { writeVmConfig } from '../config/file/write.js';
import type { VmConfig } from '../config/types.js';
import { withFileLock, writeFileAtomic } from '../util/fs.js';
import { READ_LIMITS, readRegularFile } from '../util/read-file.js';
import type { ConfigStore } from './config-store.js';
import { stateLayout, type StateLayout } from './root.js';

/** The `lock` value of a config reserved by a create that has not finished (qemu-server's). */
export const CREATE_LOCK = 'create';

function emptyConfig(vmid: number): VmConfig {
  return { vmid, digest: '', conf: {}, pending: {}, special: {}, snapshots: {} };
}

export const DIGEST_MISMATCH_MESSAGE = 'checksum mismatch (file change by other user?)';

export interface StoredConfig {
  /** The file content as read. */
  raw: string;
  config: VmConfig;
}

export interface ListedVm {
  vmid: number;
  config: VmConfig;
}

export interface StoreOptions {
  /** Receives non-strict parse warnings (qemu-server prints them and goes on). */
  warn?: (msg: string) => void;
  /** How long to wait for a VM lock, in ms (default 10 s, like qemu-server's lock_config). */
  lockTimeoutMs?: number;
}

export interface UpdateOptions {
  /** SHA-1 the caller last saw; the update fails with DIGEST_MISMATCH if the file changed. */
  digest?: string;
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export class FsConfigStore implements ConfigStore {
  readonly layout: StateLayout;
  private readonly warn: ((msg: string) => void) | undefined;
  private readonly lockTimeoutMs: number;

  constructor(root: string, opts: StoreOptions = {}) {
    this.layout = stateLayout(root);
    this.warn = opts.warn;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 10_000;
  }

  /** Path of a VM's config file. */
  configPath(vmid: number): string {
    return join(this.layout.configDir, `${vmid}.conf`);
  }

  /** Path of a VM's lock (a directory while held). */
  lockPath(vmid: number): string {
    return join(this.layout.lockDir, `lock-${vmid}.conf`);
  }

  private notFound(vmid: number): CvmError {
    return new CvmError('VM_NOT_FOUND', `Configuration file '${this.configPath(vmid)}' does not exist`);
  }

  private parse(vmid: number, bytes: Buffer): StoredConfig {
    const config = parseVmConfig(this.configPath(vmid), bytes, { strict: false, warn: this.warn });
    return { raw: bytes.toString('utf8'), config };
  }

  /** Whether anything (a file, or a symlink or device that read() refuses) has the config's name. */
  async exists(vmid: number): Promise<boolean> {
    try {
      await lstat(this.configPath(vmid));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async read(vmid: number): Promise<StoredConfig> {
    let bytes: Buffer;
    try {
      // a symlink, FIFO or device in place of a config is refused, never followed or read forever
      bytes = await readRegularFile(this.configPath(vmid), { what: 'config file', maxBytes: READ_LIMITS.config, noFollow: true });
    } catch (err) {
      if (isNotFound(err)) throw this.notFound(vmid);
      throw err;
    }
    return this.parse(vmid, bytes);
  }

  /** All VMs with a config file, by ascending vmid. Unreadable or non-regular files are skipped with a warning. */
  async list(): Promise<ListedVm[]> {
    let names: string[];
    try {
      names = await readdir(this.layout.configDir);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const vmids = names
      .map((name) => /^(\d+)\.conf$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const result: ListedVm[] = [];
    for (const vmid of vmids) {
      try {
        result.push({ vmid, config: (await this.read(vmid)).config });
      } catch (err) {
        if (err instanceof CvmError && err.code === 'VM_NOT_FOUND') continue; // removed meanwhile
        this.warn?.(`unable to read config of VM ${vmid} - ${(err as Error).message}`);
      }
    }
    return result;
  }

  /** Run `fn` holding the VM's lock. */
  withLock<T>(vmid: number, fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.lockPath(vmid), fn, {
      timeoutMs: this.lockTimeoutMs,
      timeoutMessage: `can't lock file '${this.lockPath(vmid)}' - got timeout`,
    });
  }

  /**
   * Write a new VM's config; VM_EXISTS if it already has one. `conf` may be a function that
   * builds the config inside the lock (after the existence check), e.g. to allocate disks:
   * then, like qemu-server's create_and_lock_config, the config is reserved first as a file
   * holding only `lock: create`, so a create that crashes while allocating stays visible (and
   * `destroy` frees what it allocated). When the builder fails, `undo` runs (to free volumes)
   * before the reservation is removed.
   */
  async create(
    vmid: number,
    conf: VmConfig | (() => VmConfig | Promise<VmConfig>),
    opts: { undo?: () => Promise<void> } = {},
  ): Promise<VmConfig> {
    return this.withLock(vmid, async () => {
      if (await this.exists(vmid)) {
        throw new CvmError('VM_EXISTS', `unable to create VM ${vmid}: config file already exists`);
      }
      if (typeof conf !== 'function') return this.replace(vmid, conf);
      await writeFileAtomic(this.configPath(vmid), writeVmConfig({ ...emptyConfig(vmid), conf: { lock: CREATE_LOCK } }));
      let built: VmConfig;
      try {
        built = await conf();
      } catch (err) {
        await opts.undo?.();
        await unlink(this.configPath(vmid)).catch(() => undefined);
        throw err;
      }
      return this.replace(vmid, built);
    });
  }

  /**
   * Change a VM's config: inside the lock the current file is read, the digest checked,
   * `mutate` applied, the result validated and written atomically.
   */
  async update(vmid: number, mutate: (current: VmConfig) => VmConfig | Promise<VmConfig>, opts: UpdateOptions = {}): Promise<VmConfig> {
    return this.withLock(vmid, async () => {
      const { config } = await this.read(vmid);
      if (opts.digest && opts.digest !== config.digest) {
        throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE, {
          details: { expected: opts.digest, actual: config.digest },
        });
      }
      const next = await mutate(config);
      return this.replace(vmid, next);
    });
  }

  /** Remove a VM's config. `guard` may veto (throw) after seeing the current config. */
  async destroy(vmid: number, guard?: (current: VmConfig) => void | Promise<void>): Promise<void> {
    await this.withLock(vmid, async () => {
      const { config } = await this.read(vmid);
      if (guard) await guard(config);
      try {
        await unlink(this.configPath(vmid));
      } catch (err) {
        if (isNotFound(err)) throw this.notFound(vmid);
        throw new CvmError('IO', `failed to remove config file: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  /** Render (which validates everything) before touching the file; caller holds the lock. */
  private async replace(vmid: number, conf: VmConfig): Promise<VmConfig> {
    const text = writeVmConfig({ ...conf, vmid });
    await writeFileAtomic(this.configPath(vmid), text);
    return parseVmConfig(this.configPath(vmid), text, { strict: false, warn: this.warn });
  }
}

