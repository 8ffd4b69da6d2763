/**
 * @module cloudinit/apply
 * When the image is (re)generated, as in qemu-server: `applyCloudinit` is apply_cloudinit_config
 * (write the image from the config, then drop `[special:cloudinit]`; the caller writes the config)
 * and runs at every start, when a cloud-init drive is set on a stopped VM, and from `hotplug`;
 * `updateCloudinitDrive` is vmconfig_update_cloudinit_drive behind `cvmctl cloudinit update` and
 * `PUT …/cloudinit`: under the VM's config lock, regenerate and write the config; a running VM's
 * medium is ejected while the image is rewritten and then inserted again (run/hotplug's
 * change_medium: QEMU locks an attached image against writers).
 */

import type { VmConfig } from '../config/types.js';
import type { LifecycleContext } from '../run/context.js';
import { CvmError } from '../errors.js';
import type { StorageConfig } from '../storage/types.js';
import { type DumpType, dumpCloudinit } from './files.js';
import { type GenerateArgs, generateCloudinit, hostResolv } from './image.js';
import { hasCloudinitChanges } from './pending.js';

export interface ApplyOptions {
  storage: StorageConfig;
  warn?: (message: string) => void;
  /** Host DNS settings (default: /etc/resolv.conf). */
  resolv?: GenerateArgs['resolv'];
}

/** A missing cloud-init volume is allocated again, 4 MiB, as commit_cloudinit_disk does. */
async function allocateMissing(storage: StorageConfig, vmid: number, volid: string, format: string): Promise<void> {
  const { allocateNamedVolume, CLOUDINIT_DISK_KIB } = await import('../storage/alloc.js');
  const { parseVolumeIdStrict } = await import('../storage/volume.js');
  const { BLOCK_STORAGE_TYPES, allocateBlockVolume } = await import('../storage/block-alloc.js');
  const { storeid, volname } = parseVolumeIdStrict(volid);
  const def = storage[storeid];
  if (def && BLOCK_STORAGE_TYPES.has(def.type)) {
    await allocateBlockVolume({ def, storeid, vmid, format, sizeKiB: CLOUDINIT_DISK_KIB, name: volname });
    return;
  }
  const name = volname.split('/').pop() as string;
  if (!/^vm-\d+-cloudinit/.test(name)) throw new CvmError('STORAGE', `unable to allocate cloud-init volume '${volid}'`);
  await allocateNamedVolume({ storage, storeid, vmid, name, sizeKiB: CLOUDINIT_DISK_KIB });
}

/**
 * apply_cloudinit_config: write the VM's cloud-init image from `cfg.conf` and clear the recorded
 * changes. Returns whether `cfg` changed (it had recorded changes); no cloud-init drive, no work.
 */
export async function applyCloudinit(cfg: VmConfig, opts: ApplyOptions): Promise<boolean> {
  const changed = hasCloudinitChanges(cfg);
  const done = await generateCloudinit({
    conf: cfg.conf,
    vmid: cfg.vmid,
    storage: opts.storage,
    ...(opts.resolv ? { resolv: opts.resolv } : {}),
    ...(opts.warn ? { warn: opts.warn } : {}),
    allocate: (volid, format) => allocateMissing(opts.storage, cfg.vmid, volid, format),
  });
  if (!done) return false;
  if (changed) delete cfg.special.cloudinit;
  return changed;
}

export interface UpdateDriveContext {
  root: string;
  storage: StorageConfig;
  warn?: (message: string) => void;
  resolv?: GenerateArgs['resolv'];
  /** Change the running VM's medium of drive `key` (run/hotplug's change_medium), regenerating while it is ejected. */
  changeMedium: (cfg: VmConfig, key: string, whileEjected: () => Promise<void>) => Promise<void>;
}

/** vmconfig_update_cloudinit_drive (qm cloudinit update): regenerate, write, swap in while running. */
export async function updateCloudinitDrive(ctx: UpdateDriveContext, vmid: number, opts: { skiplock?: boolean } = {}): Promise<void> {
  const { openConfigStore } = await import('../store/open.js');
  const { vmStatus } = await import('../store/status.js');
  const { cloudinitDrive } = await import('./image.js');
  const store = openConfigStore(ctx.root, ctx.warn ? { warn: ctx.warn } : {});
  await store.withLock(vmid, async () => {
    const cfg = (await store.read(vmid)).config;
    if (!opts.skiplock && cfg.conf.lock) throw new CvmError('VM_LOCKED', `VM is locked (${cfg.conf.lock})`);
    const drive = cloudinitDrive(cfg.conf, vmid);
    if (!drive) return;
    let changed = false;
    const regenerate = async () => {
      changed = await applyCloudinit(cfg, ctx);
    };
    // QEMU holds the attached image: a running VM's medium is ejected while it is rewritten
    if ((await vmStatus(ctx.root, vmid)).status === 'running') await ctx.changeMedium(cfg, drive.key, regenerate);
    else await regenerate();
    if (changed)
      await store.update(vmid, (current) => {
        delete current.special.cloudinit;
        return current;
      });
  });
}

/** `cloudinit update` through a lifecycle context (CLI and API): storage from the host facts, the medium swapped over QMP. */
export async function cloudinitUpdate(ctx: LifecycleContext, vmid: number, opts: { skiplock?: boolean } = {}): Promise<void> {
  await updateCloudinitDrive(
    {
      root: ctx.root,
      storage: ctx.facts.storage,
      ...(ctx.warn ? { warn: ctx.warn } : {}),
      changeMedium: async (config, key, whileEjected) => {
        const { swapMedium } = await import('../run/hotplug/index.js');
        await swapMedium({ root: ctx.root, ctx, config, key, whileEjected });
      },
    },
    vmid,
    opts,
  );
}

export const DUMP_TYPES: readonly DumpType[] = ['user', 'network', 'meta'];

/** `cloudinit dump`: the generated file of `type` for the VM's current config (DNS fallback from the host). */
export async function cloudinitDump(
  cfg: VmConfig,
  type: string,
  opts: { maskPassword?: boolean; warn?: (m: string) => void } = {},
): Promise<string> {
  if (!DUMP_TYPES.includes(type as DumpType)) {
    throw new CvmError('PARAM_INVALID', `type: value '${type}' does not have a value in the enumeration '${DUMP_TYPES.join(', ')}'`, {
      details: { key: 'type', value: type },
    });
  }
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`WARN: ${m}\n`));
  return dumpCloudinit(cfg.conf, cfg.vmid, type as DumpType, { host: await hostResolv(), warn }, opts.maskPassword === true);
}
