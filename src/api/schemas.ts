/**
 * @module api/schemas
 * Parameter schemas that many routes share, written as qemu-server / pve-manager declare them
 * (`get_standard_option('pve-node')`, `pve-vmid`, `skiplock`, `digest` …), in the same
 * `PropertySchema` form as the config option table.
 */

import type { PropertySchema } from '../schema/types.js';
import { VMID_MAX, VMID_MIN } from '../store/vmid.js';

export const node: PropertySchema = { type: 'string', format: 'pve-node', description: 'The cluster node name.' };
export const vmid: PropertySchema = {
  type: 'integer',
  format: 'pve-vmid',
  minimum: VMID_MIN,
  maximum: VMID_MAX,
  description: 'The (unique) ID of the VM.',
};
export const upid: PropertySchema = { type: 'string', maxLength: 256, description: "The task's unique ID." };
export const skiplock: PropertySchema = {
  type: 'boolean',
  optional: true,
  description: 'Ignore locks - only root is allowed to use this option.',
};
export const digest: PropertySchema = {
  type: 'string',
  optional: true,
  maxLength: 40,
  description: 'Prevent changes if current configuration file has a different digest.',
};
export const timeout: PropertySchema = {
  type: 'integer',
  optional: true,
  minimum: 0,
  maximum: 86_400,
  description: 'Wait maximal timeout seconds.',
};
export const configidList: PropertySchema = {
  type: 'string',
  format: 'pve-configid-list',
  optional: true,
  maxLength: 4096,
};
export const optionalBool = (description: string): PropertySchema => ({ type: 'boolean', optional: true, description });
export const optionalString = (description: string, maxLength?: number): PropertySchema => ({
  type: 'string',
  optional: true,
  description,
  ...(maxLength !== undefined ? { maxLength } : {}),
});

/** `{node}` and `{vmid}` path parameters plus the given ones. */
export const vmPath = (extra: Record<string, PropertySchema> = {}): Record<string, PropertySchema> => ({ node, vmid, ...extra });
