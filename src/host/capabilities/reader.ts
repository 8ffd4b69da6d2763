/**
 * @module host/capabilities/reader
 * The consumer side of the capability file, as qemu-server's `get_hw_capabilities`: a missing
 * file gives its exact "does not exist" text, only the first line is parsed, and errors are
 * returned as `{ error }` data so the generator raises them only when a CVM needs them.
 */
import { CvmError } from '../../errors.js';
import { READ_LIMITS, readRegularFile } from '../../util/read-file.js';
import type { HwCapabilities } from '../facts.js';

export const HW_CAPABILITIES_PATH = '/run/qemu-server/host-hw-capabilities.json';

export function missingCapabilitiesText(path: string): string {
  return `${path} does not exist. Please check the status of query-machine-capabilities: ` + 'systemctl status query-machine-capabilities';
}

/** Parse the file's text like qemu-server: up to the first newline, then JSON. */
export function parseHwCapabilitiesText(text: string): HwCapabilities | { error: string } {
  const firstLine = text.split('\n', 1)[0] ?? '';
  try {
    const parsed: unknown = JSON.parse(firstLine);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { error: `host hardware capabilities: expected a JSON object, got '${firstLine}'` };
    }
    return parsed as HwCapabilities;
  } catch (err) {
    return { error: `host hardware capabilities: ${(err as Error).message}` };
  }
}

export async function readHwCapabilities(path: string = HW_CAPABILITIES_PATH): Promise<HwCapabilities | { error: string }> {
  let text: string;
  try {
    text = (await readRegularFile(path, { what: 'host capabilities', maxBytes: READ_LIMITS.small })).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { error: missingCapabilitiesText(path) };
    if (err instanceof CvmError) return { error: err.message };
    return { error: `unable to read ${path}: ${(err as Error).message}` };
  }
  return parseHwCapabilitiesText(text);
}
