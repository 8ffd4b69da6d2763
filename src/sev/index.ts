/**
 * @module sev
 * Confidential-VM semantics for AMD SEV/SEV-ES/SEV-SNP and Intel TDX: CVM type, policy word,
 * QEMU objects and machine flags (object.ts), the policy codec (policy/) and config parsing.
 */
export * from './parse.js';
export * from './object.js';
export * from './policy/index.js';
