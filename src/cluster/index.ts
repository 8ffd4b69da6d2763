/**
 * @module cluster
 * Clusters on etcd: `<root>/cluster.json` (membership of a root), the etcd client over the
 * JSON gateway, the etcd-backed config store (pmxcfs-like keys, cluster-wide unique ids,
 * compare-and-swap writes, lease-backed VM locks), `cluster init|join|leave` and `status`.
 */

export { type ClusterFile, clusterFilePath, isClusterRoot, readClusterFile, parseEtcdUrls, checkName } from './cluster-file.js';
export { EtcdClient, type EtcdClientOptions, type KeyValue } from './etcd-client.js';
export { EtcdConfigStore, clusterKeys, LOCK_TTL_SECONDS } from './etcd-store.js';
export { clusterInit, clusterJoin, clusterLeave, clusterNames, BACKUP_DIR } from './setup.js';
export { clusterStatus, formatClusterStatus, type ClusterStatus } from './status.js';
export { NodeRegistration, clusterNodes, ONLINE_TTL_SECONDS, type ClusterNode, type OnlineRecord } from './membership.js';
export { clusterFence } from './fence.js';
