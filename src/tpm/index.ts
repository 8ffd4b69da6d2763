/**
 * @module tpm
 * The VM's software TPM (swtpm) as qemu-server runs it: state on the `tpmstate0` volume,
 * manufactured by swtpm_setup, a daemon per running VM on `<runDir>/<vmid>.swtpm`; a non-raw
 * state volume is exported to swtpm as a file by a qemu-storage-daemon.
 */

export {
  cleanupQsdFuseFiles,
  fuseExportArgs,
  type QsdExportOptions,
  type QsdPaths,
  qsdDaemonArgs,
  qsdFuseExportPath,
  qsdPaths,
  runningQsd,
  startQsdFuseExport,
  stopQsd,
} from './qsd.js';
export { type TpmState, tpmStateBlockdev, tpmStateOf } from './state.js';
export {
  runningSwtpm,
  type StartSwtpmOptions,
  startSwtpm,
  stopSwtpm,
  swtpmPaths,
  type SwtpmPaths,
  swtpmSetupArgs,
  swtpmSocketArgs,
  type TpmVersion,
} from './swtpm.js';
