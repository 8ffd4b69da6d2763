/**
 * @module cluster/migrate
 * Offline migration of a VM to another cluster node (qemu-server's `migrate_vm` / QemuMigrate
 * for a stopped VM). Checks first, with qemu-server's texts: the target is another member and
 * online, the VM is not locked, a running VM is refused (without `online`: "can't migrate
 * running VM without --online"; with it, confidential VMs with qemu-server's non-migratable
 * text plus why, others because cvmctl has no live migration), local devices block unless
 * `force`, local disks need `with-local-disks`. Then, holding the VM's cluster lock: the local
 * volumes are streamed to the target (migrate-transfer), and ownership moves by ONE etcd
 * transaction (config key from `nodes/<source>/` to `nodes/<target>/`, `vmids/<id>` owner,
 * transfer record deleted), compared on the config's revision, the id's owner, the free target
 * key and the live transfer record. Only after it committed are the source's copies removed.
 * A failure before the commit leaves the source as it was; the target drops its partial copies
 * when the transfer record goes away without the VM becoming its own.
 */

import { stat } from 'node:fs/promises';
import { nonMigratableMessage } from '../config/non-migratable.js';
import type { VmConfig } from '../config/types.js';
import { CvmError } from '../errors.js';
import { assertNotLocked } from '../run/lock.js';
import { freeVolumeIds } from '../storage/alloc.js';
import type { StorageConfig } from '../storage/types.js';
import { openConfigStore } from '../store/open.js';
import { vmStatus } from '../store/status.js';
import { isClusterRoot, readClusterFile } from './cluster-file.js';
import { EtcdConfigStore } from './etcd-store.js';
import { clusterNodes } from './membership.js';
import {
  assertNoVolumeProblems,
  foundLine,
  localResources,
  type MigrateVolume,
  nonMigratableResources,
  scanVolumes,
} from './migrate-volumes.js';
import { type NodeEndpoint, nodeRequest, sendVolume, TransferSession, targetEndpoint } from './migrate-transfer.js';

export interface MigrateOptions {
  root: string;
  vmid: number;
  target: string;
  online?: boolean;
  withLocalDisks?: boolean;
  /** Migrate although the VM uses local devices (root only on the API, as in PVE). */
  force?: boolean;
  /** Bytes per transfer request (default CHUNK_BYTES, 1 GiB). */
  chunkBytes?: number;
  /** The source node's storage config (default: the root's storage.cfg). */
  storage?: StorageConfig;
  log?: (line: string) => void;
  warn?: (message: string) => void;
}

export interface MigrateResult {
  vmid: number;
  source: string;
  target: string;
  volumes: { volid: string; shared: boolean; bytes?: number }[];
  durationMs: number;
}

/** The etcd store of a cluster root; a single node has nowhere to migrate to. */
export function clusterStoreOf(root: string): { store: EtcdConfigStore; cluster: string } {
  const store = isClusterRoot(root) ? openConfigStore(root) : undefined;
  if (!(store instanceof EtcdConfigStore))
    throw new CvmError('CLUSTER_CONFIG', 'this node is not in a cluster - there is no node to migrate to');
  return { store, cluster: readClusterFile(root).name };
}

async function sourceStorage(opts: MigrateOptions): Promise<StorageConfig> {
  if (opts.storage) return opts.storage;
  const { loadLocalStorage } = await import('../host/local/probe.js');
  return loadLocalStorage(opts.root);
}

/** PVE's `format_duration`-like HH:MM:SS of the task log's last line. */
function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** The target must be another member, and online (its `serve` registered): the API proxy's texts. */
async function checkTarget(store: EtcdConfigStore, root: string, target: string): Promise<NodeEndpoint> {
  if (target === store.node) throw new CvmError('PARAM_INVALID', 'target: target is local node.');
  return targetEndpoint(root, store.node, target);
}

/** The refusals of a running VM: without online, with online for a confidential VM, and with online at all. */
export function assertNotRunning(cfg: VmConfig, running: boolean, online: boolean): void {
  if (!running) return;
  if (!online) throw new CvmError('VM_RUNNING', "can't migrate running VM without --online");
  const blockers = nonMigratableResources(cfg.conf, true).filter((b) => b !== 'virtiofs');
  if (blockers.length > 0) {
    throw new CvmError(
      'VM_RUNNING',
      `${nonMigratableMessage(blockers)} - the encrypted memory and CPU state of a confidential VM cannot leave the host it was launched on; shut it down and migrate it offline`,
    );
  }
  throw new CvmError(
    'VM_RUNNING',
    `online migration of a running VM is not supported by cvmctl - shut VM ${cfg.vmid} down and migrate it offline`,
  );
}

export interface MigrationPlan {
  config: VmConfig;
  running: boolean;
  volumes: MigrateVolume[];
  endpoint: NodeEndpoint;
  localDevices: string[];
}

/**
 * Everything that can be refused before any work, in qemu-server's order (the API answers with
 * these synchronously, before a task starts; the migration repeats them under the lock).
 */
export async function planMigration(opts: MigrateOptions, config?: VmConfig): Promise<MigrationPlan> {
  const { store } = clusterStoreOf(opts.root);
  const endpoint = await checkTarget(store, opts.root, opts.target);
  const cfg = config ?? (await store.read(opts.vmid)).config;
  assertNotLocked(cfg.conf);
  const running = (await vmStatus(opts.root, opts.vmid)).status === 'running';
  assertNotRunning(cfg, running, opts.online === true);
  const localDevices = localResources(cfg.conf, running);
  if (localDevices.length > 0 && !opts.force)
    throw new CvmError('VM_LOCKED', `can't migrate VM which uses local devices: ${localDevices.join(', ')}`);
  const scan = scanVolumes(cfg, await sourceStorage(opts));
  assertNoVolumeProblems(scan);
  const local = scan.volumes.filter((v) => !v.shared);
  const first = local[0];
  if (first && !opts.withLocalDisks) {
    const why =
      first.ref === 'attached'
        ? "can't migrate attached local disks without with-local-disks option"
        : "can't migrate local disks without with-local-disks option";
    throw new CvmError('STORAGE', `can't migrate local disk '${first.volid}': ${why}`);
  }
  return { config: cfg, running, volumes: scan.volumes, endpoint, localDevices };
}

/** Migrate a stopped VM to `opts.target`; the log gets qemu-server's task-log lines. */
export async function migrateVm(opts: MigrateOptions): Promise<MigrateResult> {
  const log = opts.log ?? (() => undefined);
  const warn = opts.warn ?? ((m: string) => log(`WARN: ${m}`));
  const { store, cluster } = clusterStoreOf(opts.root);
  const started = Date.now();
  const source = store.node;
  const configKey = store.keys.config(source, opts.vmid);
  return store.withLock(opts.vmid, async () => {
    // under the lock: the latest text (linearizable) and its revision, which the commit compares
    const kv = await store.client.get(configKey);
    if (!kv) throw new CvmError('VM_NOT_FOUND', `Configuration file '${store.configPath(opts.vmid)}' does not exist`);
    const { parseVmConfig } = await import('../config/file/parse.js');
    const cfg = parseVmConfig(store.configPath(opts.vmid), kv.value, { strict: false, warn });
    const plan = await planMigration(opts, cfg);
    const host = new URL(plan.endpoint.url).hostname;
    if (opts.online && !plan.running) warn("VM isn't running. Doing offline migration instead.");
    log(`starting migration of VM ${opts.vmid} to node '${opts.target}' (${host})`);
    if (plan.localDevices.length > 0) log('migrating VM which uses local devices');
    const local = plan.volumes.filter((v) => !v.shared);
    for (const v of local) log(foundLine(v));
    const sizes = new Map<string, number>();
    for (const v of local) sizes.set(v.volid, (await stat(v.path as string)).size);
    // what the transfer record announces is also what the result reports
    const volumes = plan.volumes.map((v) => ({
      volid: v.volid,
      shared: v.shared,
      ...(v.shared ? {} : { bytes: sizes.get(v.volid) as number }),
    }));
    const session = await TransferSession.open(store.client, cluster, {
      vmid: opts.vmid,
      source,
      target: opts.target,
      volumes,
      created: new Date().toISOString(),
    });
    let committed = false;
    try {
      await nodeRequest(plan.endpoint, 'POST', `/nodes/${opts.target}/qemu/${opts.vmid}/migrate-prepare?transfer=${session.id}`);
      if (local.length > 0) log('copying local disk images');
      for (const v of local) {
        try {
          await sendVolume({
            endpoint: plan.endpoint,
            target: opts.target,
            vmid: opts.vmid,
            transfer: session.id,
            volid: v.volid,
            path: v.path as string,
            bytes: sizes.get(v.volid) as number,
            log,
            ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}),
          });
        } catch (err) {
          throw new CvmError('STORAGE', `storage migration for '${v.volid}' to storage '${v.storeid}' failed - ${(err as Error).message}`, {
            cause: err,
          });
        }
        log(`volume '${v.volid}' is '${v.volid}' on the target`);
      }
      // the one ownership transaction: config key to the target, id owner, transfer record gone
      const targetKey = store.keys.config(opts.target, opts.vmid);
      const commit = () =>
        store.client.txn(
          [
            { key: configKey, target: 'mod', result: 'equal', modRevision: kv.modRevision },
            { key: targetKey, target: 'create', result: 'equal', createRevision: 0 },
            { key: store.keys.vmid(opts.vmid), target: 'value', result: 'equal', value: source },
            { key: session.key, target: 'create', result: 'greater', createRevision: 0 },
          ],
          [
            { delete: { key: configKey } },
            { put: { key: targetKey, value: kv.value } },
            { put: { key: store.keys.vmid(opts.vmid), value: opts.target } },
            { delete: { key: session.key } },
          ],
        );
      // a lost answer, or a retry through another etcd member after the first attempt did commit,
      // must not be taken for a refusal: this transfer's record gone with the VM on the target is ours
      const committedAnyway = async () => {
        const [owner, there, record] = await Promise.all([
          store.client.get(store.keys.vmid(opts.vmid)),
          store.client.get(targetKey),
          store.client.get(session.key),
        ]);
        return owner?.value === opts.target && there?.value === kv.value && record === undefined;
      };
      let succeeded: boolean;
      try {
        succeeded = (await commit()).succeeded || (await committedAnyway());
      } catch (err) {
        succeeded = await committedAnyway().catch(() => Promise.reject(err));
        if (!succeeded) throw err;
      }
      if (!succeeded) {
        throw new CvmError(
          'DIGEST_MISMATCH',
          `unable to move config of VM ${opts.vmid} to node '${opts.target}' - the config, its owner or the transfer changed meanwhile`,
        );
      }
      committed = true;
    } catch (err) {
      await session.close(); // the target drops what it received
      log(`migration aborted (duration ${duration(Date.now() - started)}): ${(err as Error).message}`);
      throw err;
    } finally {
      if (committed) await session.close();
    }
    log(`VM ${opts.vmid} is now owned by node '${opts.target}'`);
    let problems = false;
    for (const v of local) {
      try {
        await freeVolumeIds({ storage: await sourceStorage(opts), vmid: opts.vmid, volids: [v.volid] });
      } catch (err) {
        problems = true;
        warn(`removing local copy of '${v.volid}' failed - ${(err as Error).message}`);
      }
    }
    const took = Date.now() - started;
    log(
      problems
        ? `migration finished with problems (duration ${duration(took)})`
        : `migration finished successfully (duration ${duration(took)})`,
    );
    return {
      vmid: opts.vmid,
      source,
      target: opts.target,
      volumes,
      durationMs: took,
    };
  });
}

/** `GET …/migrate` (migrate_vm_precondition): what stands in the way, per node. */
export async function migratePrecondition(root: string, vmid: number, storage?: StorageConfig): Promise<Record<string, unknown>> {
  const { store, cluster } = clusterStoreOf(root);
  const cfg = (await store.read(vmid)).config;
  assertNotLocked(cfg.conf);
  const running = (await vmStatus(root, vmid)).status === 'running';
  const scan = scanVolumes(cfg, storage ?? (await sourceStorage({ root, vmid, target: '' })));
  const allowed: string[] = [];
  const notAllowed: Record<string, Record<string, unknown>> = {};
  for (const m of await clusterNodes(store.client, cluster)) {
    if (m.node === store.node) continue;
    if (m.online) allowed.push(m.node);
    else notAllowed[m.node] = { offline: 1 };
  }
  return {
    running: running ? 1 : 0,
    allowed_nodes: allowed,
    not_allowed_nodes: notAllowed,
    local_disks: scan.volumes
      .filter((v) => !v.shared)
      .map((v) => ({
        volid: v.volid,
        ...(v.size !== undefined ? { size: v.size } : {}),
        ...(v.cdrom ? { cdrom: 1 } : {}),
        is_unused: v.ref === 'unused' ? 1 : 0,
        ...(v.drivename ? { drivename: v.drivename } : {}),
      })),
    local_resources: localResources(cfg.conf, running),
    'mapped-resources': [],
    'mapped-resource-info': {},
    'has-dbus-vmstate': 0,
  };
}
