/**
 * @module cluster/cluster-file
 * `<root>/cluster.json`: what makes a state root a cluster member (written by `cluster init` /
 * `join`, removed by `leave`). It names the cluster, this node, the etcd endpoints and the
 * optional TLS files for etcd. Its presence alone switches every command on the root from the
 * file store to the etcd store, so it is read synchronously, strictly, and a broken file is a
 * one-line error rather than a silent fall-back to local files (which would fork the state).
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

export interface ClusterTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface ClusterFile {
  /** Cluster name (pvecm's cluster name); also the etcd key prefix `/cvmctl/<name>/`. */
  name: string;
  /** This root's node name in the cluster. */
  node: string;
  /** etcd client URLs. */
  etcd: string[];
  tls?: ClusterTlsFiles;
}

/** Cluster and node names: pve's node-name shape (letters, digits, '-', not starting or ending with '-'). */
export const NAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

export function clusterFilePath(root: string): string {
  return join(root, 'cluster.json');
}

export function isClusterRoot(root: string): boolean {
  return existsSync(clusterFilePath(root));
}

function bad(path: string, what: string): never {
  throw new CvmError('CLUSTER_CONFIG', `cluster file '${path}' is invalid - ${what}`);
}

/** Check a value coming from the command line or the file; `key` names it in the error. */
export function checkName(key: string, value: string): string {
  if (!NAME_RE.test(value)) {
    throw new CvmError('PARAM_INVALID', `${key}: invalid value '${value}' - value does not look like a valid node name (allowed: letters, digits and '-', at most 63)`, {
      details: { key, value },
    });
  }
  return value;
}

/** Parse and check `--etcd URL[,URL...]`: http or https URLs without path, query or credentials. */
export function parseEtcdUrls(text: string, key = 'etcd'): string[] {
  const urls = text.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) throw new CvmError('PARAM_INVALID', `${key}: invalid value '${text}' - no URL (allowed: URL[,URL...])`, { details: { key, value: text } });
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new CvmError('PARAM_INVALID', `${key}: invalid value '${u}' - not a URL (allowed: http://HOST:PORT or https://HOST:PORT)`, { details: { key, value: u } });
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      throw new CvmError('PARAM_INVALID', `${key}: invalid value '${u}' - not a plain etcd client URL (allowed: http://HOST:PORT or https://HOST:PORT)`, { details: { key, value: u } });
    }
  }
  return urls;
}

export function readClusterFile(root: string): ClusterFile {
  const path = clusterFilePath(root);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CvmError('CLUSTER_CONFIG', `this node is not in a cluster (no '${path}')`);
    bad(path, (err as Error).message);
  }
  if (typeof data !== 'object' || data === null) bad(path, 'not a JSON object');
  const d = data as Record<string, unknown>;
  if (typeof d.name !== 'string' || !NAME_RE.test(d.name)) bad(path, `'name' must be a cluster name`);
  if (typeof d.node !== 'string' || !NAME_RE.test(d.node)) bad(path, `'node' must be a node name`);
  if (!Array.isArray(d.etcd) || d.etcd.length === 0 || !d.etcd.every((u) => typeof u === 'string')) bad(path, `'etcd' must be a list of URLs`);
  const file: ClusterFile = { name: d.name, node: d.node, etcd: parseEtcdUrls((d.etcd as string[]).join(','), 'etcd') };
  if (d.tls !== undefined) {
    const t = d.tls as Record<string, unknown>;
    if (typeof t !== 'object' || t === null) bad(path, `'tls' must be an object`);
    const tls: ClusterTlsFiles = {};
    for (const k of ['ca', 'cert', 'key'] as const) {
      if (t[k] === undefined) continue;
      if (typeof t[k] !== 'string') bad(path, `'tls.${k}' must be a file path`);
      tls[k] = t[k] as string;
    }
    file.tls = tls;
  }
  return file;
}

export async function writeClusterFile(root: string, file: ClusterFile): Promise<void> {
  await writeFileAtomic(clusterFilePath(root), `${JSON.stringify(file, null, 2)}\n`);
}
