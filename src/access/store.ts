/**
 * @module access/store
 * The seam between the access domain and where its state lives. `AccessStore` is what
 * `AccessControlImpl` and the pveum-style operations (manage.ts, the CLI) use: a cached
 * snapshot of users/tokens/ACLs, the password hashes, the ticket and CSRF keys, and a
 * read-change-write `update`. A single node keeps it in files under the state root
 * (`AccessState`, state.ts); a cluster member keeps it in etcd, shared by every node
 * (`EtcdAccessStore`, cluster/etcd-access.ts), like pmxcfs's /etc/pve/user.cfg and priv/.
 * `openAccessStore` chooses by the same switch as the config store (store/open.ts): a root with
 * `cluster.json` is a cluster member.
 */

import { isClusterRoot } from '../cluster/cluster-file.js';
import { EtcdAccessStore } from '../cluster/etcd-access.js';
import { clusterClient } from '../store/open.js';
import { type AccessDraft, type AccessSnapshot, AccessState, type Keys } from './state.js';
import type { UserConfig } from './user-cfg.js';

export interface AccessStore {
  /** The current users/tokens/ACLs (cached while unchanged). */
  snapshot(): Promise<AccessSnapshot>;
  /** Password hashes (read on each login; not cached). */
  shadow(): Promise<Map<string, string>>;
  /** The ticket signing key and CSRF secret, created once on first use. */
  keys(): Promise<Keys>;
  /**
   * Narrower reads for the request path, as current as `snapshot()` / `keys()`: a store whose
   * freshness check costs a look per file (the files' `lstat`s) offers them so a ticket request
   * looks at only what it uses; a store that checks everything in one look need not.
   */
  userConfig?(): Promise<UserConfig>;
  ticketKey?(): Promise<Buffer>;
  /** Read-change-write without lost updates; `change` sets `draft.changed` for what it modified. */
  update<T>(change: (draft: AccessDraft) => T | Promise<T>): Promise<T>;
}

/** The access store of a state root: files for a single node, etcd for a cluster member. */
export function openAccessStore(root: string): AccessStore {
  if (!isClusterRoot(root)) return new AccessState(root);
  const { client, cluster } = clusterClient(root);
  return new EtcdAccessStore(client, cluster);
}
