/**
 * @module qemu/cfg2cmd/bootorder
 * Which devices get a `bootindex` (device_bootorder): `boot: order=a;b;c` numbers the listed
 * devices from 100; the legacy `boot: [acdn]` letters (default `cdn`) number CD-ROMs, the
 * `bootdisk` and NICs in hundreds by letter position; an empty `boot:` boots nothing.
 */

import type { ConfigSection } from '../../config/types.js';
import type { BootOrder } from './context.js';
import { configDriveNames } from './drive-names.js';
import { parseDriveValue } from './drives.js';
import { driveIsCdrom, driveIsCloudinit } from './drives-common.js';
import { indexedKeys } from './indexed-keys.js';
import { splitList } from '../../schema/perl.js';

const NET_KEYS = indexedKeys('net', 32);

/** Parses `boot` (property string: default key `legacy`, `order`). */
function parseBoot(value: string): { legacy?: string; order?: string } {
  const out: { legacy?: string; order?: string } = {};
  for (const part of value.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) out.legacy = part;
    else if (part.slice(0, eq) === 'order') out.order = part.slice(eq + 1);
    else if (part.slice(0, eq) === 'legacy') out.legacy = part.slice(eq + 1);
  }
  return out;
}

/** bootorder_from_legacy. */
export function bootorderFromLegacy(conf: ConfigSection, legacy: string | undefined): BootOrder {
  const boot = legacy || 'cdn';
  const next: Record<string, number> = {};
  [...boot].forEach((letter, i) => {
    next[letter] = (i + 1) * 100;
  });
  const order: BootOrder = {};
  for (const key of configDriveNames(conf)) {
    const value = conf[key] as string;
    const drive = parseDriveValue(key, value);
    if (!drive) continue;
    if (driveIsCdrom(drive) && !driveIsCloudinit(drive)) {
      if (next['d']) {
        order[key] = next['d'];
        next['d'] += 1;
      }
    } else if (next['c']) {
      if (conf['bootdisk'] && conf['bootdisk'] === key) order[key] = next['c'];
      next['c'] += 1;
    }
  }
  if (next['n']) {
    for (const netid of NET_KEYS) {
      if (!conf[netid]) continue;
      order[netid] = next['n'];
      next['n'] += 1;
    }
  }
  return order;
}

/** device_bootorder: device key → bootindex. */
export function deviceBootorder(conf: ConfigSection): BootOrder {
  const value = conf['boot'];
  if (value === undefined) return bootorderFromLegacy(conf, undefined);
  const boot = parseBoot(value);
  if (boot.legacy) return bootorderFromLegacy(conf, boot.legacy);
  const order: BootOrder = {};
  if (boot.order) {
    let i = 100;
    for (const dev of splitList(boot.order)) order[dev] = i++;
  }
  return order;
}
