/**
 * @module schema/test-support/formats
 * Property-string formats used only by the schema engine's own tests: local copies of the shapes
 * that matter (qemu-server's amd-sev and intel-tdx formats as described in the spec §1.1/§1.3, a
 * NIC-like format with keyAlias, a drive-like format with alias and disk-size). They are written
 * here from the spec's tables so the engine is tested independently of the option table.
 */
import type { FormatSchema, PropertySchema } from '../types.js';

export const sevFormat: FormatSchema = {
  type: {
    type: 'string',
    default_key: true,
    format_description: 'sev-type',
    enum: ['std', 'es', 'snp'],
    maxLength: 3,
    description: 'Enable standard SEV with type=std or SEV-ES with es or SEV-SNP with snp.',
  },
  'no-debug': { type: 'boolean', optional: true, default: 0, description: 'no debugging' },
  'no-key-sharing': { type: 'boolean', optional: true, default: 0, description: 'no key sharing' },
  'allow-smt': { type: 'boolean', optional: true, default: 1, description: 'allow SMT' },
  'kernel-hashes': { type: 'boolean', optional: true, default: 0, description: 'kernel hashes' },
};

export const tdxFormat: FormatSchema = {
  type: { type: 'string', default_key: true, format_description: 'tdx-type', enum: ['tdx'] },
  attestation: { type: 'boolean', default: 1 },
  'vsock-cid': { type: 'integer', optional: true, default: 2, minimum: 2 },
  'vsock-port': { type: 'integer', optional: true, default: 4050, minimum: 0 },
};

export const nicModels = ['e1000', 'virtio', 'rtl8139', 'vmxnet3'] as const;

export const netFormat: FormatSchema = {
  model: { type: 'string', enum: nicModels, default_key: true },
  macaddr: { type: 'string', format: 'mac-addr', optional: true, format_description: 'XX:XX:XX:XX:XX:XX' },
  bridge: { type: 'string', format: 'pve-bridge-id', optional: true, format_description: 'bridge' },
  tag: { type: 'integer', minimum: 1, maximum: 4094, optional: true },
  trunks: { type: 'string', pattern: '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*', optional: true, format_description: 'vlanid[;vlanid...]' },
  rate: { type: 'number', minimum: 0, optional: true },
  firewall: { type: 'boolean', optional: true },
  ...Object.fromEntries(nicModels.map((m): [string, PropertySchema] => [m, { type: 'string', alias: 'macaddr', keyAlias: 'model' }])),
};

export const driveFormat: FormatSchema = {
  file: { type: 'string', format: 'pve-volume-id-or-qm-path', default_key: true, format_description: 'volume' },
  volume: { type: 'string', alias: 'file' },
  size: { type: 'string', format: 'disk-size', optional: true, format_description: 'DiskSize' },
  media: { type: 'string', enum: ['cdrom', 'disk'], optional: true },
  cache: { type: 'string', enum: ['none', 'writethrough', 'writeback', 'unsafe', 'directsync'], optional: true },
  serial: { type: 'string', format: 'urlencoded', maxLength: 60, optional: true, format_description: 'serial' },
  iops: { type: 'integer', optional: true },
  mbps: { type: 'number', optional: true },
  ro: { type: 'boolean', optional: true },
  discard: { type: 'string', enum: ['ignore', 'on'], optional: true },
  iothread: { type: 'boolean', optional: true, requires: 'aio' },
  aio: { type: 'string', enum: ['native', 'threads', 'io_uring'], optional: true },
};
