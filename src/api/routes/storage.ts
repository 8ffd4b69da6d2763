/**
 * @module api/routes/storage
 * The node's storages from the state root's storage.cfg: `GET /nodes/{node}/storage` (with the
 * file system's size numbers for path-based storages), the image volumes of a storage
 * (`…/storage/{storage}/content`) and one volume's details (`…/content/{volume}`: path, size,
 * used, format — bpg asks this for every disk whose config value has no `format=`). Only
 * storages the caller may audit are listed; volume names are parsed by the storage code, and
 * a name that would step out of the storage is refused.
 */

import { execFile } from 'node:child_process';
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CvmError } from '../../errors.js';
import { loadLocalStorage } from '../../host/local/probe.js';
import type { StorageConfig, StorageDef } from '../../storage/types.js';
import { parsePluginVolname } from '../../storage/volume.js';
import { volumePath } from '../../storage/path.js';
import { canSee, requirePrivs } from '../permissions.js';
import { node, vmid } from '../schemas.js';
import { type ApiRequest, identityOf, type RouteDef } from '../types.js';

const run = promisify(execFile);
const storageId = { type: 'string', format: 'pve-storage-id' } as const;
const STORAGE_PRIVS = ['Datastore.Audit', 'Datastore.AllocateSpace'];

type Entry = Record<string, string | number> & { storage: string };

async function sizes(def: StorageDef): Promise<Record<string, number>> {
  if (typeof def.path !== 'string') return { active: 0, total: 0, used: 0, avail: 0 };
  try {
    const fs = await statfs(def.path);
    const total = fs.blocks * fs.bsize;
    const avail = fs.bavail * fs.bsize;
    const used = total - fs.bfree * fs.bsize;
    return { active: 1, total, used, avail, used_fraction: total > 0 ? used / total : 0 };
  } catch {
    // a dir storage whose directory does not exist yet is inactive, as PVE shows it
    return { active: 0, total: 0, used: 0, avail: 0 };
  }
}

/** The storages the caller may see, PVE's `GET /nodes/{node}/storage` rows. */
export async function storageEntries(req: ApiRequest, cfg?: StorageConfig): Promise<Entry[]> {
  const storage = cfg ?? (await loadLocalStorage(req.server.root));
  const identity = identityOf(req);
  const out: Entry[] = [];
  for (const id of Object.keys(storage).sort()) {
    const def = storage[id] as StorageDef;
    if (!(await canSee(req, identity, `/storage/${id}`, STORAGE_PRIVS))) continue;
    out.push({
      storage: id,
      type: def.type,
      content: [...def.content].sort().join(','),
      enabled: def.disable ? 0 : 1,
      shared: def.shared ? 1 : 0,
      ...(await sizes(def)),
    });
  }
  return out;
}

async function storageOf(req: ApiRequest): Promise<{ cfg: StorageConfig; id: string; def: StorageDef }> {
  const cfg = await loadLocalStorage(req.server.root);
  const id = req.params.storage as string;
  const def = Object.hasOwn(cfg, id) ? cfg[id] : undefined;
  if (!def) throw new CvmError('STORAGE', `storage '${id}' does not exist`);
  return { cfg, id, def };
}

async function imageInfo(path: string, fmt: string): Promise<{ size: number; used: number }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new CvmError('STORAGE', 'volume does not exist');
  if (fmt === 'raw') return { size: st.size, used: st.blocks * 512 };
  try {
    const { stdout } = await run('qemu-img', ['info', '--output=json', '-f', fmt, path], { timeout: 10_000 });
    const info = JSON.parse(stdout) as { 'virtual-size': number; 'actual-size'?: number };
    return { size: info['virtual-size'], used: info['actual-size'] ?? st.blocks * 512 };
  } catch (err) {
    throw new CvmError('STORAGE', `unable to read image '${path}' - ${(err as Error).message}`);
  }
}

export const storageRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/storage',
    params: {
      node,
      content: { type: 'string', optional: true, pattern: '[a-z]+(?:,[a-z]+)*' },
      enabled: { type: 'boolean', optional: true },
      storage: { ...storageId, optional: true },
      target: { type: 'string', optional: true, format: 'pve-node' },
      format: { type: 'boolean', optional: true },
    },
    handler: async (req) => {
      const wanted = (req.params.content ?? '').split(',').filter(Boolean);
      return (await storageEntries(req)).filter(
        (s) =>
          (req.params.storage === undefined || s.storage === req.params.storage) &&
          (req.params.enabled !== '1' || s.enabled === 1) &&
          wanted.every((c) => String(s.content).split(',').includes(c)),
      );
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}',
    params: { node, storage: storageId },
    permissions: requirePrivs((req) => `/storage/${req.params.storage}`, STORAGE_PRIVS, true),
    handler: async () => [{ subdir: 'content' }, { subdir: 'status' }],
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}/content',
    params: { node, storage: storageId, content: { type: 'string', optional: true }, vmid: { ...vmid, optional: true } },
    permissions: requirePrivs((req) => `/storage/${req.params.storage}`, STORAGE_PRIVS, true),
    handler: async (req) => {
      const { cfg, id, def } = await storageOf(req);
      if (typeof def.path !== 'string' || (req.params.content !== undefined && req.params.content !== 'images')) return [];
      const imagesDir = join(def.path, 'images');
      const owners = req.params.vmid !== undefined ? [req.params.vmid] : await readdir(imagesDir).catch(() => [] as string[]);
      const out: Record<string, string | number>[] = [];
      for (const owner of owners.filter((o) => /^\d+$/.test(o)).sort((a, b) => Number(a) - Number(b))) {
        for (const name of (await readdir(join(imagesDir, owner)).catch(() => [] as string[])).sort()) {
          const volid = `${id}:${owner}/${name}`;
          let format: string;
          try {
            format = parsePluginVolname(def, `${owner}/${name}`).format ?? 'raw';
          } catch {
            continue; // not a volume name PVE would list
          }
          const info = await imageInfo(volumePath(cfg, volid), format).catch(() => undefined);
          if (!info) continue;
          out.push({ volid, content: 'images', format, vmid: Number(owner), ...info });
        }
      }
      return out;
    },
  },
  {
    method: 'GET',
    // `{volume*}`: a volume id keeps its `/` (`local:100/vm-100-disk-0.raw`, sent raw or as %2F)
    path: '/nodes/{node}/storage/{storage}/content/{volume*}',
    params: { node, storage: storageId, volume: { type: 'string', maxLength: 512 } },
    permissions: requirePrivs((req) => `/storage/${req.params.storage}`, STORAGE_PRIVS, true),
    handler: async (req) => {
      const { cfg, id, def } = await storageOf(req);
      const given = req.params.volume as string;
      const volid = given.includes(':') ? given : `${id}:${given}`;
      const notFound = () => new CvmError('STORAGE', `volume '${volid}' does not exist`);
      if (!volid.startsWith(`${id}:`) || volid.split(/[/:]/).some((p) => p === '..' || p === '.')) throw notFound();
      let format: string;
      try {
        format = parsePluginVolname(def, volid.slice(id.length + 1)).format ?? 'raw';
      } catch {
        throw notFound();
      }
      const path = volumePath(cfg, volid);
      const info = await imageInfo(path, format).catch(() => {
        throw notFound();
      });
      return { path, format, ...info };
    },
  },
];
