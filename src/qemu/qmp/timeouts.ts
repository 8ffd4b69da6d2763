/**
 * @module qemu/qmp/timeouts
 * How long cvmctl waits for the answer to one QMP command. The table follows Proxmox's
 * QMPClient.pm: most commands answer within 5 s (a monitor that needs longer is stuck),
 * hot-plug style commands and `quit` get 60 s, block jobs 10 min, migration queries and
 * internal snapshots 1 h. Callers may override per call or per client.
 */

const SECOND = 1000;

/** Default for any command not listed below (QMPClient.pm: "5 # default"). */
export const DEFAULT_QMP_TIMEOUT_MS = 5 * SECOND;

const TABLE: ReadonlyArray<[readonly string[], number]> = [
  [['query-migrate', 'guest-fsfreeze-freeze', 'blockdev-snapshot-delete-internal-sync', 'blockdev-snapshot-internal-sync'], 3600 * SECOND],
  [['guest-fsfreeze-thaw'], 180 * SECOND],
  [
    [
      'blockdev-add',
      'blockdev-insert-medium',
      'block-export-add',
      'device_add',
      'device_del',
      'netdev_add',
      'netdev_del',
      'object-add',
      'object-del',
      'quit',
    ],
    60 * SECOND,
  ],
  [
    [
      'backup-cancel',
      'block-commit',
      'block-export-del',
      'block-stream',
      'blockdev-del',
      'blockdev-mirror',
      'blockdev-remove-medium',
      'blockdev-reopen',
      'block-job-cancel',
      'job-complete',
      'drive-mirror',
      'guest-fstrim',
      'guest-shutdown',
      'query-backup',
      'query-block-jobs',
      'query-savevm',
      'savevm-end',
      'savevm-start',
    ],
    600 * SECOND,
  ],
];

const BY_COMMAND = new Map<string, number>();
for (const [commands, ms] of TABLE) for (const c of commands) BY_COMMAND.set(c, ms);

/** Timeout for `command`: an explicit override wins, then the table, then `fallback`. */
export function qmpTimeoutFor(
  command: string,
  overrides: Readonly<Record<string, number>> = {},
  fallback: number = DEFAULT_QMP_TIMEOUT_MS,
): number {
  const override = overrides[command];
  if (override !== undefined) return override;
  // cdrom eject/change are slow (QMPClient.pm matches /^(eject|change)/)
  if (/^(eject|change)/.test(command)) return 60 * SECOND;
  return BY_COMMAND.get(command) ?? fallback;
}
