/**
 * @module storage/bwlimit
 * PVE::Storage::get_bandwidth_limit for cvmctl: the I/O limit (KiB/s) an operation (`move`,
 * `clone`, `migration`, `restore`) runs with. Each storage involved may set `bwlimit
 * <op>=N,default=N` in storage.cfg; the smallest limit that applies wins, also over a
 * requested `--bwlimit`. Whoever may change a storage's limits (Datastore.Allocate on
 * `/storage` or `/storage/<id>`; root always) may override them: their request is taken as it
 * is. cvmctl has no datacenter.cfg, so there are no cluster-wide default limits.
 */

import { CvmError } from '../errors.js';
import { parsePropertyString } from '../schema/check.js';
import type { FormatSchema } from '../schema/types.js';
import type { StorageConfig } from './types.js';

export type BwlimitOperation = 'clone' | 'migration' | 'move' | 'restore';

const limit = { type: 'integer', minimum: 0, optional: true } as const;
/** The `bwlimit` property string of storage.cfg (pve-storage's bwlimit format). */
const BWLIMIT_FORMAT: FormatSchema = { default: limit, restore: limit, migration: limit, clone: limit, move: limit };

/** Whether the caller may override the limits of an ACL path (`/storage`, `/storage/<id>`). */
export type MayOverride = (aclPath: string) => boolean | Promise<boolean>;

function storageLimit(storage: StorageConfig, storeid: string, operation: BwlimitOperation): number | undefined {
  const text = storage[storeid]?.bwlimit;
  if (typeof text !== 'string' || text === '') return undefined;
  let values: Record<string, string | number>;
  try {
    values = parsePropertyString(BWLIMIT_FORMAT, text);
  } catch (err) {
    // one line: `format error\nmove: type check …` → `move: type check …`
    const text = (err as Error).message.replace(/^format error\n/, '').trim().replace(/\n/g, '; ');
    throw new CvmError('CONFIG_PARSE', `storage '${storeid}': bwlimit: ${text}`, { cause: err });
  }
  const value = values[operation] ?? values.default;
  return value === undefined ? undefined : Number(value);
}

/**
 * The limit for `operation` on `storeids` given the requested `override` (undefined: none);
 * undefined means unlimited. `mayOverride` is only asked when there is an override.
 */
export async function bandwidthLimit(
  storage: StorageConfig,
  operation: BwlimitOperation,
  storeids: readonly (string | undefined)[],
  override: number | undefined,
  mayOverride: MayOverride,
): Promise<number | undefined> {
  let result = override;
  const ids = [...new Set(storeids.filter((id): id is string => id !== undefined))];
  if (ids.length === 0) return result;
  if (override !== undefined && (await mayOverride('/storage'))) return result;
  for (const id of ids) {
    if (override !== undefined && (await mayOverride(`/storage/${id}`))) continue;
    const value = storageLimit(storage, id, operation);
    // a 0 or missing request takes any limit; otherwise the smaller one
    if (value !== undefined && (!result || value < result)) result = value;
  }
  return result;
}
