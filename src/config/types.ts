/**
 * @module config/types
 * In-memory form of a qemu-server VM config file (`/etc/pve/qemu-server/<vmid>.conf`),
 * mirroring what `parse_vm_config` returns: the main section, `[PENDING]`, the special
 * sections and the snapshots. Values are kept as the strings written in the file
 * (qemu-server stores property strings verbatim; booleans are normalised to `1`/`0`).
 */

/** One section: key → value. `description` holds the decoded comment text. */
export type ConfigSection = Record<string, string>;

export interface VmConfig {
  vmid: number;
  /** SHA-1 hex of the raw file the config was parsed from ('' for a config built in memory). */
  digest: string;
  /** The main section. */
  conf: ConfigSection;
  /** `[PENDING]` (may contain `delete`). Always present, possibly empty. */
  pending: ConfigSection;
  /** `[special:<name>]` sections (cloudinit, fleecing). */
  special: Record<string, ConfigSection>;
  /** Snapshot sections by name. */
  snapshots: Record<string, ConfigSection>;
}
