/**
 * @module host/local
 * The `local` host profile prober: facts about this machine for running VMs with stock QEMU.
 */

export {
  probeLocalHost,
  loadLocalStorage,
  localHostNotices,
  defaultLocalStorage,
  kvmUsable,
  probeBridges,
  type LocalProbeOptions,
} from './probe.js';
export { findQemuBinary, qemuBinaryFacts, type QemuBinaryFacts } from './qemu-binary.js';
export { parseCpuInfo, parseMachineHelp, parseQemuVersion, type CpuInfo } from './parse.js';
