/**
 * OVMF footer-table and SEV-metadata parsing on our synthetic images, including the
 * malformed cases the reference raises on.
 */
import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { AMDSEV_LIKE, buildSyntheticOvmf, NO_FOOTER, NO_METADATA, PLAIN_LIKE } from '../../test/fixtures/measure/synthetic-ovmf.js';
import { guidToBytesLe } from './guid.js';
import { FirmwareImage, FOUR_GIB, OVMF_GUIDS } from './ovmf.js';

describe('FirmwareImage', () => {
  it('reads every entry of an AmdSev-like image', () => {
    const img = new FirmwareImage(buildSyntheticOvmf(AMDSEV_LIKE));
    expect(img.gpa).toBe(FOUR_GIB - AMDSEV_LIKE.size);
    expect(img.sevEsResetEip()).toBe(0x902f08);
    expect(img.sevHashesTableGpa()).toBe(0x906a40);
    expect(img.isSevHashesTableSupported()).toBe(true);
    expect(img.metadataSections()).toEqual(AMDSEV_LIKE.sections);
    expect(img.table.get('11111111-2222-3333-4444-555555555555')?.toString()).toBe('ignored entry');
    expect(img.hasMetadataSection(0x10)).toBe(true);
  });

  it('treats a hashes entry with base 0 as unsupported', () => {
    const img = new FirmwareImage(buildSyntheticOvmf(PLAIN_LIKE));
    expect(img.table.has(OVMF_GUIDS.sevHashTable)).toBe(true);
    expect(img.isSevHashesTableSupported()).toBe(false);
    expect(img.hasMetadataSection(0x10)).toBe(false);
  });

  it('names the missing pieces', () => {
    const none = new FirmwareImage(buildSyntheticOvmf(NO_FOOTER));
    expect(none.table.size).toBe(0);
    expect(() => none.sevEsResetEip()).toThrow("Can't find SEV_ES_RESET_BLOCK_GUID entry in OVMF table");
    expect(() => none.sevHashesTableGpa()).toThrow("Can't find SEV_HASH_TABLE_RV_GUID entry in OVMF table");
    const noMeta = new FirmwareImage(buildSyntheticOvmf(NO_METADATA));
    expect(noMeta.metadata).toBeNull();
    try {
      noMeta.requireSevMetadata();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CvmError);
      expect((err as CvmError).code).toBe('MEASURE');
      expect((err as CvmError).message).toContain(OVMF_GUIDS.sevMetadata);
    }
  });

  it('rejects a bad ASEV signature, version and entry size', () => {
    const image = buildSyntheticOvmf(AMDSEV_LIKE);
    const asev = image.indexOf(Buffer.from('ASEV'));
    const badSig = Buffer.from(image);
    badSig.write('XSEV', asev, 'latin1');
    expect(() => new FirmwareImage(badSig)).toThrow('Wrong SEV metadata signature');
    const badVersion = Buffer.from(image);
    badVersion.writeUInt32LE(2, asev + 8);
    expect(() => new FirmwareImage(badVersion)).toThrow('Wrong SEV metadata version');
    const badEntry = Buffer.from(image);
    const footerStart = image.length - 50;
    // the entry just before the footer header: shrink its size below the header size
    badEntry.writeUInt16LE(5, footerStart - 18);
    expect(() => new FirmwareImage(badEntry)).toThrow(/Invalid entry size/);
  });

  it('lets the entry nearest the table start win for duplicate GUIDs (dict semantics)', () => {
    const image = buildSyntheticOvmf({
      ...NO_METADATA,
      extra: [[OVMF_GUIDS.sevEsResetBlock, Buffer.from([0x04, 0x10, 0x80, 0x00])]],
    });
    expect(new FirmwareImage(image).sevEsResetEip()).toBe(0x801004);
    expect(guidToBytesLe(OVMF_GUIDS.footer)).toHaveLength(16);
  });
});

describe('FirmwareImage on arbitrary bytes', () => {
  propTest.prop([fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.integer({ min: 0, max: 200 })])(
    'either parses or throws a MEASURE error, never anything else',
    (bytes, tableSize) => {
      // Plant a valid footer GUID so the table walker really runs on the random bytes.
      const data = Buffer.from(bytes);
      if (data.length >= 50) {
        data.writeUInt16LE(tableSize, data.length - 50);
        guidToBytesLe(OVMF_GUIDS.footer).copy(data, data.length - 48);
      }
      try {
        new FirmwareImage(data);
      } catch (err) {
        expect(err).toBeInstanceOf(CvmError);
        expect((err as CvmError).code).toBe('MEASURE');
      }
    },
  );
});
