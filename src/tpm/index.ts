/**
 * @module tpm
 * The VM's software TPM (swtpm) as qemu-server runs it: state on the `tpmstate0` volume,
 * manufactured by swtpm_setup, a daemon per running VM on `<runDir>/<vmid>.swtpm`.
 */

export { tpmStateOf, type TpmState } from './state.js';
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
