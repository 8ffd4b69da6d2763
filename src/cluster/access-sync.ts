/**
 * @module cluster/access-sync
 * Moving a root's users/tokens/ACLs/keys into the cluster (`cluster init`, `join`) and back out
 * (`leave`). Joining merges, it never drops silently: entries only the joining root has (users
 * with their password hashes, tokens with their secrets, groups, roles, ACL grants, pools) are
 * added; entries both have must be equal, or the join is refused before anything is written,
 * naming every entry that differs. For a user or token both have, the cluster's password hash
 * or secret stays and a line says so (hashes are salted, so equal passwords never look equal);
 * the same for the ticket/CSRF keys (tickets this root issued before stop working). The merged
 * texts are written by one compare-and-swap transaction (retried when another node changes them
 * meanwhile); then the root's own files move to `access.before-cluster/` (a backup, never read
 * again). `leave` writes the cluster's current texts and keys back to the root's files.
 */

import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { accessPaths, DIR_MODE, ensurePrivateDir, FILE_MODE, readPrivateFile, writePrivateFile } from '../access/files.js';
import { parseShadow, parseTokenSecrets, serializeShadow, serializeTokenSecrets } from '../access/secrets.js';
import { parseUserConfig, serializeUserConfig, type UserConfig } from '../access/user-cfg.js';
import { CvmError } from '../errors.js';
import { readRegularFile } from '../util/read-file.js';
import { writeFileAtomic } from '../util/fs.js';
import { accessKeys, decodeKey, readAccessTexts } from './etcd-access.js';
import type { EtcdClient, TxnOp } from './etcd-client.js';

export const ACCESS_BACKUP_DIR = 'access.before-cluster';

/** What a root or the cluster holds: user.cfg parsed, password hashes, token secrets, keys (base64). */
interface AccessData {
  config: UserConfig;
  shadow: Map<string, string>;
  tokenSecrets: Map<string, string>;
  authKey: string | undefined;
  csrfKey: string | undefined;
}

export interface MergeResult {
  /** Cluster data with the root's additions. */
  merged: AccessData;
  /** Entries both have that differ (the join is refused). */
  clashes: string[];
  /** Where the cluster's value was kept over the root's. */
  notes: string[];
  changed: { config: boolean; shadow: boolean; tokenSecrets: boolean; authKey: boolean; csrfKey: boolean };
}

/** A stable text of a value with Maps and Sets in sorted order (for "are these entries equal"). */
function canon(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Map) return [...v.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
    if (v instanceof Set) return [...v].sort();
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      // key order and absent-vs-undefined must not make equal entries differ
      return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

/** Merge `local` (the root's) into `cluster` (pure; `cluster` is changed in place and returned as `merged`). */
export function mergeAccess(cluster: AccessData, local: AccessData): MergeResult {
  const clashes: string[] = [];
  const notes: string[] = [];
  const changed = { config: false, shadow: false, tokenSecrets: false, authKey: false, csrfKey: false };
  const c = cluster.config;
  const secret = (map: Map<string, string>, id: string, what: string, key: 'shadow' | 'tokenSecrets') => {
    const mine = (key === 'shadow' ? local.shadow : local.tokenSecrets).get(id);
    const theirs = map.get(id);
    if (mine === undefined || mine === theirs) return;
    if (theirs === undefined) {
      map.set(id, mine);
      changed[key] = true;
    } else notes.push(`${what}: the cluster's ${key === 'shadow' ? 'password' : 'secret'} applies`);
  };
  for (const [userid, user] of local.config.users) {
    const { tokens, ...fields } = user;
    const theirs = c.users.get(userid);
    if (!theirs) {
      c.users.set(userid, { ...fields, tokens: new Map() });
      changed.config = true;
    } else if (canon(fields) !== canon({ ...theirs, tokens: undefined })) {
      clashes.push(`user '${userid}'`);
      continue;
    }
    secret(cluster.shadow, userid, `user '${userid}'`, 'shadow');
    const target = c.users.get(userid)?.tokens ?? new Map();
    for (const [name, token] of tokens) {
      const tokenid = `${userid}!${name}`;
      const existing = target.get(name);
      if (!existing) {
        target.set(name, token);
        changed.config = true;
      } else if (canon(existing) !== canon(token)) {
        clashes.push(`token '${tokenid}'`);
        continue;
      }
      secret(cluster.tokenSecrets, tokenid, `token '${tokenid}'`, 'tokenSecrets');
    }
  }
  for (const [name, group] of local.config.groups) {
    const theirs = c.groups.get(name);
    if (theirs === undefined) {
      c.groups.set(name, group);
      changed.config = true;
    } else if (canon(group) !== canon(theirs)) clashes.push(`group '${name}'`);
  }
  for (const [name, privs] of local.config.roles) {
    const theirs = c.roles.get(name);
    if (theirs === undefined) {
      c.roles.set(name, privs);
      changed.config = true;
    } else if (canon(privs) !== canon(theirs)) clashes.push(`role '${name}'`);
  }
  for (const [path, entries] of local.config.acl) {
    for (const kind of ['users', 'groups', 'tokens'] as const) {
      for (const [member, grants] of entries[kind]) {
        const target = c.acl.get(path) ?? { users: new Map(), groups: new Map(), tokens: new Map() };
        const existing = target[kind].get(member);
        if (!existing) {
          target[kind].set(member, grants);
          c.acl.set(path, target);
          changed.config = true;
        } else if (canon(existing) !== canon(grants)) clashes.push(`acl '${path}' ${kind.slice(0, -1)} '${kind === 'groups' ? `@${member}` : member}'`);
      }
    }
  }
  for (const line of local.config.pools) {
    if (!c.pools.includes(line)) {
      c.pools.push(line);
      changed.config = true;
    }
  }
  for (const [key, what, issued] of [
    ['authKey', 'ticket key', 'tickets'],
    ['csrfKey', 'CSRF key', 'CSRF tokens'],
  ] as const) {
    if (local[key] === undefined || local[key] === cluster[key]) continue;
    if (cluster[key] === undefined) {
      cluster[key] = local[key];
      changed[key] = true;
    } else notes.push(`${what}: the cluster's applies (${issued} this node issued before are no longer valid)`);
  }
  return { merged: cluster, clashes, notes, changed };
}

async function readKeyFile(path: string): Promise<string | undefined> {
  if (!existsSync(path)) return undefined;
  const buf = await readRegularFile(path, { what: 'access file', maxBytes: 4096, noFollow: true });
  return buf.length >= 32 ? buf.toString('base64') : undefined;
}

/** The root's own access files (absent files: PVE's defaults, no keys). */
async function readRootAccess(root: string): Promise<AccessData | undefined> {
  const p = accessPaths(root);
  if (!existsSync(p.accessDir) && !existsSync(p.privDir)) return undefined;
  const [userText, shadowText, tokenText, authKey, csrfKey] = await Promise.all([
    readPrivateFile(p.userCfg, p.accessDir),
    readPrivateFile(p.shadowCfg, p.privDir),
    readPrivateFile(p.tokenCfg, p.privDir),
    readKeyFile(p.authKey),
    readKeyFile(p.csrfKey),
  ]);
  return {
    config: parseUserConfig(userText ?? '').config,
    shadow: parseShadow(shadowText ?? ''),
    tokenSecrets: parseTokenSecrets(tokenText ?? ''),
    authKey,
    csrfKey,
  };
}

function clashError(cluster: string, clashes: string[]): CvmError {
  return new CvmError(
    'CLUSTER_CONFIG',
    `unable to import users and permissions: ${clashes.join(', ')} differ between this node and cluster '${cluster}' - make them equal or remove them on this node first`,
  );
}

function clusterData(values: Map<string, string>, keys: ReturnType<typeof accessKeys>): AccessData {
  return {
    config: parseUserConfig(values.get(keys.userCfg) ?? '').config,
    shadow: parseShadow(values.get(keys.shadowCfg) ?? ''),
    tokenSecrets: parseTokenSecrets(values.get(keys.tokenCfg) ?? ''),
    authKey: values.get(keys.authKey),
    csrfKey: values.get(keys.csrfKey),
  };
}

/**
 * Merge the root's access files into the cluster (one CAS transaction, retried on conflict).
 * Idempotent: a second run adds nothing. The files stay until `moveAccessAside`.
 */
export async function importAccess(client: EtcdClient, cluster: string, root: string, log: (line: string) => void): Promise<void> {
  const local = await readRootAccess(root);
  if (!local) return;
  const keys = accessKeys(cluster);
  for (let attempt = 1; ; attempt++) {
    const texts = await readAccessTexts(client, keys);
    const { merged, clashes, notes, changed } = mergeAccess(clusterData(texts.values, keys), local);
    if (clashes.length > 0) throw clashError(cluster, clashes);
    const puts: TxnOp[] = [];
    if (changed.config) puts.push({ put: { key: keys.userCfg, value: serializeUserConfig(merged.config) } });
    if (changed.shadow) puts.push({ put: { key: keys.shadowCfg, value: serializeShadow(merged.shadow) } });
    if (changed.tokenSecrets) puts.push({ put: { key: keys.tokenCfg, value: serializeTokenSecrets(merged.tokenSecrets) } });
    if (changed.authKey && merged.authKey) puts.push({ put: { key: keys.authKey, value: merged.authKey } });
    if (changed.csrfKey && merged.csrfKey) puts.push({ put: { key: keys.csrfKey, value: merged.csrfKey } });
    const compare = [keys.userCfg, keys.shadowCfg, keys.tokenCfg, keys.authKey, keys.csrfKey].map((key) => ({
      key,
      target: 'mod' as const,
      result: 'equal' as const,
      modRevision: texts.revisions.get(key) ?? 0,
    }));
    if (puts.length === 0 || (await client.txn(compare, puts)).succeeded) {
      for (const note of notes) log(note);
      log(`users and permissions of this node merged into cluster '${cluster}'`);
      return;
    }
    if (attempt >= 20) throw new CvmError('DIGEST_MISMATCH', 'unable to import users and permissions - they kept changing on other nodes; try again');
  }
}

/** The root's access files to `access.before-cluster/` (kept as a backup, never read again). */
export async function moveAccessAside(root: string): Promise<void> {
  const p = accessPaths(root);
  if (!existsSync(p.accessDir) && !existsSync(p.privDir)) return;
  const backup = join(root, ACCESS_BACKUP_DIR);
  await mkdir(backup, { mode: DIR_MODE, recursive: true });
  if (existsSync(p.accessDir)) await rename(p.accessDir, join(backup, 'access'));
  if (existsSync(p.privDir)) await rename(p.privDir, join(backup, 'priv'));
}

/** `leave`: the cluster's users/tokens/ACLs and keys as the root's own files again. */
export async function exportAccess(client: EtcdClient, cluster: string, root: string): Promise<void> {
  const keys = accessKeys(cluster);
  const p = accessPaths(root);
  const { values } = await readAccessTexts(client, keys);
  const texts: [string | undefined, string, string][] = [
    [values.get(keys.shadowCfg), p.shadowCfg, p.privDir],
    [values.get(keys.tokenCfg), p.tokenCfg, p.privDir],
    [values.get(keys.userCfg), p.userCfg, p.accessDir],
  ];
  for (const [text, path, dir] of texts) if (text !== undefined) await writePrivateFile(path, dir, text);
  for (const [key, path] of [
    [keys.authKey, p.authKey],
    [keys.csrfKey, p.csrfKey],
  ] as const) {
    const value = values.get(key);
    if (value === undefined) continue;
    await ensurePrivateDir(p.privDir);
    await writeFileAtomic(path, decodeKey(value, key), FILE_MODE);
  }
}
