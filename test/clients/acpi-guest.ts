/**
 * @module test/clients/acpi-guest
 * A guest that answers an ACPI shutdown, small enough to write out here: a 512-byte boot
 * sector for SeaBIOS on the i440fx machine that enables the PIIX4 power-button event
 * (QEMU only latches `system_powerdown` into PM1_STS when PWRBTN_EN is set), then waits on
 * timer interrupts (`sti; hlt`, no busy loop under TCG) and, once PWRBTN_STS is set, writes
 * SLP_EN with sleep type 0 to PM1_CNT: a soft power-off, which QEMU reports as the guest's
 * shutdown. Without it a client's `shutdown` (Ansible's `state: stopped`) can only end by
 * timing out. The PM block sits at I/O 0x600 (QEMU's PIIX4 default; SeaBIOS keeps it).
 * `waitUntilArmed` reads PM1_EN over QMP, so a test sends the shutdown only once the guest
 * listens (SeaBIOS's boot menu wait alone takes ~2.5 s).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QmpClient } from '../../src/qemu/qmp/index.js';

const PM_BASE = 0x600;
const PWRBTN = 0x0100; // PM1_STS / PM1_EN bit 8
const SLP_EN = 0x2000; // PM1_CNT bit 13, SLP_TYP 0 = S5 on QEMU

const le16 = (v: number) => [v & 0xff, v >> 8];

/** The boot sector (16-bit real mode, loaded at 0000:7C00). */
export function acpiOffBootSector(): Buffer {
  const code = [
    ...[0xba, ...le16(PM_BASE + 2)], //       mov dx, PM1_EN
    ...[0xb8, ...le16(PWRBTN)], //            mov ax, PWRBTN_EN
    0xef, //                                  out dx, ax
    // loop (offset 7):
    ...[0xba, ...le16(PM_BASE)], //           mov dx, PM1_STS
    0xed, //                                  in ax, dx
    ...[0xa9, ...le16(PWRBTN)], //            test ax, PWRBTN_STS
    ...[0x74, 0x07], //                       jz wait
    ...[0xba, ...le16(PM_BASE + 4)], //       mov dx, PM1_CNT
    ...[0xb8, ...le16(SLP_EN)], //            mov ax, SLP_EN | SLP_TYP(0)
    0xef, //                                  out dx, ax
    // wait (offset 23):
    0xfb, //                                  sti
    0xf4, //                                  hlt
    ...[0xeb, 0xec], //                       jmp loop (-20)
  ];
  const sector = Buffer.alloc(512);
  Buffer.from(code).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/**
 * Write the guest as a 1 MiB raw disk of VM `vmid` on the root's `local` storage (a dir
 * storage at the root: `<root>/images/<vmid>/`). Returns the volume id to put in `ide0`.
 */
export function writeAcpiOffDisk(root: string, vmid: number): string {
  const dir = join(root, 'images', String(vmid));
  mkdirSync(dir, { recursive: true });
  const name = `vm-${vmid}-disk-0.raw`;
  const image = Buffer.alloc(1024 * 1024);
  acpiOffBootSector().copy(image);
  writeFileSync(join(dir, name), image);
  return `local:${vmid}/${name}`;
}

/** Poll the guest's PM1_EN over QMP until the power button is enabled (the guest listens). */
export async function waitUntilArmed(root: string, vmid: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const qmp = await QmpClient.connect(join(root, 'run', `${vmid}.qmp`), { connectTimeoutMs: 5000 });
      try {
        const out = await qmp.execute<string>('human-monitor-command', { 'command-line': `i /w 0x${(PM_BASE + 2).toString(16)}` });
        const value = /=\s*0x([0-9a-f]+)/i.exec(out)?.[1];
        if (value !== undefined && (Number.parseInt(value, 16) & PWRBTN) !== 0) return true;
      } finally {
        qmp.destroy();
      }
    } catch {
      // QEMU not up yet, or the socket busy with the server's own QMP call
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
