/**
 * Property: any config built from valid values survives write → strict parse → write
 * unchanged, with every value and the (Perl-normalised) description preserved.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfigSection, VmConfig } from '../types.js';
import { parseVmConfig } from './parse.js';
import { writeVmConfig } from './write.js';

const FN = '/srv/qemu-server/321.conf';

/** Valid, already normalised values per key. */
const VALUES: Record<string, string[]> = {
  cores: ['1', '2', '16'],
  sockets: ['1', '2'],
  memory: ['512', '4096', 'current=2048'],
  name: ['web', 'db-01', 'a.example.com'],
  onboot: ['0', '1'],
  numa: ['0', '1'],
  bios: ['seabios', 'ovmf'],
  machine: ['q35', 'pc-q35-9.2', 'pc-i440fx-8.1'],
  ostype: ['l26', 'win11', 'other'],
  'amd-sev': ['type=snp', 'type=std,no-debug=1', 'type=es,kernel-hashes=1'],
  scsi0: ['local:321/vm-321-disk-0.qcow2,size=8G', 'tank:vm-321-disk-1,iothread=1,size=32G'],
  ide2: ['none,media=cdrom', 'local:iso/debian.iso,media=cdrom'],
  net0: ['virtio=BC:24:11:00:00:01,bridge=vmbr0', 'e1000=BC:24:11:00:00:02,bridge=vmbr1,firewall=1'],
  efidisk0: ['local:321/vm-321-disk-9.raw,efitype=4m,size=528K'],
  tags: ['a;b', 'prod'],
  args: ['-device virtio-rng-pci', '-cpu "host,+x2apic"  -smp 2'],
  unused0: ['local:vm-321-disk-7'],
  lock: ['backup', 'snapshot'],
};

const sectionArb = fc
  .dictionary(fc.constantFrom(...Object.keys(VALUES)), fc.constant(''), { maxKeys: 10 })
  .chain((keys) =>
    fc.record(
      Object.fromEntries(Object.keys(keys).map((k) => [k, fc.constantFrom(...(VALUES[k] as string[]))])) as Record<
        string,
        fc.Arbitrary<string>
      >,
    ),
  );
const descriptionArb = fc.option(fc.string({ unit: 'binary', maxLength: 60 }), { nil: undefined });
const withDescription = (section: ConfigSection, descr: string | undefined): ConfigSection =>
  descr === undefined ? { ...section } : { ...section, description: descr };
const snapNameArb = fc.stringMatching(/^[a-z][a-z0-9_-]{1,12}$/).filter((n) => n !== 'pending');

const configArb: fc.Arbitrary<VmConfig> = fc
  .record({
    conf: sectionArb,
    descr: descriptionArb,
    pending: sectionArb,
    snapshots: fc.dictionary(snapNameArb, fc.tuple(sectionArb, descriptionArb), { maxKeys: 3 }),
  })
  .map(({ conf, descr, pending, snapshots }) => ({
    vmid: 321,
    digest: '',
    conf: withDescription(conf, descr),
    pending,
    special: {},
    snapshots: Object.fromEntries(Object.entries(snapshots).map(([n, [s, d]]) => [n, withDescription(s, d)])),
  }));

/** What a description looks like after one write and parse (Perl split, trailing space trimmed). */
function describedAfterRoundTrip(descr: string | undefined): string | undefined {
  if (descr === undefined || descr === '' || descr === '0') return undefined;
  const lines = descr.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return undefined;
  return lines
    .map((l) => `${l}\n`)
    .join('')
    .replace(/[ \t\n\v\f\r]+$/, '');
}

describe('write/parse round trip', () => {
  it('preserves every value and converges after one round', () => {
    fc.assert(
      fc.property(configArb, (cfg) => {
        const text = writeVmConfig(cfg);
        const warnings: string[] = [];
        const parsed = parseVmConfig(FN, text, { strict: true, warn: (m) => warnings.push(m) });
        expect(warnings).toEqual([]);
        const { description, ...values } = parsed.conf;
        const { description: original, ...originalValues } = cfg.conf;
        // unused0 disappears only if a drive uses the same volume; none of the pools do
        expect(values).toEqual(originalValues);
        expect(description).toBe(describedAfterRoundTrip(original));
        expect(parsed.pending).toEqual(cfg.pending);
        expect(Object.keys(parsed.snapshots).sort()).toEqual(Object.keys(cfg.snapshots).sort());
        const again = writeVmConfig(parsed);
        expect(writeVmConfig(parseVmConfig(FN, again, { strict: true }))).toBe(again);
      }),
      { numRuns: 300 },
    );
  });
});
