/**
 * @module cluster/setup
 * `cluster init`, `join` and `leave`, like pvecm's create/add/delnode for one root. init
 * creates the cluster's record in etcd, join adds this node under a free node name; both then
 * import the root's VM configs into `nodes/<node>/qemu-server/` (refusing, before anything is
 * written, when an id is already used anywhere in the cluster), merge the root's users,
 * tokens, ACLs and keys into the cluster's (access-sync.ts; refused when an entry differs),
 * move the local config and access files aside to `qemu-server.before-cluster/` and
 * `access.before-cluster/` (backups, never read again) and finally write `cluster.json`, which
 * switches the root to the etcd stores. leave does the reverse: it writes the node's configs
 * back to `qemu-server/` and the cluster's users/permissions to `access/` and `priv/`, removes
 * the configs, their ids and the member from etcd, and deletes `cluster.json`. Nothing of a VM
 * is ever in neither place.
 */

import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { parseVmConfig } from '../config/file/parse.js';
import { stateLayout } from '../store/root.js';
import { writeFileAtomic } from '../util/fs.js';
import { type ClusterFile, checkName, clusterFilePath, isClusterRoot, readClusterFile, writeClusterFile } from './cluster-file.js';
import { EtcdClient, type EtcdClientOptions } from './etcd-client.js';
import { clusterKeys } from './etcd-store.js';
import { ACCESS_BACKUP_DIR, exportAccess, importAccess, moveAccessAside } from './access-sync.js';

export const BACKUP_DIR = 'qemu-server.before-cluster';

export interface SetupArgs {
  root: string;
  etcd: string[];
  node: string;
  /** Cluster name: required for init (default 'cvmctl'); join finds it when etcd holds exactly one. */
  name?: string;
  tls?: ClusterFile['tls'];
  clientOptions?: EtcdClientOptions;
  /** Progress lines. */
  log?: (line: string) => void;
}

interface LocalConfig {
  vmid: number;
  text: string;
}

/** The root's config files, checked to parse (a broken config is refused, not imported blind). */
async function localConfigs(root: string): Promise<LocalConfig[]> {
  const dir = stateLayout(root).configDir;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: LocalConfig[] = [];
  for (const name of names.sort()) {
    const m = /^(\d+)\.conf$/.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const text = await readFile(path, 'utf8');
    parseVmConfig(path, text, { strict: false });
    out.push({ vmid: Number(m[1]), text });
  }
  return out.sort((a, b) => a.vmid - b.vmid);
}

function refuseIfMember(root: string): void {
  if (isClusterRoot(root)) {
    const file = readClusterFile(root);
    throw new CvmError('CLUSTER_CONFIG', `this node is already a member of cluster '${file.name}' as '${file.node}' ('${clusterFilePath(root)}')`);
  }
  for (const dir of [BACKUP_DIR, ACCESS_BACKUP_DIR]) {
    if (existsSync(join(root, dir))) {
      throw new CvmError('CLUSTER_CONFIG', `'${join(root, dir)}' exists (left from an earlier membership); move it away first`);
    }
  }
}

/** Import the root's configs as `node`'s, all or nothing; then move the local files aside. */
async function importConfigs(client: EtcdClient, cluster: string, node: string, root: string, log: (l: string) => void): Promise<number> {
  const keys = clusterKeys(cluster);
  const configs = await localConfigs(root);
  if (configs.length === 0) return 0;
  const { kvs } = await client.range(keys.vmidsPrefix, { prefix: true });
  const owners = new Map(kvs.map((kv) => [Number(kv.key.slice(keys.vmidsPrefix.length)), kv.value]));
  const clashes = configs.filter((c) => owners.has(c.vmid));
  if (clashes.length > 0) {
    throw new CvmError(
      'VM_EXISTS',
      `unable to import VM configs: ${clashes.map((c) => `VM ${c.vmid} already exists on node '${owners.get(c.vmid)}'`).join(', ')} - renumber or remove them first`,
    );
  }
  const done: LocalConfig[] = [];
  for (const c of configs) {
    const r = await client.txn(
      [
        { key: keys.vmid(c.vmid), target: 'create', result: 'equal', createRevision: 0 },
        { key: keys.config(node, c.vmid), target: 'create', result: 'equal', createRevision: 0 },
      ],
      [{ put: { key: keys.vmid(c.vmid), value: node } }, { put: { key: keys.config(node, c.vmid), value: c.text } }],
    );
    if (!r.succeeded) {
      // someone created the id meanwhile: take back what this import wrote
      for (const d of done) await removeVm(client, cluster, node, d.vmid, d.text);
      throw new CvmError('VM_EXISTS', `unable to import VM configs: VM ${c.vmid} was created elsewhere in the cluster meanwhile`);
    }
    done.push(c);
    log(`imported VM ${c.vmid}`);
  }
  return done.length;
}

/** Remove one VM (config and id) if its text is still `text`. */
async function removeVm(client: EtcdClient, cluster: string, node: string, vmid: number, text: string): Promise<boolean> {
  const keys = clusterKeys(cluster);
  const r = await client.txn([{ key: keys.config(node, vmid), target: 'value', result: 'equal', value: text }], [
    { delete: { key: keys.config(node, vmid) } },
    { delete: { key: keys.vmid(vmid) } },
  ]);
  return r.succeeded;
}

async function moveLocalConfigsAside(root: string): Promise<void> {
  const dir = stateLayout(root).configDir;
  if (existsSync(dir)) await rename(dir, join(root, BACKUP_DIR));
}

async function finish(args: SetupArgs, client: EtcdClient, name: string): Promise<ClusterFile> {
  const log = args.log ?? (() => undefined);
  const keys = clusterKeys(name);
  let imported: number;
  try {
    // users/permissions first: a clash refuses the join before any VM moves (the merge only adds, so a retry is harmless)
    await importAccess(client, name, args.root, log);
    imported = await importConfigs(client, name, args.node, args.root, log);
  } catch (err) {
    await client.delete(keys.member(args.node)).catch(() => undefined);
    throw err;
  }
  await moveLocalConfigsAside(args.root);
  await moveAccessAside(args.root);
  const file: ClusterFile = { name, node: args.node, etcd: args.etcd, ...(args.tls ? { tls: args.tls } : {}) };
  await writeClusterFile(args.root, file);
  log(`node '${args.node}' is a member of cluster '${name}' (${imported} VM config${imported === 1 ? '' : 's'} imported)`);
  return file;
}

function memberRecord(node: string): string {
  return JSON.stringify({ node, joined: new Date().toISOString() });
}

export async function clusterInit(args: SetupArgs): Promise<ClusterFile> {
  refuseIfMember(args.root);
  const name = checkName('name', args.name ?? 'cvmctl');
  checkName('node', args.node);
  const client = new EtcdClient(args.etcd, args.clientOptions);
  const keys = clusterKeys(name);
  const r = await client.txn(
    [{ key: `${keys.prefix}cluster`, target: 'create', result: 'equal', createRevision: 0 }],
    [
      { put: { key: `${keys.prefix}cluster`, value: JSON.stringify({ name, created: new Date().toISOString() }) } },
      { put: { key: keys.member(args.node), value: memberRecord(args.node) } },
    ],
  );
  if (!r.succeeded) throw new CvmError('CLUSTER_CONFIG', `cluster '${name}' already exists in etcd - use 'cvmctl cluster join'`);
  return finish(args, client, name);
}

/** Cluster names found in etcd (keys `/cvmctl/<name>/cluster`). */
export async function clusterNames(client: EtcdClient): Promise<string[]> {
  const { kvs } = await client.range('/cvmctl/', { prefix: true, keysOnly: true });
  return kvs.map((kv) => /^\/cvmctl\/([^/]+)\/cluster$/.exec(kv.key)?.[1]).filter((n): n is string => n !== undefined);
}

export async function clusterJoin(args: SetupArgs): Promise<ClusterFile> {
  refuseIfMember(args.root);
  checkName('node', args.node);
  const client = new EtcdClient(args.etcd, args.clientOptions);
  let name = args.name;
  if (name === undefined) {
    const names = await clusterNames(client);
    if (names.length === 0) throw new CvmError('CLUSTER_CONFIG', `no cluster in etcd at ${args.etcd.join(',')} - use 'cvmctl cluster init' first`);
    if (names.length > 1) throw new CvmError('CLUSTER_CONFIG', `etcd holds several clusters (${names.join(', ')}) - name one with --name`);
    name = names[0] as string;
  }
  checkName('name', name);
  const keys = clusterKeys(name);
  const r = await client.txn(
    [
      { key: `${keys.prefix}cluster`, target: 'create', result: 'greater', createRevision: 0 },
      { key: keys.member(args.node), target: 'create', result: 'equal', createRevision: 0 },
    ],
    [{ put: { key: keys.member(args.node), value: memberRecord(args.node) } }],
    [{ range: { key: `${keys.prefix}cluster` } }],
  );
  if (!r.succeeded) {
    if ((r.ranges[0] ?? []).length === 0) throw new CvmError('CLUSTER_CONFIG', `no cluster '${name}' in etcd - use 'cvmctl cluster init' first`);
    throw new CvmError('CLUSTER_CONFIG', `node name '${args.node}' is already a member of cluster '${name}' - pick another with --node`);
  }
  return finish(args, client, name);
}

/**
 * Leave the cluster: this node's configs go back to `<root>/qemu-server/`, then out of etcd;
 * refused while one of them is locked in the cluster (an operation is running on it).
 */
export async function clusterLeave(root: string, client: EtcdClient, log: (l: string) => void = () => undefined): Promise<number> {
  const file = readClusterFile(root);
  const keys = clusterKeys(file.name);
  const dir = stateLayout(root).configDir;
  if (existsSync(dir) && (await readdir(dir)).some((n) => n.endsWith('.conf'))) {
    throw new CvmError('CLUSTER_CONFIG', `'${dir}' holds config files; move them away before leaving`);
  }
  const { kvs } = await client.range(keys.nodeConfigDir(file.node), { prefix: true });
  const vms = kvs
    .map((kv) => ({ vmid: Number(/(\d+)\.conf$/.exec(kv.key)?.[1]), text: kv.value }))
    .filter((v) => Number.isInteger(v.vmid));
  for (const vm of vms) {
    if (await client.get(keys.lock(vm.vmid))) throw new CvmError('VM_LOCKED', `VM ${vm.vmid} is locked in the cluster - wait for its operation to finish`);
  }
  for (const vm of vms) await writeFileAtomic(join(dir, `${vm.vmid}.conf`), vm.text);
  for (const vm of vms) {
    if (!(await removeVm(client, file.name, file.node, vm.vmid, vm.text))) {
      throw new CvmError('DIGEST_MISMATCH', `VM ${vm.vmid} changed while leaving; run 'cvmctl cluster leave' again`);
    }
    log(`exported VM ${vm.vmid}`);
  }
  // the node keeps the cluster's users, tokens, ACLs and keys as its own files
  await exportAccess(client, file.name, root);
  await client.delete(keys.member(file.node));
  await client.delete(keys.onlineNode(file.node));
  await rm(clusterFilePath(root));
  log(`node '${file.node}' left cluster '${file.name}' (${vms.length} VM config${vms.length === 1 ? '' : 's'} exported)`);
  return vms.length;
}
