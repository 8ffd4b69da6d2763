/**
 * @module store/open
 * The one place that decides which config store a state root uses: a root with
 * `cluster.json` is a cluster member and gets the etcd store (its node's VMs in etcd); any
 * other root gets the file store exactly as before. Synchronous (one `existsSync`), so callers
 * that used to write `new FsConfigStore(root)` change mechanically to `openConfigStore(root)`.
 */

import { readFileSync } from 'node:fs';
import { readClusterFile, isClusterRoot } from '../cluster/cluster-file.js';
import { EtcdClient } from '../cluster/etcd-client.js';
import { EtcdConfigStore } from '../cluster/etcd-store.js';
import type { ConfigStore } from './config-store.js';
import { FsConfigStore, type StoreOptions } from './fs-store.js';

/** One etcd client per root and process: its preferred endpoint is remembered across stores. */
const clients = new Map<string, EtcdClient>();

/** The etcd client of a cluster root (TLS files read once). */
export function clusterClient(root: string): { client: EtcdClient; cluster: string; node: string } {
  const file = readClusterFile(root);
  const key = `${root}\0${JSON.stringify(file)}`;
  let client = clients.get(key);
  if (!client) {
    const tls = file.tls
      ? {
          ...(file.tls.ca ? { ca: readFileSync(file.tls.ca) } : {}),
          ...(file.tls.cert ? { cert: readFileSync(file.tls.cert) } : {}),
          ...(file.tls.key ? { key: readFileSync(file.tls.key) } : {}),
        }
      : undefined;
    client = new EtcdClient(file.etcd, tls ? { tls } : {});
    clients.set(key, client);
  }
  return { client, cluster: file.name, node: file.node };
}

export function openConfigStore(root: string, opts: StoreOptions = {}): ConfigStore {
  if (!isClusterRoot(root)) return new FsConfigStore(root, opts);
  const { client, cluster, node } = clusterClient(root);
  return new EtcdConfigStore(client, { ...opts, cluster, node, root });
}

/**
 * Run `fn` holding VM `vmid`'s config lock: what `start` does across the whole start, so config
 * changes are either before it (and in the command line) or after it (and pending).
 */
export function withVmConfigLock<T>(root: string, vmid: number, fn: () => Promise<T>): Promise<T> {
  return openConfigStore(root).withLock(vmid, fn);
}
