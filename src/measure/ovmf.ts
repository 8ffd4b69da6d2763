/**
 * @module measure/ovmf
 * Reads what the launch digest needs out of an OVMF (or SVSM) image: the GUIDed footer
 * table that EDK2 places 32 bytes before the end of the reset vector, the SEV metadata
 * ("ASEV") section list, the SEV-ES AP reset address, the kernel-hashes table address and
 * the guest-physical placement of the image (it ends at 4 GiB). Pure: works on bytes.
 * Parsing follows virtee/sev-snp-measure `ovmf.py` exactly (duplicate GUIDs: the entry
 * nearest the start of the table wins), but every out-of-range read is an error instead
 * of a silently truncated slice, and the sections an SNP digest walks must be page-aligned,
 * below 4 GiB and disjoint (`checkSnpSections`), which also bounds the work to 2^20 pages.
 */

import { CvmError } from '../errors.js';
import { guidFromBytesLe, guidToBytesLe } from './guid.js';

export const FOUR_GIB = 0x1_0000_0000;

export const OVMF_GUIDS = {
  footer: '96b582de-1fb2-45f7-baea-a366c55a082d',
  sevHashTable: '7255371f-3a3b-4b04-927b-1da6efa8d454',
  sevEsResetBlock: '00f771de-1a7e-4fcb-890e-68c77e2fb44e',
  sevSecret: '4c2eb361-7d9b-4cc3-8081-127c90d3d294',
  sevMetadata: 'dc886566-984a-4798-a75e-5585a7bf67cc',
  tdxMetadata: 'e47a6535-984a-4798-865e-4685a7bf8ec2',
  svsmInfo: 'a789a612-0597-4c4b-a49f-cbb1fe9d1ddd',
} as const;

/** SEV metadata section types (edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm). */
export const SectionType = {
  SNP_SEC_MEM: 1,
  SNP_SECRETS: 2,
  CPUID: 3,
  SVSM_CAA: 4,
  SNP_KERNEL_HASHES: 0x10,
} as const;

export const SECTION_TYPE_NAMES: Record<number, string> = {
  1: 'SNP_SEC_MEM',
  2: 'SNP_SECRETS',
  3: 'CPUID',
  4: 'SVSM_CAA',
  0x10: 'SNP_KERNEL_HASHES',
};

export interface MetadataSection {
  gpa: number;
  size: number;
  /** Raw type; unknown types are rejected only when an SNP digest walks the list (as upstream). */
  type: number;
}

const ENTRY_HEADER_SIZE = 18; // u16 size + 16-byte GUID
const METADATA_HEADER_SIZE = 16; // "ASEV", u32 size, u32 version, u32 num_items
const METADATA_ITEM_SIZE = 12;

function measureError(message: string, details?: Record<string, unknown>): CvmError {
  return new CvmError('MEASURE', message, details ? { details } : {});
}

/** Parse the footer GUID table; an image without the footer GUID yields an empty table. */
export function parseFooterTable(data: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const table = new Map<string, Buffer>();
  const footerStart = buf.length - 32 - ENTRY_HEADER_SIZE;
  if (footerStart < 0) return table;
  const footerGuid = buf.subarray(footerStart + 2, footerStart + ENTRY_HEADER_SIZE);
  if (!footerGuid.equals(guidToBytesLe(OVMF_GUIDS.footer))) return table;
  const tableSize = buf.readUInt16LE(footerStart) - ENTRY_HEADER_SIZE;
  if (tableSize < 0) return table;
  if (tableSize > footerStart) {
    throw measureError(`OVMF footer table size ${tableSize} exceeds the image (${buf.length} bytes)`);
  }
  let tableBytes = buf.subarray(footerStart - tableSize, footerStart);
  const found: Array<[string, Buffer]> = [];
  while (tableBytes.length >= ENTRY_HEADER_SIZE) {
    const headerAt = tableBytes.length - ENTRY_HEADER_SIZE;
    const size = tableBytes.readUInt16LE(headerAt);
    if (size < ENTRY_HEADER_SIZE) throw measureError('Invalid entry size in OVMF footer table');
    const guid = guidFromBytesLe(tableBytes.subarray(headerAt + 2, headerAt + ENTRY_HEADER_SIZE));
    const dataStart = Math.max(0, tableBytes.length - size);
    found.push([guid, Buffer.from(tableBytes.subarray(dataStart, headerAt))]);
    tableBytes = tableBytes.subarray(0, dataStart);
  }
  // Walking backwards, a later set() must win, exactly like the dict in ovmf.py.
  for (const [guid, entry] of found) table.set(guid, entry);
  return table;
}

/** Parse the SEV metadata list the footer table points at (offset counted from the end). */
export function parseSevMetadata(data: Uint8Array, table: Map<string, Buffer>): MetadataSection[] | null {
  const entry = table.get(OVMF_GUIDS.sevMetadata);
  if (!entry) return null;
  if (entry.length < 4) throw measureError('OVMF SEV metadata table entry is shorter than 4 bytes');
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const start = buf.length - entry.readUInt32LE(0);
  if (start < 0 || start + METADATA_HEADER_SIZE > buf.length) {
    throw measureError(`OVMF SEV metadata offset ${entry.readUInt32LE(0)} points outside the image`);
  }
  if (buf.toString('latin1', start, start + 4) !== 'ASEV') throw measureError('Wrong SEV metadata signature');
  const size = buf.readUInt32LE(start + 4);
  const version = buf.readUInt32LE(start + 8);
  const count = buf.readUInt32LE(start + 12);
  if (version !== 1) throw measureError('Wrong SEV metadata version');
  const itemsEnd = Math.min(buf.length, start + size);
  const sections: MetadataSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + METADATA_HEADER_SIZE + i * METADATA_ITEM_SIZE;
    if (at + METADATA_ITEM_SIZE > itemsEnd) {
      throw measureError(`OVMF SEV metadata declares ${count} sections but its ${size}-byte block holds fewer`);
    }
    sections.push({ gpa: buf.readUInt32LE(at), size: buf.readUInt32LE(at + 4), type: buf.readUInt32LE(at + 8) });
  }
  return sections;
}

/** A firmware image placed in guest memory so that it ends at `endAt`. */
export class FirmwareImage {
  readonly data: Buffer;
  readonly table: Map<string, Buffer>;
  /** null when the image has no SEV metadata GUID entry at all. */
  readonly metadata: MetadataSection[] | null;
  readonly gpa: number;
  /** What the image is called in messages ("OVMF", "SVSM"). */
  readonly label: string;

  constructor(data: Uint8Array, options: { endAt?: number; label?: string } = {}) {
    this.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.label = options.label ?? 'OVMF';
    this.table = parseFooterTable(this.data);
    this.metadata = parseSevMetadata(this.data, this.table);
    this.gpa = (options.endAt ?? FOUR_GIB) - this.data.length;
  }

  get size(): number {
    return this.data.length;
  }

  metadataSections(): MetadataSection[] {
    return this.metadata ?? [];
  }

  hasMetadataSection(type: number): boolean {
    return this.metadataSections().some((s) => s.type === type);
  }

  private u32Entry(guid: string, name: string): number {
    const entry = this.table.get(guid);
    if (!entry) {
      throw measureError(`Can't find ${name} entry in ${this.label} table`, { guid, missing: name });
    }
    if (entry.length < 4) throw measureError(`${name} entry in ${this.label} table is shorter than 4 bytes`);
    return entry.readUInt32LE(0);
  }

  /** GPA of the kernel-hashes table (0 in plain OvmfPkgX64 builds). */
  sevHashesTableGpa(): number {
    return this.u32Entry(OVMF_GUIDS.sevHashTable, 'SEV_HASH_TABLE_RV_GUID');
  }

  isSevHashesTableSupported(): boolean {
    return this.table.has(OVMF_GUIDS.sevHashTable) && this.sevHashesTableGpa() !== 0;
  }

  /** AP reset address from the SEV-ES reset block. */
  sevEsResetEip(): number {
    return this.u32Entry(OVMF_GUIDS.sevEsResetBlock, 'SEV_ES_RESET_BLOCK_GUID');
  }

  /** SVSM entry point: the SVSM info offset is relative to the image's own GPA. */
  svsmEntryEip(): number {
    return this.u32Entry(OVMF_GUIDS.svsmInfo, 'SVSM_INFO_GUID') + this.gpa;
  }

  /** Require the SEV metadata an SNP launch needs, naming the GUID when absent. */
  requireSevMetadata(): MetadataSection[] {
    if (this.metadata === null) {
      throw measureError(
        `${this.label} image has no SEV metadata (footer table entry ${OVMF_GUIDS.sevMetadata} is missing): ` +
          'not an SEV-SNP capable firmware (use an AmdSev/OVMF_SEV build)',
        { missing: 'OVMF_SEV_META_DATA_GUID', guid: OVMF_GUIDS.sevMetadata },
      );
    }
    return this.metadata;
  }
}

const PAGE = 4096;

function sectionName(section: MetadataSection, index: number): string {
  const type = SECTION_TYPE_NAMES[section.type] ?? `type ${section.type}`;
  return `${index} (${type} at GPA 0x${section.gpa.toString(16)}, size 0x${section.size.toString(16)})`;
}

/**
 * The SEV metadata sections as an SNP launch measures them: each one whole pages, inside the
 * 32-bit guest space and not overlapping another, as in every real OVMF/SVSM build. A list of
 * 200 sections of 4 GiB each would otherwise hash 2^28 zero pages.
 */
export function checkSnpSections(sections: readonly MetadataSection[], label: string): void {
  const sorted = sections.map((s, i) => ({ s, i })).sort((a, b) => a.s.gpa - b.s.gpa);
  let prev: { s: MetadataSection; i: number } | undefined;
  for (const { s, i } of sorted) {
    const bad = (why: string) => measureError(`${label} SEV metadata section ${sectionName(s, i)}: ${why}`, { section: i });
    if (s.gpa % PAGE !== 0 || s.size % PAGE !== 0) throw bad('GPA and size must be multiples of 4096');
    if (s.gpa + s.size > FOUR_GIB) throw bad('ends beyond 4 GiB');
    if (prev && prev.s.gpa + prev.s.size > s.gpa) throw bad(`overlaps section ${sectionName(prev.s, prev.i)}`);
    prev = { s, i };
  }
}
