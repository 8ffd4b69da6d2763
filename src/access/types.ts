/**
 * @module access/types
 * The contract between the access-control domain (users, passwords, API tokens, ACLs, tickets,
 * CSRF tokens, mirroring `pveum`) and its callers (the REST API server and the CLI). The API
 * layer only ever talks to an `AccessControl`; how identities and privileges are stored is the
 * access domain's business. Errors are `CvmError`s: `AUTH_FAILED` (HTTP 401, message exactly
 * PVE's: `No ticket`, `Authentication failed!`, `authentication failure`,
 * `Permission denied - invalid csrf token`) and `PERMISSION_DENIED` (HTTP 403,
 * `Permission check failed (<path>, <priv>)`). The 3 s delay PVE adds to 401 answers is the
 * HTTP layer's job, not this module's.
 */

/** Who a request runs as. */
export interface Identity {
  /** `user@realm`, e.g. `root@pam`. */
  userid: string;
  /** The token name for API-token requests (`mytoken` of `root@pam!mytoken`). */
  tokenid?: string;
  /** What UPIDs and logs show: `root@pam` or `root@pam!mytoken`. */
  authid: string;
  /** How the request authenticated (CSRF is checked only for tickets). */
  via: 'ticket' | 'token';
}

export interface LoginRequest {
  username: string;
  /** A password, or a still-valid ticket of the same user (renewal). */
  password: string;
  realm?: string;
}

export interface LoginResult {
  username: string;
  ticket: string;
  CSRFPreventionToken: string;
  /** The `cap` object of PVE's ticket response: privilege maps per top-level area. */
  cap: Record<string, Record<string, 1>>;
}

export interface AuthenticateRequest {
  method: string;
  /** The raw `Cookie` header, if any. */
  cookie?: string;
  /** The raw `Authorization` header, if any. */
  authorization?: string;
  /** The `CSRFPreventionToken` header, if any. */
  csrfToken?: string;
}

export interface AccessControl {
  /** `POST /access/ticket`: password (or ticket renewal) login; throws AUTH_FAILED `authentication failure`. */
  login(request: LoginRequest): Promise<LoginResult>;
  /** Identity of a request from its cookie / Authorization / CSRF headers; throws AUTH_FAILED. */
  authenticate(request: AuthenticateRequest): Promise<Identity>;
  /**
   * Throws PERMISSION_DENIED unless the identity has the privileges on the ACL path
   * (`/`, `/vms`, `/vms/100`, `/nodes/<node>`, `/storage/<id>`, …; propagation applies).
   * With `any`, one of the privileges suffices.
   */
  check(identity: Identity, path: string, privs: readonly string[], options?: { any?: boolean }): Promise<void>;
  /** The privileges the identity has on a path (for filtering lists and `GET /access/permissions`). */
  privileges(identity: Identity, path: string): Promise<Set<string>>;
}
