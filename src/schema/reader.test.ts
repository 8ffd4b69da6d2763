/**
 * @module schema/reader.test
 * The one property-string reader as the generator uses it (readPropertyString): the same
 * splitting as parsePropertyString, values kept as written, booleans by the schema, and
 * callers never sharing a remembered result.
 */
import { describe, expect, it } from 'vitest';
import { allDriveFormat } from '../config/options/drives.js';
import { netFormat } from '../config/options/network.js';
import { parsePropertyString } from './index.js';
import { readPropertyString } from './reader.js';
import type { FormatSchema } from './types.js';

const fmt: FormatSchema = {
  type: { type: 'string', default_key: true, optional: true },
  flag: { type: 'boolean', optional: true },
  size: { type: 'integer', optional: true },
  old: { type: 'integer', alias: 'size', optional: true },
};

describe('readPropertyString', () => {
  it('reads the default key, aliases and booleans like parse_property_string, values as written', () => {
    expect(readPropertyString(fmt, 'q35,flag=on,old=010')).toEqual({ type: 'q35', flag: '1', size: '010' });
    expect(parsePropertyString(fmt, 'q35,flag=on,old=010')).toEqual({ type: 'q35', flag: 1, size: 10 });
  });

  it('skips blank parts as PVE does (the light readers took " " for a value)', () => {
    expect(readPropertyString(fmt, 'flag=no, ,type=pc')).toEqual({ flag: '0', type: 'pc' });
  });

  it('reads NIC shortcuts and drive aliases through the option table', () => {
    expect(readPropertyString(netFormat, 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=yes')).toEqual({
      model: 'virtio',
      macaddr: 'BC:24:11:00:00:01',
      bridge: 'vmbr0',
      firewall: '1',
    });
    expect(readPropertyString(allDriveFormat, 'volume=local:iso/x.iso,media=cdrom,bps_rd_length=5')).toEqual({
      file: 'local:iso/x.iso',
      media: 'cdrom',
      bps_rd_max_length: '5',
    });
  });

  it('an absent or empty value has no properties; invalid structure still dies', () => {
    expect(readPropertyString(fmt, undefined)).toEqual({});
    expect(readPropertyString(fmt, '')).toEqual({});
    expect(() => readPropertyString(fmt, 'size=1,size=2')).toThrow('duplicate key in comma-separated list property: size');
  });

  it('hands every caller its own copy of a remembered result', () => {
    const first = readPropertyString(fmt, 'type=pc,size=4');
    first['bootindex'] = '100';
    delete first['size'];
    expect(readPropertyString(fmt, 'type=pc,size=4')).toEqual({ type: 'pc', size: '4' });
  });
});
