/**
 * @module config/file/views
 * Read-only views on a parsed config, as the qemu-server API hands them out: the config with
 * pending changes applied (`load_current_config`, what `qm config` shows) or without them
 * (`--current`), a snapshot's config (`load_snapshot_config`), and the `delete:` list of the
 * `[PENDING]` section (`parse_pending_delete` / `print_pending_delete`, `split_list`); and
 * `freezeConfig` for a parsed config that several readers share.
 */

import { CvmError } from '../../errors.js';
import type { ConfigSection, VmConfig } from '../types.js';
import { splitList as perlSplitList } from '../../schema/perl.js';
import { perlTrue } from './write.js';

export type PendingDelete = Map<string, { force: boolean }>;

/** PVE::Tools::split_list (see schema/perl); an absent text is an empty list. */
export function splitList(text: string | undefined): string[] {
  return text ? perlSplitList(text) : [];
}

/** parse_pending_delete: `!key` marks a forced deletion. */
export function parsePendingDelete(data: string | undefined): PendingDelete {
  const result: PendingDelete = new Map();
  if (!data) return result;
  const cleaned = data.replace(/[,;]/g, ' ').replace(/^[ \t\n\v\f\r]+/, '');
  for (const entry of cleaned.split(/[ \t\n\v\f\r]+/)) {
    if (entry === '') continue;
    const force = entry.startsWith('!');
    result.set(force ? entry.slice(1) : entry, { force });
  }
  return result;
}

/** print_pending_delete: sorted, comma-separated, forced entries prefixed with `!`. */
export function printPendingDelete(list: PendingDelete): string {
  return [...list.keys()]
    .sort()
    .map((key) => (list.get(key)?.force ? `!${key}` : key))
    .join(',');
}

/**
 * load_current_config: the main section with `digest`, and unless `current` is set the
 * pending values and pending deletions applied.
 */
export function currentConfig(cfg: VmConfig, current: boolean): ConfigSection {
  const conf: ConfigSection = { ...cfg.conf };
  if (!current) {
    for (const [key, value] of Object.entries(cfg.pending)) {
      if (key !== 'delete') conf[key] = value;
    }
    for (const key of parsePendingDelete(cfg.pending.delete).keys()) {
      if (perlTrue(conf[key])) delete conf[key];
    }
  }
  conf.digest = cfg.digest;
  return conf;
}

/** load_snapshot_config: a snapshot's keys plus the file's digest. */
export function snapshotConfig(cfg: VmConfig, name: string): ConfigSection {
  const snap = Object.hasOwn(cfg.snapshots, name) ? cfg.snapshots[name] : undefined;
  if (!snap) throw new CvmError('VM_NOT_FOUND', `snapshot '${name}' does not exist`);
  return { ...snap, digest: cfg.digest };
}

/**
 * Freeze a config and all its sections: a parse shared by many requests (a listing cache) is
 * handed out as is, so no caller may change what the others see.
 */
export function freezeConfig(config: VmConfig): VmConfig {
  for (const section of [config.conf, config.pending, ...Object.values(config.special), ...Object.values(config.snapshots)])
    Object.freeze(section);
  Object.freeze(config.special);
  Object.freeze(config.snapshots);
  return Object.freeze(config);
}
