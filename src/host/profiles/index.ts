/**
 * @module host/profiles
 * Host profiles: the cfg2cmd test host (`pve-test`), a stock Proxmox VE host (`pve`) and
 * JSON profile files; `local` is probed by src/host/local.
 */

export {
  BUILTIN_PROFILES,
  builtinProfile,
  loadHostProfile,
  profileFromJson,
} from './load.js';
export { pvePaths, pveProfile } from './pve.js';
export {
  AMD_TURIN_9005,
  HW_CAPABILITY_FIXTURES,
  PVE_TEST_DEFAULT_HW_CAPS,
  pveTestProfile,
} from './pve-test.js';
