/**
 * @module api/permissions
 * The privilege checks routes declare, in PVE's terms: a list of privileges on an ACL path
 * (`/vms/{vmid}`, `/nodes/{node}`, `/storage/{id}`, `/`), checked through the access-control
 * contract, and the root-only parameters (`skiplock` and friends: `Only root may use this
 * option.`). Lists are filtered with `canSee` rather than refused.
 */

import type { Identity } from '../access/types.js';
import { paramError } from './params.js';
import { type ApiRequest, identityOf } from './types.js';

export const ROOT = 'root@pam';

/** Route permission: all of `privs` (or one, with `any`) on the path the request names. */
export function requirePrivs(path: (req: ApiRequest) => string, privs: readonly string[], any = false) {
  return async (req: ApiRequest): Promise<void> => {
    await req.server.access.check(identityOf(req), path(req), privs, any ? { any: true } : undefined);
  };
}

/** Several checks in order. */
export function allOf(...checks: ((req: ApiRequest) => Promise<void>)[]) {
  return async (req: ApiRequest): Promise<void> => {
    for (const check of checks) await check(req);
  };
}

export const vmAcl = (req: ApiRequest) => `/vms/${req.params.vmid}`;
export const nodeAcl = (req: ApiRequest) => `/nodes/${req.params.node}`;

/** qemu-server's `raise_param_exc({ key => "Only root may use this option." })` for root-only parameters. */
export function assertRootOnly(req: ApiRequest, keys: readonly string[]): void {
  const identity = identityOf(req);
  if (identity.authid === ROOT) return;
  const errors: Record<string, string> = {};
  for (const key of keys) if (req.params[key] !== undefined) errors[key] = 'Only root may use this option.';
  if (Object.keys(errors).length > 0) throw paramError(errors);
}

/** Whether the identity has one of the privileges on the path (list filtering). */
export async function canSee(req: ApiRequest, identity: Identity, path: string, privs: readonly string[]): Promise<boolean> {
  const have = await req.server.access.privileges(identity, path);
  return privs.some((p) => have.has(p));
}
