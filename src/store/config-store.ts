/**
 * @module store/config-store
 * The seam between the engine and where VM configs live: `ConfigStore` is what the VM
 * operations, the CLI and the API need from a store (read, list, create, update, destroy
 * under the VM's lock). `FsConfigStore` keeps configs as files under the state root; the
 * cluster's `EtcdConfigStore` keeps them in etcd. Both hold exactly qemu-server's config text,
 * so the digest (SHA-1 of the text) means the same in both.
 */

import type { VmConfig } from '../config/types.js';
import type { ListedVm, StoredConfig, UpdateOptions } from './fs-store.js';

export interface ConfigStore {
  /** Where the config lives, for messages (a file path, or the cluster key `nodes/<node>/qemu-server/<vmid>.conf`). */
  configPath(vmid: number): string;
  exists(vmid: number): Promise<boolean>;
  read(vmid: number): Promise<StoredConfig>;
  list(): Promise<ListedVm[]>;
  withLock<T>(vmid: number, fn: () => Promise<T>): Promise<T>;
  create(vmid: number, conf: VmConfig | (() => VmConfig | Promise<VmConfig>), opts?: { undo?: () => Promise<void> }): Promise<VmConfig>;
  update(vmid: number, mutate: (current: VmConfig) => VmConfig | Promise<VmConfig>, opts?: UpdateOptions): Promise<VmConfig>;
  destroy(vmid: number, guard?: (current: VmConfig) => void | Promise<void>): Promise<void>;
}
