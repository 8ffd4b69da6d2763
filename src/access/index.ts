/**
 * @module access
 * Users, passwords, API tokens, groups, roles and ACLs in the state root, mirroring PVE's
 * access control (`pveum`, tickets, CSRF tokens, `PVEAPIToken`). `openAccessControl(root)`
 * gives the `AccessControl` the API server uses; the management operations behind the CLI
 * (`cvmctl passwd`, `user`, `group`, `acl`, `role`) take the same object's `state`.
 */

import { AccessControlImpl, type AccessControlOptions } from './control.js';

export type { AccessControl, AuthenticateRequest, Identity, LoginRequest, LoginResult } from './types.js';
export { AccessControlImpl, type AccessControlOptions, userEnabled } from './control.js';
export { AccessState } from './state.js';
export { type AccessStore, openAccessStore } from './store.js';
export { accessPaths, type AccessPaths } from './files.js';
export { addGroup, addToken, addUser, deleteGroup, deleteUser, modifyUser, removeToken, setPassword, updateAcl } from './manage.js';
export type { AclChange, NewToken, NewUser, TokenOptions, UserChanges } from './manage.js';
export { listAcl, listGroups, listRoles, listTokens, listUsers } from './listing.js';
export { BUILTIN_ROLES, PRIVILEGES } from './privileges.js';
export { ROOT_USER } from './user-cfg.js';

/**
 * The access control of the state root `root`. Files are created on first use; nothing is
 * read until the first call. `options.now` injects a clock (seconds since the epoch).
 */
export function openAccessControl(root: string, options: AccessControlOptions = {}): AccessControlImpl {
  return new AccessControlImpl(root, options);
}
