/**
 * @module access/control
 * The `AccessControl` the API server uses: password login (or ticket renewal) returning PVE's
 * ticket response, request authentication from cookie / Authorization / CSRF headers, and ACL
 * checks, each with PVE's exact error texts (HTTPServer.pm, API2/AccessControl.pm,
 * RPCEnvironment.pm). Every login failure is the same `authentication failure`, whatever was
 * wrong. A disabled or expired user loses access with its next request, tickets included.
 * Computed privileges are memoised per config snapshot and verified tickets per signing key, so
 * repeated checks cost a map lookup.
 */

import { CvmError } from '../errors.js';
import { requestCredential, parseApiToken } from './credentials.js';
import { asUserid, normalizeAclPath, REALMS } from './ids.js';
import { computeCap, privilegesOn } from './permissions.js';
import { entryOf } from './maps.js';
import { isPrivilege } from './privileges.js';
import { DEFAULT_SCRYPT, type ScryptParams, verifyPassword, verifyTokenSecret } from './secrets.js';
import type { AccessSnapshot } from './state.js';
import { type AccessStore, openAccessStore } from './store.js';
import { VerifiedTickets } from './ticket-cache.js';
import { assembleCsrfToken, assembleTicket, verifyCsrfToken, verifyTicket } from './tickets.js';
import type { AccessControl, AuthenticateRequest, Identity, LoginRequest, LoginResult } from './types.js';
import { ROOT_USER, type UserConfig } from './user-cfg.js';

export interface AccessControlOptions {
  /** Seconds since the epoch; tests inject a clock. Default: the system clock. */
  now?: () => number;
  /** scrypt cost for verifying passwords that lack parameters (tests may lower it). */
  scrypt?: ScryptParams;
}

const systemNow = (): number => Math.floor(Date.now() / 1000);

const authFailure = (message: string): CvmError => new CvmError('AUTH_FAILED', message);

/** PVE's check_user_enabled: exists, enabled, not expired. */
export function userEnabled(cfg: UserConfig, userid: string, now: number): boolean {
  const user = cfg.users.get(userid);
  return Boolean(user?.enable) && !(user && user.expire > 0 && user.expire < now);
}

export class AccessControlImpl implements AccessControl {
  readonly state: AccessStore;
  private readonly now: () => number;
  private readonly scrypt: ScryptParams;
  private readonly memo = new WeakMap<UserConfig, Map<string, Set<string>>>();
  /**
   * The users and ACLs (user.cfg) an identity was authenticated against: a request's permission
   * checks use the same config as its authentication (one consistent view per request, and no
   * second look at the files' versions on the hot path). Identities built elsewhere read the files.
   */
  private readonly configOf = new WeakMap<Identity, UserConfig>();
  /** Tickets whose signature was checked (per key; expiry checked on every use). */
  private readonly tickets = new VerifiedTickets();

  constructor(root: string, options: AccessControlOptions = {}) {
    this.state = openAccessStore(root);
    this.now = options.now ?? systemNow;
    this.scrypt = options.scrypt ?? DEFAULT_SCRYPT;
  }

  async login(request: LoginRequest): Promise<LoginResult> {
    const username = request.realm ? `${request.username}@${request.realm}` : request.username;
    try {
      return await this.loginOrThrow(username, request.password);
    } catch (err) {
      // PVE: "do not return any info to prevent user enumeration attacks"
      if (err instanceof CvmError && err.code === 'IO') throw err;
      throw authFailure('authentication failure');
    }
  }

  private async loginOrThrow(username: string, password: string): Promise<LoginResult> {
    const id = asUserid(username);
    if (!id || typeof password !== 'string') throw authFailure('authentication failure');
    const now = this.now();
    const [snapshot, keys] = await Promise.all([this.state.snapshot(), this.state.keys()]);
    let ok = false;
    if (userEnabled(snapshot.config, username, now)) {
      const ticketUser = verifyTicket(keys.ticket, password, now)?.userid;
      // a valid ticket of the same user renews it; root@pam may create tickets for anyone
      if (ticketUser !== undefined && (ticketUser === username || ticketUser === ROOT_USER)) ok = true;
      else if ((REALMS as readonly string[]).includes(id.realm)) {
        ok = await verifyPassword(password, (await this.state.shadow()).get(username), this.scrypt);
      }
    } else {
      await verifyPassword(password, undefined, this.scrypt); // same work as for a real user
    }
    if (!ok) throw authFailure('authentication failure');
    return {
      username,
      ticket: assembleTicket(keys.ticket, username, now),
      CSRFPreventionToken: assembleCsrfToken(keys.csrf, username, now),
      cap: computeCap(snapshot.config, username),
    };
  }

  async authenticate(request: AuthenticateRequest): Promise<Identity> {
    const credential = requestCredential(request.cookie, request.authorization);
    if (credential.kind === 'none') throw authFailure('No ticket');
    const now = this.now();
    if (credential.kind === 'token') {
      const snapshot = await this.state.snapshot();
      const identity = this.tokenIdentity(snapshot, credential.value, now);
      if (!identity) throw authFailure('Authentication failed!');
      this.configOf.set(identity, snapshot.config);
      return identity;
    }
    // a ticket needs user.cfg and the signing key; the CSRF key only for a change
    const write = request.method.toUpperCase() !== 'GET';
    // asked together: a store that looks files up once per event-loop turn answers both in one
    const [config, keys] = await Promise.all([
      this.state.userConfig ? this.state.userConfig() : this.state.snapshot().then((s) => s.config),
      write || !this.state.ticketKey ? this.state.keys() : this.state.ticketKey().then((ticket) => ({ ticket, csrf: undefined })),
    ]);
    const userid = this.tickets.userOf(keys.ticket, credential.ticket, now);
    if (userid === undefined || !asUserid(userid) || !userEnabled(config, userid, now)) {
      throw authFailure('Authentication failed!');
    }
    if (write && !(keys.csrf && verifyCsrfToken(keys.csrf, userid, request.csrfToken ?? '', now))) {
      throw authFailure('Permission denied - invalid csrf token');
    }
    const identity: Identity = { userid, authid: userid, via: 'ticket' };
    this.configOf.set(identity, config);
    return identity;
  }

  private tokenIdentity(snapshot: AccessSnapshot, value: string, now: number): Identity | undefined {
    const token = parseApiToken(value);
    if (!token || !userEnabled(snapshot.config, token.userid, now)) return undefined;
    const info = snapshot.config.users.get(token.userid)?.tokens.get(token.tokenName);
    if (!info || (info.expire > 0 && info.expire < now)) return undefined;
    if (!verifyTokenSecret(token.secret, snapshot.tokenSecrets.get(token.tokenid))) return undefined;
    return { userid: token.userid, tokenid: token.tokenName, authid: token.tokenid, via: 'token' };
  }

  async privileges(identity: Identity, path: string): Promise<Set<string>> {
    return new Set(await this.held(identity, path));
  }

  /** The memoised privilege set (callers must not change it). */
  private async held(identity: Identity, path: string): Promise<ReadonlySet<string>> {
    const normalized = normalizeAclPath(path);
    if (normalized === undefined) return new Set();
    const config = this.configOf.get(identity) ?? (await this.state.snapshot()).config;
    const memo = entryOf(this.memo, config, () => new Map<string, Set<string>>());
    return entryOf(memo, `${identity.authid}\0${normalized}`, () => privilegesOn(config, identity.authid, normalized));
  }

  async check(identity: Identity, path: string, privs: readonly string[], options: { any?: boolean } = {}): Promise<void> {
    for (const priv of privs) {
      // a typo in a route's privilege must not silently deny (or allow) anything
      if (!isPrivilege(priv)) throw new CvmError('INTERNAL', `invalid privilege '${priv}'`);
    }
    const held = await this.held(identity, path);
    if (options.any) {
      if (privs.some((p) => held.has(p))) return;
      throw new CvmError('PERMISSION_DENIED', `Permission check failed (${path}, ${privs.join('|')})`);
    }
    const missing = privs.find((p) => !held.has(p));
    if (missing !== undefined) throw new CvmError('PERMISSION_DENIED', `Permission check failed (${path}, ${missing})`);
  }
}
