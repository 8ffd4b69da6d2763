/**
 * @module qemu/cfg2cmd/display
 * VGA, VNC and SPICE (config_to_command's display part, print_vga_device, the SPICE/vdagent
 * block): the default VGA type per arch/machine/OS, QXL multi-head, virtio-gl, the VNC
 * clipboard via qemu-vdagent, SPICE with folder sharing and video streaming.
 */

import { optValue } from './opt-value.js';
import { CvmError } from '../../errors.js';
import type { Cfg2CmdContext } from './context.js';
import { pciAddr, printPcieAddr } from './pci.js';
import { propBool } from './props.js';
import { spiceEnhancementsFormat, vgaFormat } from '../../config/options/display-audio.js';
import { readPropertyString } from '../../schema/reader.js';

export interface VgaProps {
  type: string;
  memory?: string | undefined;
  clipboard?: string | undefined;
}

const VGA_MAP: Record<string, string> = {
  cirrus: 'cirrus-vga',
  std: 'VGA',
  vmware: 'vmware-svga',
  virtio: 'virtio-vga',
  'virtio-gl': 'virtio-vga-gl',
};
const VGA_MAP_AARCH64: Record<string, string> = {
  ...VGA_MAP,
  virtio: 'virtio-gpu',
  'virtio-gl': 'virtio-gpu-gl',
};

/** vga_conf_has_spice: number of QXL heads (0 if no QXL). */
export function qxlHeads(vga: string | undefined): number {
  const type = readPropertyString(vgaFormat, vga).type;
  if (!type) return 0;
  const m = /^qxl([234])?$/.exec(type);
  if (!m) return 0;
  return m[1] ? Number(m[1]) : 1;
}

/** get_vga_properties. */
export function vgaProperties(ctx: Cfg2CmdContext): {
  vga: VgaProps;
  qxlnum: number;
} {
  const p = readPropertyString(vgaFormat, ctx.conf.vga);
  const qxlnum = qxlHeads(ctx.conf.vga);
  let type = p.type ?? '';
  if (qxlnum) type = 'qxl';
  if (!type) {
    if (ctx.arch === 'aarch64') type = 'virtio';
    else if (ctx.minVersion(2, 9)) type = !ctx.winVersion || ctx.winVersion >= 6 ? 'std' : 'cirrus';
    else type = ctx.winVersion >= 6 ? 'std' : 'cirrus';
  }
  return { vga: { type, memory: p.memory, clipboard: p.clipboard }, qxlnum };
}

/** print_vga_device. `id` is undefined for the primary display. */
export function vgaDevice(ctx: Cfg2CmdContext, vga: VgaProps, id: number | undefined, qxlnum: number): string {
  let type = (ctx.arch === 'aarch64' ? VGA_MAP_AARCH64 : VGA_MAP)[vga.type];
  const mem = vga.memory === undefined ? 0 : Number(vga.memory);
  let maxOutputs = '';
  if (qxlnum) {
    type = id ? 'qxl' : 'qxl-vga';
    const ostype = ctx.conf.ostype;
    if (!ostype || /^(?:l\d\d)|(?:other)$/.test(ostype)) {
      if (ctx.minVersion(4, 1)) maxOutputs = ',max_outputs=4';
    }
  }
  if (!type) throw new CvmError('GENERATE', `no device-type for ${vga.type}`);
  let memory = '';
  if (mem) {
    if (vga.type.startsWith('virtio')) memory = `,max_hostmem=${mem * 1024 * 1024}`;
    else if (qxlnum) memory = `,vgamem_mb=${vga.memory},ram_size_mb=${mem * 4},vram_size_mb=${mem * 2}`;
    else memory = `,vgamem_mb=${vga.memory}`;
  } else if (qxlnum && id) {
    memory = ',ram_size=67108864,vram_size=33554432';
  }
  let edidoff = '';
  if (type === 'VGA' && ctx.winVersion && ctx.conf.bios !== 'ovmf') edidoff = ',edid=off';
  const vgaid = `vga${id ?? ''}`;
  const addr = ctx.q35 && vgaid === 'vga' ? printPcieAddr(vgaid) : pciAddr(ctx, vgaid);
  if (vga.type === 'virtio-gl') {
    const missing = ctx.extra.virglMissing as string | undefined;
    if (missing) throw new CvmError('GENERATE', missing);
  }
  return `${type},id=${vgaid}${memory}${maxOutputs}${addr}${edidoff}`;
}

/** The display flags in `$cmd` and the VGA `-device` in `$devices`. */
export function emitDisplay(ctx: Cfg2CmdContext, vga: VgaProps, qxlnum: number, cmd: string[], devices: string[]): void {
  if (vga.type && !/^serial\d+$/.test(vga.type) && vga.type !== 'none') {
    devices.push('-device', vgaDevice(ctx, vga, undefined, qxlnum));
    if (vga.type === 'virtio-gl') cmd.push('-display', 'egl-headless,gl=core');
    cmd.push('-vnc', `unix:${optValue(`${ctx.host.paths.runDir}/${ctx.vmid}.vnc`)},password=on`);
  } else {
    if (vga.type === 'none') cmd.push('-vga', 'none');
    cmd.push('-nographic');
  }
}

/** assert_clipboard_config plus the SPICE/vdagent block; returns the SPICE port if any. */
export function emitSpice(ctx: Cfg2CmdContext, vga: VgaProps, qxlnum: number, cmd: string[], devices: string[]): number | undefined {
  if (vga.clipboard === 'vnc' && vga.type && !/^(std|cirrus|vmware|virtio|qxl)/.test(vga.type)) {
    throw new CvmError('GENERATE', `vga type ${vga.type} is not compatible with VNC clipboard`);
  }
  const isSpice = qxlnum > 0 || vga.type.startsWith('virtio');
  if (!isSpice && vga.clipboard !== 'vnc') return undefined;
  if (qxlnum > 1) {
    if (ctx.winVersion) {
      for (let i = 1; i < qxlnum; i++) devices.push('-device', vgaDevice(ctx, vga, i, qxlnum));
    } else {
      let ram = '134217728';
      let vram = '67108864';
      if (vga.memory) {
        ram = String(qxlnum * 4 * Number(vga.memory) * 1024 * 1024);
        vram = String(qxlnum * 2 * Number(vga.memory) * 1024 * 1024);
      }
      cmd.push('-global', `qxl-vga.ram_size=${ram}`, '-global', `qxl-vga.vram_size=${vram}`);
    }
  }
  devices.push('-device', `virtio-serial,id=spice${pciAddr(ctx, 'spice')}`);
  if (vga.clipboard === 'vnc') devices.push('-chardev', 'qemu-vdagent,id=vdagent,name=vdagent,clipboard=on');
  else devices.push('-chardev', 'spicevmc,id=vdagent,name=vdagent');
  devices.push('-device', 'virtserialport,chardev=vdagent,name=com.redhat.spice.0');
  if (!isSpice) return undefined;
  const port = ctx.host.spicePort ?? 61000;
  const addr = ctx.host.spiceAddress ?? '127.0.0.1';
  const enh = readPropertyString(spiceEnhancementsFormat, ctx.conf.spice_enhancements);
  if (propBool(enh.foldersharing)) {
    devices.push('-chardev', 'spiceport,id=foldershare,name=org.spice-space.webdav.0');
    devices.push('-device', 'virtserialport,chardev=foldershare,name=org.spice-space.webdav.0');
  }
  let opts = `tls-port=${port},addr=${addr},tls-ciphers=HIGH,seamless-migration=on`;
  if (enh.videostreaming) opts += `,streaming-video=${enh.videostreaming}`;
  devices.push('-spice', opts);
  return port;
}
