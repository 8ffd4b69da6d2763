/**
 * @module store/vm-ops
 * The VM config operations behind `cvmctl create`, `set` and `destroy`, after qemu-server's
 * create_vm, update_vm and destroy_vm APIs: input is fully validated before the VM is locked;
 * inside the lock the current file is re-read, the digest and the config `lock` are checked,
 * new volumes are allocated, and the complete new config is validated before it replaces the
 * file atomically. A failure at any step leaves the file as it was (and frees volumes that
 * were allocated for it).
 */

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { driveFile, isDriveKey } from '../config/file/drives.js';
import { splitList } from '../config/file/views.js';
import { perlTrue } from '../config/file/write.js';
import { lookupConfigKey, validDriveNames, validDriveNamesForBoot } from '../config/options/index.js';
import type { ConfigSection, VmConfig } from '../config/types.js';
import { assertSingleCloudinitDrive, hasCloudinitChanges } from '../cloudinit/pending.js';
import { parseHotplugFeatures } from '../run/hotplug/features.js';
import { nodeArchToQemu, vmArch } from '../host/local/parse.js';
import { checkAndPinMachineString, windowsVersion } from '../qemu/cfg2cmd/version.js';
import { CREATE_LOCK } from './fs-store.js';
import { openConfigStore } from './open.js';
import { currentMemoryMiB, vmStatus } from './status.js';
import {
  applyFastPlug,
  applyPending,
  cleanupPending,
  type EditEffects,
  printBootOrder,
  stageChanges,
  storedCipassword,
  volumeOwner,
} from './vm-pending.js';
import { checkParams } from './vm-params.js';

const MAX_NETS = 32;

export interface VmOpContext {
  root: string;
  vmid: number;
  /** Receives warnings (printed as `WARN: …` by the CLI). */
  warn?: (msg: string) => void;
  /** Receives qemu-server's informational lines (stdout of qm, the task log of the API). */
  info?: (msg: string) => void;
}

export interface CreateVmArgs extends VmOpContext {
  params: Record<string, string>;
  /** Clock for `meta: ctime=…` (ms since epoch). */
  now?: number;
  /**
   * `meta: creation-qemu=…`: the host's QEMU version (qemu-server's kvm_user_version). Looked up
   * from the installed `qemu-system-<host arch>` when absent; `false` leaves it out.
   */
  creationQemu?: string | false;
}

export interface UpdateVmArgs extends VmOpContext {
  params: Record<string, string>;
  /** Keys to remove (comma/space separated, like `--delete`). */
  delete?: string;
  /** Pending changes to drop. */
  revert?: string;
  /** Only apply if the file still has this SHA-1. */
  digest?: string;
  /** Ignore the config's `lock` property. */
  skiplock?: boolean;
  /** With `delete`: free removed disks instead of keeping them as unusedN. */
  force?: boolean;
  /** The installed QEMU's version, for machine pinning when `ostype` changes; looked up when absent. */
  kvmVersion?: string;
  /** Called once the VM is locked and the request passed the checks before update_vm's worker (qm prints its log line then). */
  onStart?: () => void;
}

export interface UpdateVmResult {
  config: VmConfig;
  /** True when the VM runs and the changes were left in [PENDING]. */
  pending: boolean;
}

async function storage() {
  return import('../storage/alloc.js');
}

/** Existing volumes named by drive values must parse and suit a drive (storage loaded only if needed). */
async function checkVolumes(root: string, params: Record<string, string>): Promise<void> {
  const keys = Object.keys(params).filter(isDriveKey);
  if (keys.length > 0) await (await storage()).checkDriveVolumes({ root, conf: params, keys });
}

function checkLock(conf: ConfigSection, skiplock: boolean | undefined): void {
  if (!skiplock && conf.lock) throw new CvmError('VM_LOCKED', `VM is locked (${conf.lock})`);
}

/** resolve_first_disk: the first boot-capable drive that is (not) a cd-rom. */
function firstDisk(conf: ConfigSection, cdrom: boolean): string | undefined {
  for (const key of validDriveNamesForBoot) {
    const value = conf[key];
    if (!value) continue;
    const isCdrom = driveFile(key, value)?.media === 'cdrom';
    if (isCdrom === cdrom) return key;
  }
  return undefined;
}

/** get_default_bootdevices: first disk, first cd-rom, first NIC. */
export function defaultBootDevices(conf: ConfigSection): string[] {
  const devices: string[] = [];
  const disk = firstDisk(conf, false);
  if (disk) devices.push(disk);
  const cdrom = firstDisk(conf, true);
  if (cdrom) devices.push(cdrom);
  for (let i = 0; i < MAX_NETS; i++) {
    if (conf[`net${i}`]) {
      devices.push(`net${i}`);
      break;
    }
  }
  return devices;
}

/**
 * The QEMU version new configs record (kvm_user_version), or undefined without a runnable QEMU:
 * qemu-server cannot create a VM then (its version fails the meta format), but cvmctl also
 * writes configs on machines that only validate and preview them, so the key is left out.
 */
async function hostQemuVersion(root: string): Promise<string | undefined> {
  const { findQemuBinary, qemuBinaryFacts } = await import('../host/local/qemu-binary.js');
  const binary = await findQemuBinary(nodeArchToQemu(process.arch));
  if (!binary) return undefined;
  try {
    return (await qemuBinaryFacts(binary, join(root, 'cache'))).version;
  } catch {
    return undefined;
  }
}

/**
 * What create_vm adds to a new config: meta (new_meta_info_string: `creation-qemu` then `ctime`,
 * print_property_string's sorted order), boot order, SMBIOS UUID, vmgenid.
 */
export function applyCreateDefaults(conf: ConfigSection, nowMs: number, creationQemu?: string): void {
  const ctime = `ctime=${Math.floor(nowMs / 1000)}`;
  conf.meta = creationQemu ? `creation-qemu=${creationQemu},${ctime}` : ctime;
  if (!conf.boot) {
    const devices = defaultBootDevices(conf);
    if (devices.length > 0) conf.boot = printBootOrder(devices);
  }
  if (!conf.smbios1) conf.smbios1 = `uuid=${randomUUID()}`;
  if ((conf.vmgenid === undefined || conf.vmgenid === '1') && conf.arch !== 'aarch64') conf.vmgenid = randomUUID();
}

function newVolumes(before: ConfigSection, after: ConfigSection, keys: string[]): ConfigSection {
  const created: ConfigSection = {};
  for (const key of keys) if (after[key] !== undefined && after[key] !== before[key]) created[key] = after[key];
  return created;
}

async function freeQuietly(ctx: VmOpContext, conf: ConfigSection): Promise<void> {
  if (Object.keys(conf).length === 0) return;
  try {
    // only these volumes: other images of the VM may still be attached to its drives
    await (await storage()).freeVolumes({ root: ctx.root, vmid: ctx.vmid, conf });
  } catch (err) {
    ctx.warn?.(`could not free volumes: ${(err as Error).message}`);
  }
}

export async function createVm(args: CreateVmArgs): Promise<VmConfig> {
  const params = checkParams(args.params);
  await checkVolumes(args.root, params);
  const store = openConfigStore(args.root, { warn: args.warn });
  if (await store.exists(args.vmid)) {
    throw new CvmError('VM_EXISTS', `unable to create VM ${args.vmid}: config file already exists`);
  }
  const creationQemu = args.creationQemu === false ? undefined : (args.creationQemu ?? (await hostQemuVersion(args.root)));
  let allocated: ConfigSection = {};
  // the config is reserved (`lock: create`) before any volume exists; a failure frees the
  // volumes and then drops the reservation, a crash leaves a config `destroy` cleans up
  assertSingleCloudinitDrive({ conf: {}, pending: {} }, params);
  return store.create(
    args.vmid,
    async () => {
      const driveKeys = Object.keys(params).filter(isDriveKey);
      let conf: ConfigSection = { ...params };
      if (driveKeys.length > 0) {
        conf = await (await storage()).allocateDriveVolumes({ root: args.root, vmid: args.vmid, conf, keys: driveKeys, ...allocLog(args) });
        allocated = newVolumes(params, conf, driveKeys);
      }
      // qemu-server's create_vm keeps it in clear (only update_vm hashes); never store a password in clear
      if (conf.cipassword !== undefined) conf.cipassword = storedCipassword(conf.cipassword, conf.ostype);
      if (creationQemu) {
        const machine = checkAndPinMachineString(conf.machine, conf.ostype, vmArch(conf), creationQemu, info(args), args.warn);
        if (machine) conf.machine = machine;
      }
      applyCreateDefaults(conf, args.now ?? Date.now(), creationQemu);
      return { vmid: args.vmid, digest: '', conf, pending: {}, special: {}, snapshots: {} };
    },
    { undo: () => freeQuietly(args, allocated) },
  );
}

interface CheckedUpdate {
  params: Record<string, string>;
  deletes: string[];
  reverts: string[];
}

/** The request checks update_vm does before locking. */
export function checkUpdateRequest(args: Pick<UpdateVmArgs, 'params' | 'delete' | 'revert'>): CheckedUpdate {
  if (!args.delete && !args.revert && Object.keys(args.params).length === 0) {
    throw new CvmError('PARAM_INVALID', 'no options specified');
  }
  const params = checkParams(args.params);
  const reverts: string[] = [];
  for (const opt of splitList(args.revert)) {
    if (!lookupConfigKey(opt)) throw new CvmError('PARAM_INVALID', `revert: unknown option '${opt}'`);
    if (params[opt] !== undefined) {
      throw new CvmError('PARAM_INVALID', `delete: you can't use '-${opt}' and -revert ${opt}' at the same time`);
    }
    reverts.push(opt);
  }
  const deletes: string[] = [];
  for (const raw of splitList(args.delete)) {
    const opt = raw === 'cdrom' ? 'ide2' : raw;
    if (params[opt] !== undefined) {
      throw new CvmError('PARAM_INVALID', `delete: you can't use '-${opt}' and -delete ${opt}' at the same time`);
    }
    if (reverts.includes(opt)) {
      throw new CvmError('PARAM_INVALID', `revert: you can't use '-delete ${opt}' and -revert ${opt}' at the same time`);
    }
    if (!lookupConfigKey(opt)) throw new CvmError('PARAM_INVALID', `delete: unknown option '${opt}'`);
    deletes.push(opt);
  }
  return { params, deletes, reverts };
}

function checkBalloon(cfg: VmConfig, params: Record<string, string>): void {
  if (!params.memory && params.balloon === undefined) return;
  const maxmem = currentMemoryMiB(params.memory || cfg.pending.memory || cfg.conf.memory);
  const balloon = params.balloon !== undefined ? params.balloon : cfg.pending.balloon || cfg.conf.balloon;
  if (perlTrue(balloon) && Number(balloon) > maxmem) {
    throw new CvmError('PARAM_INVALID', 'balloon value too large (must be smaller than assigned memory)');
  }
}

export async function updateVm(args: UpdateVmArgs): Promise<UpdateVmResult> {
  const request = checkUpdateRequest(args);
  await checkVolumes(args.root, request.params);
  const store = openConfigStore(args.root, { warn: args.warn });
  let running = false;
  let hotplugErrors: Record<string, string> = {};
  let allocated: ConfigSection = {};
  let effects: EditEffects[] = [];
  let config: VmConfig;
  try {
    config = await store.update(
      args.vmid,
      async (cfg) => {
        checkLock(cfg.conf, args.skiplock);
        // decided inside the lock: a start holds it until QEMU runs, so this sees the outcome
        running = (await vmStatus(args.root, args.vmid)).status === 'running';
        const params = { ...request.params };
        const deletes = [...request.deletes];
        for (const opt of request.reverts) {
          if (cfg.conf[opt] !== undefined) params[opt] = cfg.conf[opt];
          else if (cfg.pending[opt] !== undefined) deletes.push(opt);
        }
        checkBalloon(cfg, params);
        const notes = await pinMachineOnOstypeChange(args, cfg, params, deletes);
        // qm prints its log line when update_vm's worker starts, before disks are created
        // (their lines follow it); the checks before that point leave stdout empty
        args.onStart?.();
        for (const note of notes) info(args)(note);
        const driveKeys = Object.keys(params).filter((k) => isDriveKey(k) && params[k] !== cfg.conf[k]);
        assertSingleCloudinitDrive(cfg, Object.fromEntries(driveKeys.map((k) => [k, params[k] as string])));
        if (driveKeys.length > 0) {
          const before = { ...params };
          const conf = await (await storage()).allocateDriveVolumes({
            root: args.root,
            vmid: args.vmid,
            conf: params,
            keys: driveKeys,
            ...allocLog(args),
          });
          Object.assign(params, conf);
          allocated = newVolumes(before, params, driveKeys);
        }
        effects = [stageChanges(cfg, { params, deletes, force: args.force === true })];
        cleanupPending(cfg);
        if (running) {
          applyFastPlug(cfg);
          hotplugErrors = await hotplug(args, cfg, effects);
        } else {
          const applied = applyPending(cfg);
          effects.push(applied);
          // vmconfig_apply_pending: a cloud-init drive set on a stopped VM gets its image now
          if (applied.generateCloudinit) await generateCloudinitNow(args, cfg);
        }
        return cfg;
      },
      args.digest ? { digest: args.digest } : {},
    );
  } catch (err) {
    await freeQuietly(args, allocated);
    throw err;
  }
  for (const e of effects) for (const w of e.warnings) args.warn?.(w);
  const toFree = effects.flatMap((e) => e.freeVolumes);
  const freeConf: ConfigSection = {};
  toFree.forEach((volid, i) => {
    freeConf[`unused${i}`] = volid;
  });
  await freeQuietly(args, freeConf);
  const problems = Object.entries(hotplugErrors);
  if (problems.length > 0) {
    // update_vm's raise_param_exc: the config is written, the failed keys stay pending
    throw new CvmError('QMP_ERROR', problems.map(([key, msg]) => `${key}: ${msg}`).join('; '), { details: { errors: hotplugErrors } });
  }
  return { config, pending: running && Object.keys(config.pending).length > 0 };
}

function info(ctx: VmOpContext): (msg: string) => void {
  return ctx.info ?? (() => {});
}

/**
 * Where create_disks' lines go (to `info` when given): clone_disk's `create full clone of drive
 * [<drive> ](<volid>)` for an import from a volume, import progress, `<key>: successfully created disk '…'`.
 */
function allocLog(ctx: VmOpContext): {
  log?: (line: string) => void;
  created?: (key: string, value: string) => void;
  sourceDriveName?: (volid: string) => Promise<string | undefined>;
} {
  const out = ctx.info;
  if (!out) return {};
  return {
    log: out,
    created: (key, value) => out(`${key}: successfully created disk '${value}'`),
    sourceDriveName: (volid) => attachedDrive(ctx.root, volid),
  };
}

/** $import_from_volid: the first drive (valid_drive_names order) of the volume's owner VM that uses it. */
async function attachedDrive(root: string, volid: string): Promise<string | undefined> {
  const owner = volumeOwner(volid);
  const store = openConfigStore(root);
  if (owner === undefined || !(await store.exists(owner))) return undefined;
  const { conf } = (await store.read(owner)).config;
  return validDriveNames.find((key) => conf[key] !== undefined && driveFile(key, conf[key] as string)?.file === volid);
}

/**
 * update_vm's machine pinning when `ostype` changes (to Windows), unless the same request sets
 * or deletes `machine` or a machine change is already pending: the pinned type goes into
 * `params` (and so into [PENDING]). Returns the lines qemu-server prints about it.
 */
async function pinMachineOnOstypeChange(
  args: UpdateVmArgs,
  cfg: VmConfig,
  params: Record<string, string>,
  deletes: string[],
): Promise<string[]> {
  const ostype = params.ostype;
  if (ostype === undefined || params.machine !== undefined || cfg.pending.machine !== undefined || deletes.includes('machine')) return [];
  const notes: string[] = [];
  try {
    const kvmVersion = args.kvmVersion ?? (await hostQemuVersion(args.root));
    if (kvmVersion === undefined) {
      if (windowsVersion(ostype)) throw new Error('no QEMU binary found to read its version');
      return [];
    }
    const machine = checkAndPinMachineString(cfg.conf.machine, ostype, vmArch(cfg.conf), kvmVersion, (m) => notes.push(m));
    if (machine && machine !== cfg.conf.machine) params.machine = machine;
  } catch (err) {
    notes.push(`automatic pinning of machine version failed - ${(err as Error).message}`);
  }
  return notes;
}

async function generateCloudinitNow(ctx: VmOpContext, cfg: VmConfig): Promise<void> {
  const [{ applyCloudinit }, { loadLocalStorage }] = await Promise.all([
    import('../cloudinit/apply.js'),
    import('../host/local/probe.js'),
  ]);
  await applyCloudinit(cfg, { storage: await loadLocalStorage(ctx.root), ...(ctx.warn ? { warn: ctx.warn } : {}) });
}

/**
 * vmconfig_hotplug_pending for a running VM (run/hotplug, loaded only then): plugs what the
 * `hotplug` option allows, inside the config lock; returns the per-key problems.
 */
async function hotplug(args: UpdateVmArgs, cfg: VmConfig, effects: EditEffects[]): Promise<Record<string, string>> {
  const onlyDelete = Object.keys(cfg.pending).every((k) => k === 'delete');
  // with `cloudinit` in `hotplug`, recorded cloud-init changes alone regenerate the image
  const cloudinitUpdate = parseHotplugFeatures(cfg.conf.hotplug ?? '1').has('cloudinit') && hasCloudinitChanges(cfg);
  if (onlyDelete && !cfg.pending.delete && !cloudinitUpdate) return {};
  const { applyHotplug } = await import('../run/hotplug/index.js');
  const outcome = await applyHotplug({ root: args.root, config: cfg, ...(args.warn ? { warn: args.warn } : {}) });
  effects.push({ freeVolumes: outcome.freeVolumes, warnings: [] });
  return outcome.errors;
}

/**
 * vmconfig_apply_pending as `vm_start` runs it: a VM that starts takes its `[PENDING]`
 * changes (replaced disks become unusedN, forced deletions are freed). Returns the config as
 * written; a VM without pending changes is left untouched.
 */
export async function applyPendingChanges(args: VmOpContext): Promise<VmConfig> {
  const store = openConfigStore(args.root, { warn: args.warn });
  const current = (await store.read(args.vmid)).config;
  if (Object.keys(current.pending).length === 0) return current;
  let effects: EditEffects = { freeVolumes: [], warnings: [] };
  const config = await store.update(args.vmid, async (cfg) => {
    effects = applyPending(cfg);
    return cfg;
  });
  for (const w of effects.warnings) args.warn?.(w);
  const freeConf: ConfigSection = {};
  effects.freeVolumes.forEach((volid, i) => {
    freeConf[`unused${i}`] = volid;
  });
  await freeQuietly(args, freeConf);
  return config;
}

export interface DestroyVmArgs extends VmOpContext {
  skiplock?: boolean;
}

export async function destroyVm(args: DestroyVmArgs): Promise<void> {
  const store = openConfigStore(args.root, { warn: args.warn });
  await store.destroy(args.vmid, async (cfg) => {
    if (perlTrue(cfg.conf.protection)) {
      throw new CvmError('PARAM_INVALID', `can't remove VM ${args.vmid} - protection mode enabled`);
    }
    if ((await vmStatus(args.root, args.vmid)).status === 'running') {
      throw new CvmError('VM_RUNNING', `VM ${args.vmid} is running - destroy failed`);
    }
    // `lock: create` seen here, under the config lock a create holds throughout, is a create
    // that crashed: destroying it (and the volumes it allocated) is the way out
    if (!args.skiplock && cfg.conf.lock !== 'suspended' && cfg.conf.lock !== CREATE_LOCK) checkLock(cfg.conf, false);
    await (await storage()).destroyVolumes({ root: args.root, vmid: args.vmid, conf: cfg.conf });
  });
}
