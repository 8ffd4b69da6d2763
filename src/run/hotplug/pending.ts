/**
 * @module run/hotplug/pending
 * vmconfig_hotplug_pending for a running VM: after `set` staged its changes (and fast-plug
 * options took effect), deletions are tried first (sorted), then new values (sorted), each
 * per the `hotplug` option (default `network,disk,usb`): NICs and disks are (un)plugged, NIC
 * bridge/VLAN/firewall/rate/link changes are applied to the live tap, `vcpus` grows/shrinks
 * with `cpu` hotplug, `memory` adds/removes DIMMs with `memory` hotplug, `usbN` and `tablet`
 * change with `usb` hotplug (USB only on qemu-xhci VMs), `balloon` sets the target (with
 * `shares: 0`), `cpuunits`/`cpulimit` go to the VM's cpu cgroup; disk throttling changes go
 * to the drive's throttle group, cd-rom media are swapped. What cannot change live stays in
 * `[PENDING]` without a message, as in qemu-server (efidisk/tpmstate/ide/sata disks, disk
 * cache/aio/… changes, balloon on/off, everything else); a failure is recorded as `<key>:
 * hotplug problem - <reason>` and the key stays pending. Cloud-init: changes of the keys the image
 * is made from are recorded in `[special:cloudinit]`; a new cloud-init drive gets its image
 * generated before it is swapped in (after every other change), and with `cloudinit` in
 * `hotplug` recorded changes regenerate the image and swap it into the drive. The caller holds
 * the config lock and writes the config afterwards.
 */

import { CvmError } from '../../errors.js';
import { parseNet } from '../../config/net.js';
import { perlTrue } from '../../config/file/write.js';
import { agentFormat } from '../../config/options/system-formats.js';
import { parsePropertyString } from '../../schema/index.js';
import { readPropertyString } from '../../schema/reader.js';
import { allDriveFormat } from '../../config/options/drives.js';
import { ioThrottleLimits, THROTTLE_OPTIONS } from '../../qemu/cfg2cmd/drives-common.js';
import type { VmConfig } from '../../config/types.js';
import { driveFile, isDriveKey } from '../../config/file/drives.js';
import { parsePendingDelete } from '../../config/file/views.js';
import { bootOrder, registerUnusedDrive, removeFromPendingDelete, volumeOwner } from '../../store/vm-pending.js';
import { tapPlug, tapRateLimit, tapUnplug } from '../bridge-plug.js';
import type { LifecycleContext } from '../context.js';
import { hostNetTools } from '../net-tools.js';
import { tapPlanFor } from '../network.js';
import { parseHotplugFeatures } from './features.js';
import { blockdevArg, objectArg } from './argv-parts.js';
import { hotplugMemory } from './memory.js';
import { attachBlockdev, detachBlockdev } from './qmp-devices.js';
import { hotplugVcpus, type PlugEnv, plugDrive, plugNet, unplugDrive, unplugNet } from './plug.js';
import { balloonChange, balloonReset } from './balloon.js';
import { plugTablet, plugUsb, unplugUnverified, unplugUsb, unplugXhciIfUnused, usesQemuXhci } from './usb.js';
import { changeCpuQuota, changeCpuShares, clampCpuShares, cpuQuotaUs, findCpuCgroup } from '../cgroup.js';
import { driveIsCloudinit } from '../../qemu/cfg2cmd/drives-common.js';
import { applyCloudinit } from '../../cloudinit/apply.js';
import { cloudinitDrive } from '../../cloudinit/image.js';
import { hasCloudinitChanges, recordCloudinitChange } from '../../cloudinit/pending.js';

/** "skip\n" of qemu-server: not hotpluggable, stays pending, no error. */
class Skip extends Error {}
const skip = (): never => {
  throw new Skip();
};
const fail = (message: string): never => {
  throw new CvmError('IO', message);
};

export interface HotplugOutcome {
  /** key → `hotplug problem - …` */
  errors: Record<string, string>;
  /** Volumes of forced deletions to free after the config is written. */
  freeVolumes: string[];
}

export interface HotplugEnv extends PlugEnv {
  ctx: Pick<LifecycleContext, 'root' | 'facts' | 'buildCommand' | 'warn'>;
}

/** get_bootdisks: drives of `boot: order=…` (or the legacy `bootdisk`). */
function bootDisks(conf: Record<string, string>): string[] {
  if (!conf.boot || /^[acdn]+$/.test(conf.boot) || conf.boot.startsWith('legacy=')) return conf.bootdisk ? [conf.bootdisk] : [];
  return bootOrder(conf).filter((d) => isDriveKey(d));
}

const DISK_OPTIONS_NOT_LIVE = ['aio', 'discard', 'iothread', 'queues', 'product', 'cache', 'ssd', 'vendor', 'ro'];


export async function hotplugPending(cfg: VmConfig, env: HotplugEnv): Promise<HotplugOutcome> {
  const outcome: HotplugOutcome = { errors: {}, freeVolumes: [] };
  const { conf, pending } = cfg;
  const features = parseHotplugFeatures(conf.hotplug ?? '1');
  const net = env.net ?? hostNetTools;
  /** The command line the VM would get with `changes` applied: hotplugged devices come from it. */
  const argvWith = async (changes: Record<string, string | undefined>): Promise<string[]> => {
    const next = { ...conf };
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    return (await env.ctx.buildCommand({ ...cfg, conf: next, pending: {} }, env.ctx.facts)).argv;
  };
  const attempt = async (opt: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      if (!(err instanceof Skip)) outcome.errors[opt] = `hotplug problem - ${(err as Error).message.replace(/\n$/, '')}`;
      return false;
    }
  };
  const memoryTo = async (value: string) => {
    // maxmem from the running config's command line (`-m size=…,slots=255,maxmem=…M`)
    const running = await argvWith({});
    const maxMem = Number(/(?:^|,)maxmem=(\d+)M/.exec(running[running.indexOf('-m') + 1] ?? '')?.[1]);
    await hotplugMemory(
      env,
      conf,
      value,
      maxMem,
      () => argvWith({ memory: value }),
      (m) => {
        conf.memory = m;
      },
    );
  };
  const checkBootdisk = (opt: string) => {
    if (bootDisks(conf).includes(opt)) throw new CvmError('QMP_ERROR', `can't unplug bootdisk '${opt}'`);
  };

  /** is_usb_hotplug_supported: `usb` hotplug and a VM whose command line (with `changes`) uses qemu-xhci. */
  const usbHotplug = async (changes: Record<string, string | undefined>): Promise<boolean> => {
    if (!features.has('usb')) return false;
    return usesQemuXhci(await argvWith(changes).catch(() => []));
  };
  let usbWasUnplugged = false;
  const cgroup = async () => (await findCpuCgroup(env.ctx.root, cfg.vmid)) ?? fail('this host has no cpu cgroup controller');

  const deletes = parsePendingDelete(pending.delete);
  for (const opt of [...deletes.keys()].sort()) {
    const ok = await attempt(opt, async () => {
      if (opt === 'hotplug') {
        if (/(cpu|memory)/.test(conf.hotplug ?? '')) skip();
      } else if (opt === 'tablet') {
        if (!features.has('usb')) skip();
        // the default is a tablet
        await plugTablet(env, await argvWith({ tablet: '1' }));
      } else if (/^usb\d+$/.test(opt)) {
        if (!(await usbHotplug({}))) skip();
        await unplugUsb(env, `usbredirdev${opt.slice(3)}`);
        await unplugUsb(env, opt);
        usbWasUnplugged = true;
      } else if (opt === 'balloon') {
        if (!(await balloonReset(env.qmp, conf))) skip();
      } else if (opt === 'vcpus') {
        if (!features.has('cpu')) skip();
        await hotplugVcpus(env, conf, undefined, await argvWith({ vcpus: undefined }), (n) => {
          conf.vcpus = String(n);
        });
      } else if (/^net\d+$/.test(opt)) {
        if (!features.has('network')) skip();
        await unplugNet(env, opt, conf[opt]);
      } else if (opt === 'memory') {
        if (!features.has('memory')) skip();
        await memoryTo('512');
      } else if (opt === 'cpuunits') {
        const cg = await cgroup();
        await changeCpuShares(cg, cfg.vmid, undefined);
      } else if (opt === 'cpulimit') {
        await changeCpuQuota(await cgroup(), cfg.vmid, undefined);
      } else if (isDriveKey(opt)) {
        if (!features.has('disk') || /(efidisk|ide|sata|tpmstate)\d+/.test(opt)) skip();
        checkBootdisk(opt);
        await unplugDrive(env, conf, opt);
        const drive = conf[opt] ? driveFile(opt, conf[opt] as string) : undefined;
        if (deletes.get(opt)?.force) {
          if (drive && drive.media !== 'cdrom' && volumeOwner(drive.file) === cfg.vmid) outcome.freeVolumes.push(drive.file);
        } else registerUnusedDrive(cfg, opt, conf[opt], outcome.freeVolumes);
      } else skip();
    });
    if (ok) {
      recordCloudinitChange(cfg, opt, conf[opt], undefined);
      delete conf[opt];
      removeFromPendingDelete(cfg, opt);
    }
  }

  let cloudinitOpt: string | undefined;

  for (const opt of Object.keys(pending).sort()) {
    if (opt === 'delete') continue;
    const value = pending[opt] as string;
    const ok = await attempt(opt, async () => {
      if (opt === 'hotplug') {
        if (/memory/.test(value) || /memory/.test(conf.hotplug ?? '')) skip();
        if (/cpu/.test(value) || /cpu/.test(conf.hotplug ?? '')) skip();
      } else if (opt === 'tablet') {
        if (!features.has('usb')) skip();
        if (value === '1') await plugTablet(env, await argvWith({ tablet: '1' }));
        else if (value === '0') await unplugUnverified(env, 'tablet');
      } else if (/^usb\d+$/.test(opt)) {
        if (!(await usbHotplug({ [opt]: value }))) skip();
        await plugUsb(env, await argvWith({ [opt]: value }), opt, value);
      } else if (opt === 'balloon') {
        if (!(await balloonChange(env.qmp, conf, value))) skip();
      } else if (opt === 'vcpus') {
        if (!features.has('cpu')) skip();
        await hotplugVcpus(env, conf, Number(value), await argvWith({ vcpus: value }), (n) => {
          conf.vcpus = String(n);
        });
      } else if (/^net\d+$/.test(opt)) {
        await updateNet(env, conf, features.has('network'), opt, value, argvWith, net);
      } else if (opt === 'agent') {
        updateAgent(conf.agent, value);
      } else if (opt === 'memory') {
        if (!features.has('memory')) skip();
        await memoryTo(value);
      } else if (opt === 'cpuunits') {
        const cg = await cgroup();
        await changeCpuShares(cg, cfg.vmid, clampCpuShares(Number(value), cg.mode));
      } else if (opt === 'cpulimit') {
        await changeCpuQuota(await cgroup(), cfg.vmid, cpuQuotaUs(value));
      } else if (isDriveKey(opt)) {
        if (opt === 'efidisk0' || opt === 'tpmstate0') skip();
        if (driveIsCloudinit({ interface: opt, index: 0, file: driveFile(opt, value)?.file ?? '' })) {
          // every other change first: the image is made from the config they produce
          cloudinitOpt = opt;
          skip();
        }
        await updateDisk(env, cfg, features.has('disk'), opt, value, argvWith, checkBootdisk, outcome.freeVolumes);
      } else skip();
    });
    if (ok) {
      recordCloudinitChange(cfg, opt, conf[opt], value);
      conf[opt] = value;
      delete pending[opt];
    }
  }
  // cloud-init warnings go where the caller's warnings go (the task log of an API request)
  const ciOptions = { storage: env.ctx.facts.storage, ...(env.ctx.warn ? { warn: env.ctx.warn } : {}) };
  if (cloudinitOpt !== undefined) {
    const opt = cloudinitOpt;
    const value = pending[opt] as string;
    const ok = await attempt(opt, async () => {
      // the copy shares cfg.special: applyCloudinit clears the recorded changes there
      await applyCloudinit({ ...cfg, conf: { ...conf, [opt]: value } }, ciOptions);
      await updateDisk(env, cfg, features.has('disk'), opt, value, argvWith, checkBootdisk, outcome.freeVolumes);
    });
    if (ok) {
      conf[opt] = value;
      delete pending[opt];
    }
  }
  if (features.has('cloudinit') && hasCloudinitChanges(cfg)) {
    // vmconfig_update_cloudinit_drive: a new image for the recorded changes, swapped in
    const drive = cloudinitDrive(conf, cfg.vmid);
    if (drive) {
      await attempt(drive.key, async () => {
        await changeMedium(env, drive.key, drive.volid, () => argvWith({}), async () => {
          await applyCloudinit(cfg, ciOptions);
        });
      });
    }
  }
  // the xhci controller goes with the last USB device
  if (usbWasUnplugged) await unplugXhciIfUnused(env, conf).catch(() => undefined);
  return outcome;
}

/** parse_guest_agent: `{}` when disabled (other properties are then ignored). */
function parseAgent(value: string): Record<string, unknown> {
  const parsed = parsePropertyString(agentFormat, value) as Record<string, unknown>;
  return perlTrue(String(parsed.enabled ?? '0')) ? parsed : {};
}

/** vmconfig_update_agent: only `fstrim_cloned_disks` changes live, and only with an agent configured. */
function updateAgent(current: string | undefined, value: string): void {
  if (!current) skip();
  const before = parseAgent(current as string);
  const after = parseAgent(value);
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key !== 'fstrim_cloned_disks' && String(before[key] ?? '') !== String(after[key] ?? '')) skip();
  }
}

/** vmconfig_update_net. */
async function updateNet(
  env: HotplugEnv,
  conf: Record<string, string>,
  hotplug: boolean,
  opt: string,
  value: string,
  argvWith: (changes: Record<string, string | undefined>) => Promise<string[]>,
  tools: typeof hostNetTools,
): Promise<void> {
  const next = parseNet(value);
  if (conf[opt]) {
    const old = parseNet(conf[opt] as string);
    const differs = (k: string) => String(old[k] ?? '') !== String(next[k] ?? '');
    if (differs('model') || differs('macaddr') || differs('queues') || differs('mtu') || !(next.bridge && old.bridge)) {
      if (!hotplug) skip();
      await unplugNet(env, opt, conf[opt]);
    } else {
      const plan = tapPlanFor(env.vmid, opt, value);
      if (!plan) skip();
      const iface = (plan as NonNullable<typeof plan>).ifname;
      if (differs('bridge') || differs('tag') || differs('trunks') || differs('firewall')) {
        await tapUnplug(tools, iface);
        // bridge or VLAN changed: the guest sees its link go down (dhcp renew…)
        if (differs('bridge') || differs('tag')) await env.qmp.execute('set_link', { name: opt, up: false });
        await tapPlug(tools, plan as NonNullable<typeof plan>);
      } else if (differs('rate')) {
        await tapRateLimit(tools, iface, next.rate ? Number(next.rate) : undefined);
      }
      if (differs('link_down') || differs('bridge') || differs('tag')) {
        await env.qmp.execute('set_link', { name: opt, up: !Number(next.link_down) });
      }
      return;
    }
  }
  if (!hotplug) skip();
  await plugNet(env, await argvWith({ [opt]: value }), opt, value);
}

/**
 * Blockdev::change_medium: open the tray (forced), drop the old medium, insert the new one.
 * `whileEjected` runs once QEMU let go of the old medium: a cloud-init image is rewritten in
 * place then (QEMU holds a lock on an attached image that keeps qemu-img from writing it).
 */
export async function changeMedium(
  env: Pick<HotplugEnv, 'qmp'>,
  id: string,
  file: string,
  argvFor: () => Promise<string[]>,
  whileEjected?: () => Promise<void>,
): Promise<void> {
  await env.qmp.execute('blockdev-open-tray', { force: true, id });
  await env.qmp.execute('blockdev-remove-medium', { id });
  await detachBlockdev(env.qmp, id);
  await whileEjected?.();
  if (file === 'none') return;
  const argv = await argvFor();
  const blockdev = blockdevArg(argv, `drive-${id}`);
  if (!blockdev) throw new CvmError('QMP_ERROR', `no medium for '${id}' in the command line`);
  await attachBlockdev(env.qmp, objectArg(argv, `throttle-drive-${id}`), blockdev);
  await env.qmp.execute('blockdev-insert-medium', { id, 'node-name': `drive-${id}` });
  await env.qmp.execute('blockdev-close-tray', { id });
}

/** vmconfig_update_disk. */
async function updateDisk(
  env: HotplugEnv,
  cfg: VmConfig,
  hotplug: boolean,
  opt: string,
  value: string,
  argvWith: (changes: Record<string, string | undefined>) => Promise<string[]>,
  checkBootdisk: (opt: string) => void,
  free: string[],
): Promise<void> {
  const { conf } = cfg;
  const drive = driveFile(opt, value);
  const oldValue = conf[opt];
  const old = oldValue ? driveFile(opt, oldValue) : undefined;
  if (old && drive) {
    if ((drive.media || 'disk') !== (old.media || 'disk')) throw new CvmError('PARAM_INVALID', 'unable to change media type');
    if (old.media === 'cdrom') {
      let failure: unknown;
      await changeMedium(env, opt, drive.file, () => argvWith({ [opt]: value })).catch((err: unknown) => {
        failure = err;
      });
      // an ejected cloud-init image stays known as unusedN
      if (drive.file === 'none' && /[:/](?:vm-\d+-)?cloudinit/.test(old.file)) registerUnusedDrive(cfg, opt, oldValue, free);
      if (failure) throw failure;
      return;
    }
    if (drive.file === old.file) {
      const a = readPropertyString(allDriveFormat, oldValue);
      const b = readPropertyString(allDriveFormat, value);
      if (DISK_OPTIONS_NOT_LIVE.some((k) => a[k] !== b[k])) skip();
      if (THROTTLE_OPTIONS.some(({ option: k }) => Number(a[k] ?? 0) !== Number(b[k] ?? 0))) {
        await env.qmp.execute('qom-set', { path: `throttle-drive-${opt}`, property: 'limits', value: ioThrottleLimits(b) });
      }
      // anything else (size, backup, replicate, …) needs nothing from QEMU
      return;
    }
    if (!hotplug) skip();
    checkBootdisk(opt);
    await unplugDrive(env, conf, opt);
    registerUnusedDrive(cfg, opt, oldValue, free);
  }
  if (!hotplug || /^(ide|sata)\d+$/.test(opt)) skip();
  await plugDrive(env, await argvWith({ [opt]: value }), opt);
}
