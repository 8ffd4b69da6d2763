/**
 * @module host/capabilities/current
 * "What does this host support right now", for commands that are not the generator: the
 * capability file qemu-server reads if it exists, else a live probe (without loading modules).
 */
import { access } from 'node:fs/promises';
import type { HwCapabilities } from '../facts.js';
import { probeHwCapabilities } from './probe.js';
import { HW_CAPABILITIES_PATH, readHwCapabilities } from './reader.js';

export interface CurrentCapabilities {
  caps: HwCapabilities | { error: string };
  source: 'file' | 'probe';
  path?: string;
}

export async function currentHwCapabilities(path: string = HW_CAPABILITIES_PATH): Promise<CurrentCapabilities> {
  const present = await access(path).then(
    () => true,
    () => false,
  );
  if (present) return { caps: await readHwCapabilities(path), source: 'file', path };
  return { caps: (await probeHwCapabilities()).json, source: 'probe' };
}
