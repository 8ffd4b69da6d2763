/**
 * @module qemu/cfg2cmd/devices
 * The small device emitters of config_to_command, each one qemu-server block: serial and
 * parallel ports, audio, TPM (swtpm socket), guest agent, VirtIO RNG, balloon, watchdog,
 * vmgenid and virtio-fs. Each pushes to `$devices` in the order the orchestrator calls them.
 */

import { posix } from 'node:path';
import { optValue } from './opt-value.js';
import { CvmError } from '../../errors.js';
import type { Cfg2CmdContext } from './context.js';
import { pciAddr } from './pci.js';
import { perlTrue, propBool } from './props.js';
import { indexedKeys } from './indexed-keys.js';
import { mappingEntryFormat, rngFormat, virtiofsFormat } from '../../config/options/devices.js';
import { audioFormat } from '../../config/options/display-audio.js';
import { agentFormat, watchdogFormat } from '../../config/options/system-formats.js';
import { readPropertyString } from '../../schema/reader.js';

const MAX_SERIAL_PORTS = 4;
const MAX_PARALLEL_PORTS = 3;
const MAX_VIRTIOFS = 10;
const SERIAL_KEYS = indexedKeys('serial', MAX_SERIAL_PORTS);
const PARALLEL_KEYS = indexedKeys('parallel', MAX_PARALLEL_PORTS);
const VIRTIOFS_KEYS = indexedKeys('virtiofs', MAX_VIRTIOFS);

const die = (msg: string): never => {
  throw new CvmError('GENERATE', msg);
};

/**
 * `die "no such serial device" if !-c $path`: the host's character devices are facts probed at
 * the edge (HostFacts.charDevices); without them (pve-test) every path counts as present.
 */
function assertCharDevice(ctx: Cfg2CmdContext, path: string, kind: 'serial' | 'parallel'): void {
  const known = ctx.host.charDevices;
  if (known === undefined) return;
  if (!known.includes(posix.normalize(path))) die(`no such ${kind} device`);
}

export function emitSerial(ctx: Cfg2CmdContext, devices: string[]): void {
  for (let i = 0; i < MAX_SERIAL_PORTS; i++) {
    const path = ctx.conf[SERIAL_KEYS[i] as string];
    if (!path) continue;
    if (path === 'socket') {
      devices.push(
        '-chardev',
        `socket,id=serial${i},path=${optValue(`${ctx.host.paths.runDir}/${ctx.vmid}.serial${i}`)},server=on,wait=off`,
      );
      if (ctx.arch === 'aarch64' && i === 0) devices.push('-serial', `chardev:serial${i}`);
      else devices.push('-device', `isa-serial,chardev=serial${i}`);
    } else {
      assertCharDevice(ctx, path, 'serial');
      devices.push('-chardev', `serial,id=serial${i},path=${optValue(path)}`);
      devices.push('-device', `isa-serial,chardev=serial${i}`);
    }
  }
}

export function emitParallel(ctx: Cfg2CmdContext, devices: string[]): void {
  for (let i = 0; i < MAX_PARALLEL_PORTS; i++) {
    const path = ctx.conf[PARALLEL_KEYS[i] as string];
    if (!path) continue;
    assertCharDevice(ctx, path, 'parallel');
    const type = path.startsWith('/dev/usb/lp') ? 'serial' : 'parallel';
    devices.push('-chardev', `${type},id=parallel${i},path=${optValue(path)}`);
    devices.push('-device', `isa-parallel,chardev=parallel${i}`);
  }
}

/** conf_has_audio + audio_devs (machine ≥ 4.0 is checked by the caller). */
export function emitAudio(ctx: Cfg2CmdContext, devices: string[]): void {
  const value = ctx.conf.audio0;
  if (value === undefined) return;
  const props = readPropertyString(audioFormat, value);
  const dev = props.device ?? '';
  const backend = props.driver ?? 'spice';
  const id = 'audiodev0';
  const backendId = `${backend}-backend0`;
  const addr = pciAddr(ctx, 'audio0');
  const audiodev = ctx.minVersion(4, 2) ? `,audiodev=${backendId}` : '';
  if (dev === 'AC97') {
    devices.push('-device', `AC97,id=${id}${addr}${audiodev}`);
  } else if (/intel-hda$/.test(dev)) {
    devices.push('-device', `${dev},id=${id}${addr}`);
    devices.push('-device', `hda-micro,id=${id}-codec0,bus=${id}.0,cad=0${audiodev}`);
    devices.push('-device', `hda-duplex,id=${id}-codec1,bus=${id}.0,cad=1${audiodev}`);
  } else {
    die(`unknown audio device '${dev}', implement me!`);
  }
  devices.push('-audiodev', `${backend},id=${backendId}`);
}

export function emitTpm(ctx: Cfg2CmdContext, devices: string[]): void {
  if (!ctx.conf.tpmstate0) return;
  devices.push('-chardev', `socket,id=tpmchar,path=${optValue(`${ctx.host.paths.runDir}/${ctx.vmid}.swtpm`)}`);
  devices.push('-tpmdev', 'emulator,id=tpmdev,chardev=tpmchar');
  devices.push('-device', 'tpm-tis,tpmdev=tpmdev');
}

/** parse_guest_agent + the qga chardev/device. */
export function emitAgent(ctx: Cfg2CmdContext, devices: string[]): void {
  const value = ctx.conf.agent;
  if (value === undefined) return;
  const agent = readPropertyString(agentFormat, value);
  if (!propBool(agent.enabled)) return;
  devices.push('-chardev', `socket,path=${optValue(`${ctx.host.paths.runDir}/${ctx.vmid}.qga`)},server=on,wait=off,id=qga0`);
  const type = agent.type;
  if (!type || type === 'virtio') {
    devices.push('-device', `virtio-serial,id=qga0${pciAddr(ctx, 'qga0')}`);
    devices.push('-device', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0');
  } else if (type === 'isa') {
    devices.push('-device', 'isa-serial,chardev=qga0');
  }
}

/** VirtIO RNG, only with machine ≥ 4.1+pve2 (a version guard). */
export function emitRng(ctx: Cfg2CmdContext, devices: string[]): void {
  if (!ctx.conf.rng0) return;
  const rng = readPropertyString(rngFormat, ctx.conf.rng0);
  if (!ctx.versionGuard(4, 1, 2)) return;
  const source = rng.source as string;
  const missing = ctx.host.missingRngSources ?? [];
  if (missing.includes(source)) die(`cannot create VirtIO RNG device: source file '${source}' doesn't exist`);
  const maxBytes = rng.max_bytes ?? '1024';
  const period = rng.period ?? '1000';
  const limiter = perlTrue(maxBytes) ? `,max-bytes=${maxBytes},period=${period}` : '';
  devices.push('-object', `rng-random,filename=${source},id=rng0`);
  devices.push('-device', `virtio-rng-pci,rng=rng0${limiter}${pciAddr(ctx, 'rng0')}`);
}

export function emitBalloon(ctx: Cfg2CmdContext, devices: string[]): void {
  const balloon = ctx.conf.balloon;
  if (balloon !== undefined && !perlTrue(balloon)) return;
  let dev = `virtio-balloon-pci,id=balloon0${pciAddr(ctx, 'balloon0')}`;
  if (ctx.minVersion(6, 2)) dev += ',free-page-reporting=on';
  devices.push('-device', dev);
}

export function emitWatchdog(ctx: Cfg2CmdContext, devices: string[]): void {
  if (!ctx.conf.watchdog) return;
  const wd = readPropertyString(watchdogFormat, ctx.conf.watchdog);
  devices.push('-device', `${wd.model || 'i6300esb'}${pciAddr(ctx, 'watchdog')}`);
  if (wd.action) devices.push('-watchdog-action', wd.action);
}

export function virtiofsEnabled(ctx: Cfg2CmdContext): boolean {
  for (const key of VIRTIOFS_KEYS) if (ctx.conf[key]) return true;
  return false;
}

/** PVE::Mapping::Dir::find_on_current_node: the one mapping entry of this node for a directory id. */
function dirMappingOnNode(ctx: Cfg2CmdContext, dirid: string): Record<string, string> {
  const node = ctx.host.nodename;
  const entry = ctx.host.dirMappings?.[dirid];
  if (!entry) return die(`Directory ID ${dirid} does not exist.`);
  const onNode = entry.map.map((m) => readPropertyString(mappingEntryFormat, m)).filter((m) => m.node === node);
  if (onNode.length > 1) die(`More than than one directory mapping for node ${node}.`);
  if (onNode.length === 0) die(`No directory mapping for node ${node}.`);
  return onNode[0] as Record<string, string>;
}

/** Virtiofs::config: one vhost-user-fs device per `virtiofsN` (the shared path itself is checked at start). */
export function emitVirtiofs(ctx: Cfg2CmdContext, devices: string[]): void {
  for (let i = 0; i < MAX_VIRTIOFS; i++) {
    const value = ctx.conf[VIRTIOFS_KEYS[i] as string];
    if (!value) continue;
    const fs = readPropertyString(virtiofsFormat, value);
    dirMappingOnNode(ctx, fs.dirid as string);
    if (propBool(fs['expose-acl']) && ctx.winVersion) {
      die('Please disable ACLs for virtiofs on Windows VMs, otherwise the virtiofs shared directory cannot be mounted.');
    }
    devices.push('-chardev', `socket,id=virtiofs${i},path=/run/qemu-server/virtiofsd/vm${ctx.vmid}-fs${i}`);
    devices.push('-device', `vhost-user-fs-pci,queue-size=1024,chardev=virtiofs${i},tag=${fs.dirid}`);
  }
}
