/**
 * @module cluster/serve-hook
 * What `cvmctl serve` does on a cluster member root: register the node as online (API URL,
 * certificate fingerprint, running VMs) for as long as it serves, and keep a watch-fed copy of
 * the cluster's VM configs (cluster/watch-cache) so listings such as /cluster/resources come
 * from memory; temporary files of migrations that ended while it was down are removed. Like
 * pvestatd's broadcasts, two more documents ride on the registration's lease: the node's recent
 * tasks (republished shortly after any task starts or ends; `GET /cluster/tasks` merges them)
 * and the usage of its running VMs (cpu, mem, uptime, traffic; refreshed every
 * USAGE_INTERVAL_MS; `/cluster/resources` shows it for this node's VMs on every node). A root
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
import { USAGE_FIELDS, type VmUsage } from './api-view.js';
import { hostUsage } from '../host/local/usage.js';
import { vmStatusObject } from '../api/vmstatus.js';
import type { VmConfig } from '../config/types.js';
import { recentTasks } from '../tasks/recent.js';
import type { TaskRunner } from '../tasks/runner.js';

/** The URL other nodes reach this API at: the listen address, or the host name for a wildcard one. */
export function advertisedUrl(host: string, port: number): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const shown = wildcard ? hostname() : host.includes(':') ? `[${host}]` : host;
  return `https://${shown}:${port}`;
}

interface RunningVm {
  config: VmConfig;
  pid: number;
}

/** How often the running VMs' usage is published (pvestatd's status loop runs every 10 s). */
export const USAGE_INTERVAL_MS = 10_000;
/** How long after a task starts or ends the task list is republished (starts and ends in a burst go out once). */
const TASKS_DEBOUNCE_MS = 200;

export async function startClusterMembership(opts: {
  root: string;
  node: string;
  host: string;
  port: number;
  fingerprint: string;
  warn: (msg: string) => void;
  /** The server's tasks: their recent list is published for /cluster/tasks. */
  tasks?: TaskRunner;
}): Promise<{ stop(): Promise<void> } | undefined> {
  if (!isClusterRoot(opts.root)) return undefined;
  const file = readClusterFile(opts.root);
  if (file.node !== opts.node) {
    throw new CvmError('CLUSTER_CONFIG', `this root is cluster node '${file.node}', not '${opts.node}'`);
  }
  const { client } = clusterClient(opts.root);
  const store = openConfigStore(opts.root);
  const keys = clusterKeys(file.name);
  /** This node's running VMs with their pids. */
  const runningVms = async () => {
    const out: RunningVm[] = [];
    for (const vm of await store.list()) {
      const st = await vmStatus(opts.root, vm.vmid);
      if (st.status === 'running' && st.pid !== undefined) out.push({ config: vm.config, pid: st.pid });
    }
    return out;
  };
  /** The VMs the last usage document covered. */
  let usageOf: number[] = [];
  const failed = (what: string) => (err: Error) => opts.warn(`cluster: unable to publish ${what} - ${err.message}`);
  const registration = new NodeRegistration({
    client,
    cluster: file.name,
    node: file.node,
    url: advertisedUrl(opts.host, opts.port),
    fingerprint: opts.fingerprint,
    warn: opts.warn,
    usage: hostUsage,
    running: async () => {
      const vms = await runningVms();
      const ids = vms.map((vm) => vm.config.vmid);
      // a VM that started or stopped gets its usage published now (from this same look), not at the next interval
      if (ids.join() !== usageOf.join()) publishUsage(vms).catch(failed('VM usage'));
      return ids;
    },
  });
  /** Publish the usage of `vms` (this node's running VMs, looked up now unless the caller just did). */
  const publishUsage = async (known?: RunningVm[]) => {
    const usage: Record<string, VmUsage> = {};
    const vms = known ?? (await runningVms());
    usageOf = vms.map((vm) => vm.config.vmid);
    for (const vm of vms) {
      const st = await vmStatusObject(opts.root, vm.config, { status: 'running', pid: vm.pid });
      usage[vm.config.vmid] = Object.fromEntries(USAGE_FIELDS.filter((f) => typeof st[f] === 'number').map((f) => [f, st[f]]));
    }
    await registration.publish(keys.usageNode(file.node), JSON.stringify(usage));
  };
  const tasks = opts.tasks;
  const publishTasks = async () => {
    if (tasks) await registration.publish(keys.tasksNode(file.node), JSON.stringify(await recentTasks(tasks)));
  };
  let tasksTimer: NodeJS.Timeout | undefined;
  const unsubscribe = tasks?.onChange(() => {
    tasksTimer ??= setTimeout(() => {
      tasksTimer = undefined;
      publishTasks().catch(failed('the task list'));
    }, TASKS_DEBOUNCE_MS);
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
    unsubscribe?.();
    configs.release();
    throw err;
  }
  publishTasks().catch(failed('the task list'));
  publishUsage().catch(failed('VM usage'));
  const usageTimer = setInterval(() => publishUsage().catch(failed('VM usage')), USAGE_INTERVAL_MS);
  usageTimer.unref();
  return {
    async stop() {
      unsubscribe?.();
      clearTimeout(tasksTimer);
      clearInterval(usageTimer);
      configs.release();
      await registration.stop();
    },
  };
}
