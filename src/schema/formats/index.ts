/**
 * @module schema/formats
 * Registers the common named string formats of pve-common and pve-storage (plus qemu-server's
 * volume-or-path formats) once, when the schema engine is first imported. qemu-server's own
 * property-string formats (drives, net, sev, tdx …) belong to the option table, not here.
 */
import { getFormat, registerFormat } from '../registry.js';
import type { FormatVerifier } from '../types.js';
import { ID_FORMATS } from './ids.js';
import { NETWORK_FORMATS } from './network.js';
import { STORAGE_FORMATS } from './storage.js';

export * from './ids.js';
export * from './ip.js';
export * from './network.js';
export * from './storage.js';

export const COMMON_FORMATS: Readonly<Record<string, FormatVerifier>> = {
  ...ID_FORMATS,
  ...NETWORK_FORMATS,
  ...STORAGE_FORMATS,
};

/** Idempotent: registers every common format not registered yet. */
export function registerCommonFormats(): void {
  for (const [name, verifier] of Object.entries(COMMON_FORMATS)) {
    if (getFormat(name) === undefined) registerFormat(name, verifier);
  }
}

registerCommonFormats();
