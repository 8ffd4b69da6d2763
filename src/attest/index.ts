/**
 * @module attest
 * SEV-SNP attestation report parsing, offline verification against the AMD certificate
 * chain (pinned ARKs), VCEK extension checks and report rendering for `cvmctl attest`.
 */
export * from './asn1.js';
export * from './report.js';
export * from './certs.js';
export * from './verify.js';
export * from './show.js';
