/**
 * @module measure
 * Launch-measurement prediction for SEV, SEV-ES and SEV-SNP guests (sev-snp-measure
 * compatible). Pure digest code plus one file-reading edge (`files.ts`) and the mapping
 * from a cvmctl VM config to measurement inputs (`vm-inputs.ts`).
 */

export * from './guid.js';
export * from './ovmf.js';
export * from './sev-hashes.js';
export * from './vcpu.js';
export * from './vmsa.js';
export * from './gctx.js';
export * from './digest.js';
export * from './files.js';
export * from './vm-inputs.js';
export * from './vm-inputs.js';
export * from './vm-load.js';
