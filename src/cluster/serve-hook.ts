/**
 * @module cluster/serve-hook
 * What `cvmctl serve` does on a cluster member root: register the node as online (API URL,
 * certificate fingerprint, running VMs) for as long as it serves, and keep a watch-fed copy of
 * the cluster's VM configs (cluster/watch-cache) so listings such as /cluster/resources come
 * from memory; temporary files of migrations that ended while it was down are removed. A root
 * without cluster.json gets nothing (undefined), so a single node serves exactly as before.
 */

import { hostname } from 'node:os';
import { openConfigStore, clusterClient } from '../store/open.js';
import { vmStatus } from '../store/status.js';
import { isClusterRoot, readClusterFile } from './cluster-file.js';
import { CvmError } from '../errors.js';
import { NodeRegistration } from './membership.js';
import { clusterKeys, EtcdConfigStore } from './etcd-store.js';
import { startWatchCache } from './watch-cache.js';

/** The URL other nodes reach this API at: the listen address, or the host name for a wildcard one. */
export function advertisedUrl(host: string, port: number): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const shown = wildcard ? hostname() : host.includes(':') ? `[${host}]` : host;
  return `https://${shown}:${port}`;
}

export async function startClusterMembership(opts: {
  root: string;
  node: string;
  host: string;
  port: number;
  fingerprint: string;
  warn: (msg: string) => void;
}): Promise<{ stop(): Promise<void> } | undefined> {
  if (!isClusterRoot(opts.root)) return undefined;
  const file = readClusterFile(opts.root);
  if (file.node !== opts.node) {
    throw new CvmError('CLUSTER_CONFIG', `this root is cluster node '${file.node}', not '${opts.node}'`);
  }
  const { client } = clusterClient(opts.root);
  const store = openConfigStore(opts.root);
  const registration = new NodeRegistration({
    client,
    cluster: file.name,
    node: file.node,
    url: advertisedUrl(opts.host, opts.port),
    fingerprint: opts.fingerprint,
    warn: opts.warn,
    running: async () => {
      const out: number[] = [];
      for (const vm of await store.list()) if ((await vmStatus(opts.root, vm.vmid)).status === 'running') out.push(vm.vmid);
      return out;
    },
  });
  const configs = await startWatchCache(client, clusterKeys(file.name).nodesPrefix, { warn: opts.warn });
  // parse the copy in the background, so even the first /cluster/resources answers from memory
  if (store instanceof EtcdConfigStore) void store.warmListing().catch(() => undefined);
  // what an unfinished migration left here while this node was down (in the background)
  void (async () => {
    const [{ sweepStaleTransfers }, { loadLocalStorage }] = await Promise.all([import('./migrate-transfer.js'), import('../host/local/probe.js')]);
    await sweepStaleTransfers({ client, cluster: file.name, node: file.node, storage: await loadLocalStorage(opts.root), log: opts.warn });
  })().catch(() => undefined);
  try {
    await registration.start();
  } catch (err) {
    configs.release();
    throw err;
  }
  return {
    async stop() {
      configs.release();
      await registration.stop();
    },
  };
}
