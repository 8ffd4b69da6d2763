/**
 * @module access/state
 * Reading and changing the access domain's state as one unit. Readers (every API request) get
 * a parsed snapshot of user.cfg and token.cfg that is re-read only when a file's version
 * (inode, size, times) changed, so a request costs at most two `lstat`s, and a change made by another
 * process (the CLI) is seen by the next request (the `lstat`s are made after a call asks, once
 * per event-loop turn for all callers of that turn). A request with a ticket needs neither token.cfg
 * nor (for a GET) the CSRF key: `userConfig` and `ticketKey` look at just the one file they
 * answer from. Writers go through `update`: under the
 * cross-process lock they read the current files (never the cache), change them, and write the
 * secrets first and user.cfg last, so no token or user is ever visible without its secret.
 */

import { type AccessPaths, accessPaths, fileVersion, loadOrCreateKey, readPrivateFile, withAccessLock, writePrivateFile } from './files.js';
import { perTurn } from '../util/per-turn.js';
import { parseShadow, parseTokenSecrets, serializeShadow, serializeTokenSecrets } from './secrets.js';
import { parseUserConfig, serializeUserConfig, type UserConfig } from './user-cfg.js';

export interface AccessSnapshot {
  config: UserConfig;
  /** user.cfg lines that were skipped (PVE's warnings). */
  warnings: string[];
  /** Full token id -> stored digest. */
  tokenSecrets: Map<string, string>;
}

/** What an update may change; the flags say which files to write back. */
export interface AccessDraft extends AccessSnapshot {
  shadow: Map<string, string>;
  changed: { config?: boolean; shadow?: boolean; tokenSecrets?: boolean };
}

export interface Keys {
  ticket: Buffer;
  csrf: Buffer;
}

/**
 * A file's version as of a moment after the caller asked, shared by all callers of one
 * event-loop turn (util/per-turn): every request the server read in one poll phase costs one
 * `lstat` per access file together, and a change made before a call is still seen by it.
 */
const versionNow = perTurn(fileVersion);

export class AccessState {
  readonly paths: AccessPaths;
  private cached: { version: string; userVersion: string | undefined; snapshot: AccessSnapshot } | undefined;
  private cachedKeys: { version: string; ticketVersion: string; keys: Promise<Keys> } | undefined;

  constructor(readonly root: string) {
    this.paths = accessPaths(root);
  }

  /** The current users/tokens/ACLs (cached while the files are unchanged). */
  async snapshot(): Promise<AccessSnapshot> {
    const [userVersion, tokenVersion] = await Promise.all([versionNow(this.paths.userCfg), versionNow(this.paths.tokenCfg)]);
    const version = `${userVersion}|${tokenVersion}`;
    if (this.cached?.version === version) return this.cached.snapshot;
    const snapshot = await this.readSnapshot();
    // a file replaced while it was read gets re-read next time (its version differs then)
    const after = `${fileVersion(this.paths.userCfg)}|${fileVersion(this.paths.tokenCfg)}`;
    if (after === version) this.cached = { version, userVersion, snapshot };
    return snapshot;
  }

  /** The users/ACLs part of the snapshot, as current as `snapshot()`'s, looking at user.cfg alone. */
  async userConfig(): Promise<UserConfig> {
    const userVersion = await versionNow(this.paths.userCfg);
    const cached = this.cached;
    if (cached && cached.userVersion === userVersion) return cached.snapshot.config;
    return (await this.snapshot()).config;
  }

  private async readSnapshot(): Promise<AccessSnapshot> {
    const { accessDir, privDir, userCfg, tokenCfg } = this.paths;
    const [userText, tokenText] = await Promise.all([readPrivateFile(userCfg, accessDir), readPrivateFile(tokenCfg, privDir)]);
    const parsed = parseUserConfig(userText ?? '');
    return { config: parsed.config, warnings: parsed.warnings, tokenSecrets: parseTokenSecrets(tokenText ?? '') };
  }

  /** Password hashes (read on each login; not cached). */
  async shadow(): Promise<Map<string, string>> {
    return parseShadow((await readPrivateFile(this.paths.shadowCfg, this.paths.privDir)) ?? '');
  }

  /**
   * The ticket signing key and CSRF secret, created on first use. Re-read when a key file
   * changes, so deleting `priv/authkey.key` invalidates every ticket at once, server included.
   */
  async keys(): Promise<Keys> {
    const [ticketVersion, csrfVersion] = await Promise.all([versionNow(this.paths.authKey), versionNow(this.paths.csrfKey)]);
    const version = `${ticketVersion}|${csrfVersion}`;
    if (this.cachedKeys?.version === version) return this.cachedKeys.keys;
    const keys = Promise.all([
      loadOrCreateKey(this.paths.authKey, this.paths.privDir),
      loadOrCreateKey(this.paths.csrfKey, this.paths.privDir),
    ]).then(([ticket, csrf]) => ({ ticket, csrf }));
    // cache only keys that existed when looked at; new ones are cached on the next call
    if (ticketVersion !== undefined && csrfVersion !== undefined) this.cachedKeys = { version, ticketVersion, keys };
    // a failure (e.g. unwritable root) is reported now and retried next time
    keys.catch(() => {
      if (this.cachedKeys?.keys === keys) this.cachedKeys = undefined;
    });
    return keys;
  }

  /** The ticket signing key alone (a GET with a ticket needs no CSRF key), as current as `keys()`'s. */
  async ticketKey(): Promise<Buffer> {
    const ticketVersion = await versionNow(this.paths.authKey);
    const cached = this.cachedKeys;
    if (cached && cached.ticketVersion === ticketVersion) return (await cached.keys).ticket;
    return (await this.keys()).ticket;
  }

  /** Read-change-write under the lock; `change` sets `draft.changed` for what it modified. */
  async update<T>(change: (draft: AccessDraft) => T | Promise<T>): Promise<T> {
    return withAccessLock(this.paths, async () => {
      const [snapshot, shadow] = await Promise.all([this.readSnapshot(), this.shadow()]);
      const draft: AccessDraft = { ...snapshot, shadow, changed: {} };
      const result = await change(draft);
      const { accessDir, privDir } = this.paths;
      if (draft.changed.shadow) await writePrivateFile(this.paths.shadowCfg, privDir, serializeShadow(draft.shadow));
      if (draft.changed.tokenSecrets) await writePrivateFile(this.paths.tokenCfg, privDir, serializeTokenSecrets(draft.tokenSecrets));
      if (draft.changed.config) await writePrivateFile(this.paths.userCfg, accessDir, serializeUserConfig(draft.config));
      this.cached = undefined;
      return result;
    });
  }
}
