/**
 * @module config/options/confidential
 * The confidential-computing option formats of qemu-server 9.2.6: `amd-sev`
 * (`pve-qemu-sev-fmt`, registered in PVE::QemuServer::CPUConfig) and `intel-tdx`
 * (`pve-qemu-tdx-fmt`). Descriptions, defaults and the required/optional flags are
 * carried over verbatim, including the quirk that TDX `attestation` is required
 * (a bare `intel-tdx: tdx` does not parse). Kept apart because every CVM code path
 * (policy, firmware, object emission, measurement) depends on exactly these tables.
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';

/** `pve-qemu-sev-fmt`: the value of the `amd-sev` config key. */
export const sevFormat: FormatSchema = {
  type: {
    description:
      "Enable standard SEV with type='std' or enable experimental SEV-ES with the 'es' option" +
      " or enable experimental SEV-SNP with the 'snp' option.",
    type: 'string',
    default_key: true,
    format_description: 'sev-type',
    enum: ['std', 'es', 'snp'],
    maxLength: 3,
  },
  'no-debug': {
    description: 'Sets policy bit to disallow debugging of guest',
    type: 'boolean',
    default: 0,
    optional: true,
  },
  'no-key-sharing': {
    description: 'Sets policy bit to disallow key sharing with other guests (Ignored for SEV-SNP)',
    type: 'boolean',
    default: 0,
    optional: true,
  },
  'allow-smt': {
    description: 'Sets policy bit to allow Simultaneous Multi Threading (SMT) (Ignored unless for SEV-SNP)',
    type: 'boolean',
    default: 1,
    optional: true,
  },
  'kernel-hashes': {
    description: 'Add kernel hashes to guest firmware for measured linux kernel launch',
    type: 'boolean',
    default: 0,
    optional: true,
  },
};

/**
 * `pve-qemu-tdx-fmt`: the value of the `intel-tdx` config key. `attestation` has a
 * default but no `optional`, so qemu-server's parser demands it; we keep that.
 */
export const tdxFormat: FormatSchema = {
  type: {
    description: 'Enable TDX',
    type: 'string',
    default_key: true,
    format_description: 'tdx-type',
    enum: ['tdx'],
  },
  attestation: {
    description: 'Enable TDX attestation by including quote-generation-socket',
    type: 'boolean',
    default: 1,
  },
  'vsock-cid': {
    type: 'integer',
    minimum: 2,
    default: 2,
    optional: true,
    description: 'CID for vsock of Quote Generation Service',
  },
  'vsock-port': {
    type: 'integer',
    minimum: 0,
    default: 4050,
    optional: true,
    description: 'Port for vsock of Quote Generation Service',
  },
};

/** Top-level keys of this domain. */
export const confidentialKeys: Readonly<Record<string, PropertySchema>> = {
  'amd-sev': {
    description: 'Secure Encrypted Virtualization (SEV) features by AMD CPUs',
    optional: true,
    format: 'pve-qemu-sev-fmt',
    type: 'string',
  },
  'intel-tdx': {
    description: 'Trusted Domain Extension (TDX) features by Intel CPUs',
    optional: true,
    format: 'pve-qemu-tdx-fmt',
    type: 'string',
  },
};

/** Named formats of this domain, by their qemu-server names. */
export const confidentialFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-qemu-sev-fmt': sevFormat,
  'pve-qemu-tdx-fmt': tdxFormat,
};
