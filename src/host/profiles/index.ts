/**
 * @module host/profiles
 * Host profiles: the cfg2cmd test host (`pve-test`), a stock Proxmox VE host (`pve`) and
 * JSON profile files; `local` is probed by src/host/local.
 */
export { pveTestProfile, HW_CAPABILITY_FIXTURES, PVE_TEST_DEFAULT_HW_CAPS } from './pve-test.js';
export { pveProfile, pvePaths } from './pve.js';
export { loadHostProfile, profileFromJson, builtinProfile, BUILTIN_PROFILES } from './load.js';
