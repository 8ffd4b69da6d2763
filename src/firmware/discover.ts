/**
 * @module firmware/discover
 * Reads QEMU firmware descriptors from the standard search path into `DescriptorFirmware`
 * facts: `*.json` files of each folder, later folders overriding earlier ones by file name,
 * a zero-length file (or a symlink to /dev/null) masking that name, the survivors sorted by file name (= priority), and
 * the sizes of the images they reference. This is the only I/O of the firmware package.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DescriptorFirmware, FirmwareDescriptorFact, FirmwareFileSizes, PveTableFirmware } from './types.js';

export function defaultDescriptorDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return ['/usr/share/qemu/firmware', '/etc/qemu/firmware', join(config, 'qemu', 'firmware')];
}

type Json = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function fileRef(v: unknown): { filename: string; format: string } | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Json;
  const filename = str(o.filename);
  if (!filename) return undefined;
  return { filename, format: str(o.format) ?? 'raw' };
}

/** Convert one parsed descriptor; returns a problem text instead when it cannot be used. */
export function descriptorFromJson(name: string, path: string, json: unknown): FirmwareDescriptorFact | string {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return `${path}: not a JSON object`;
  const o = json as Json;
  const mapping = o.mapping as Json | undefined;
  const device = str(mapping?.device);
  if (!mapping || !device || !['flash', 'memory', 'kernel', 'igvm'].includes(device)) {
    return `${path}: unknown mapping device '${String(device)}'`;
  }
  const executable = device === 'flash' ? fileRef(mapping.executable) : fileRef({ filename: mapping.filename, format: 'raw' });
  if (!executable) return `${path}: mapping has no executable file name`;
  const fact: FirmwareDescriptorFact = {
    name,
    path,
    interfaceTypes: Array.isArray(o['interface-types'])
      ? (o['interface-types'] as unknown[]).filter((x): x is string => typeof x === 'string')
      : [],
    device: device as FirmwareDescriptorFact['device'],
    executable,
    targets: Array.isArray(o.targets)
      ? (o.targets as Json[]).map((t) => ({
          architecture: str(t?.architecture) ?? '',
          machines: Array.isArray(t?.machines) ? (t.machines as unknown[]).filter((m): m is string => typeof m === 'string') : [],
        }))
      : [],
    features: Array.isArray(o.features) ? (o.features as unknown[]).filter((f): f is string => typeof f === 'string') : [],
  };
  const description = str(o.description);
  if (description !== undefined) fact.description = description;
  if (device === 'flash') {
    const mode = str(mapping.mode);
    if (mode === 'split' || mode === 'combined' || mode === 'stateless') fact.mode = mode;
    const nvram = fileRef(mapping['nvram-template']);
    if (nvram) fact.nvramTemplate = { ...nvram, size: 0 };
  }
  return fact;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How a search-path entry counts: a non-empty regular file is a descriptor; an empty one, or a
 * symlink to /dev/null (any character device: its length reads as 0, as libvirt's size test
 * sees it), masks the name; directories and dangling links are skipped.
 */
async function entryKind(path: string): Promise<'descriptor' | 'mask' | 'skip'> {
  try {
    const s = await stat(path);
    if (s.isFile()) return s.size === 0 ? 'mask' : 'descriptor';
    return s.isCharacterDevice() ? 'mask' : 'skip';
  } catch {
    return 'skip';
  }
}

/** Discover descriptors along `dirs` (default: /usr/share/qemu/firmware, /etc/qemu/firmware, $XDG_CONFIG_HOME/qemu/firmware). */
export async function discoverFirmwareDescriptors(dirs: string[] = defaultDescriptorDirs()): Promise<DescriptorFirmware> {
  const byName = new Map<string, string>(); // file name → path, '' when masked
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.endsWith('.json')) continue;
      const path = join(dir, entry);
      const kind = await entryKind(path);
      if (kind === 'skip') continue;
      byName.set(entry, kind === 'mask' ? '' : path);
    }
  }
  const descriptors: FirmwareDescriptorFact[] = [];
  const problems: string[] = [];
  const files: FirmwareFileSizes = {};
  for (const name of [...byName.keys()].sort()) {
    const path = byName.get(name)!;
    if (path === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    const fact = descriptorFromJson(name, path, parsed);
    if (typeof fact === 'string') {
      problems.push(fact);
      continue;
    }
    for (const ref of [fact.executable, fact.nvramTemplate]) {
      if (!ref) continue;
      const size = await sizeOf(ref.filename);
      if (size !== undefined) files[ref.filename] = size;
    }
    if (fact.nvramTemplate) fact.nvramTemplate.size = files[fact.nvramTemplate.filename] ?? 0;
    descriptors.push(fact);
  }
  return { kind: 'descriptors', descriptors, files, searched: dirs, problems };
}

/** Proxmox table facts from the files present in `baseDir` (pve-edk2-firmware), with their real sizes. */
export async function pveTableFromDir(baseDir = '/usr/share/pve-edk2-firmware/'): Promise<PveTableFirmware | undefined> {
  let entries: string[];
  try {
    entries = await readdir(baseDir);
  } catch {
    return undefined;
  }
  const files: FirmwareFileSizes = {};
  for (const entry of entries) {
    const size = await sizeOf(join(baseDir, entry));
    // keys as qemu-server spells the paths: "$EDK2_FW_BASE/<file>" with the double slash
    if (size !== undefined) files[`${baseDir}/${entry}`] = size;
  }
  return { kind: 'pve-table', baseDir, files };
}
