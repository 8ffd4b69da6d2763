/**
 * @module firmware
 * OVMF/AAVMF firmware: the Proxmox file table and selection, descriptor-based selection for
 * stock hosts, descriptor discovery, and the EFI-disk rules for confidential VMs.
 */
export * from './types.js';
export * from './ovmf-table.js';
export * from './descriptor-select.js';
export * from './select.js';
export * from './discover.js';
