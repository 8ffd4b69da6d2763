/**
 * @module host/capabilities
 * Host hardware capabilities for confidential VMs: the probe (our query-machine-capabilities),
 * the byte-exact file line and the qemu-server-compatible reader.
 */
export * from './decode.js';
export * from './probe.js';
export * from './reader.js';
export * from './current.js';
