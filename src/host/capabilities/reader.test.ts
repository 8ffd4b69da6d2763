import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { amdSevFromLeaf, formatCapabilitiesLine, tdxFromMsrs, vendorFromLeaf0 } from './decode.js';
import { parseHwCapabilitiesText, readHwCapabilities } from './reader.js';

const dir = mkdtempSync(join(tmpdir(), 'cvmctl-caps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readHwCapabilities', () => {
  it('returns the exact qemu-server text for a missing file', async () => {
    expect(await readHwCapabilities('/run/qemu-server/host-hw-capabilities.json.nonexistent')).toEqual({
      error:
        '/run/qemu-server/host-hw-capabilities.json.nonexistent does not exist. Please check the status of query-machine-capabilities: systemctl status query-machine-capabilities',
    });
  });

  it('parses only the first line', async () => {
    const p = join(dir, 'caps.json');
    writeFileSync(p, '{ "intel-tdx": { "tdx-support": true } }\nthis is not json\n');
    expect(await readHwCapabilities(p)).toEqual({ 'intel-tdx': { 'tdx-support': true } });
    writeFileSync(p, '{ "intel-tdx":\n { "tdx-support": true } }\n');
    expect('error' in (await readHwCapabilities(p))).toBe(true);
    expect(parseHwCapabilitiesText('{ }\n')).toEqual({});
  });
});

describe('decode and format', () => {
  it('formats the three qemu-server shapes byte-exactly', () => {
    expect(
      formatCapabilitiesLine({
        'amd-sev': { cbitpos: 51, 'reduced-phys-bits': 6, 'sev-support': true, 'sev-support-es': true, 'sev-support-snp': true },
      }),
    ).toBe(
      '{ "amd-sev": { "cbitpos": 51, "reduced-phys-bits": 6, "sev-support": true, "sev-support-es": true, "sev-support-snp": true } }\n',
    );
    expect(formatCapabilitiesLine({ 'intel-tdx': { 'tdx-support': false } })).toBe('{ "intel-tdx": { "tdx-support": false } }\n');
    expect(formatCapabilitiesLine({})).toBe('{ }\n');
  });

  it('decodes registers like the C helper', () => {
    expect(vendorFromLeaf0({ eax: 0x10, ebx: 0x68747541, ecx: 0x444d4163, edx: 0x69746e65 })).toBe('AuthenticAMD');
    expect(amdSevFromLeaf({ eax: 0b10010, ebx: 0x41b3, ecx: 0, edx: 0 })).toEqual({
      cbitpos: 51,
      'reduced-phys-bits': 6,
      'sev-support': true,
      'sev-support-es': false,
      'sev-support-snp': true,
    });
    expect(tdxFromMsrs(0b10n, 0n, 1n << 11n)).toBe(true);
    expect(tdxFromMsrs(0b01n, 0n, 1n << 11n)).toBe(false);
    expect(tdxFromMsrs(0b10n, 1n, 1n << 11n)).toBe(false);
  });
});
