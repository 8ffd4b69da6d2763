/**
 * @module conformance/headers
 * The test-environment headers of qemu-server's cfg2cmd harness, read from a config's
 * description (its `#` comment lines): TEST, QEMU_VERSION, HOST_ARCH, HOST_CPU_VENDOR,
 * EXPECT_ERROR, EXPECT_WARN(ING) and HW_CAPABILITIES (a fixture name or raw JSON). Each
 * description line is trimmed; empty lines and lines still starting with `#` are ignored.
 */

export interface CaseHeaders {
  description?: string;
  qemuVersion?: string;
  hostArch?: string;
  hostCpuVendor: string;
  expectError?: string;
  expectWarning?: string;
  hwCapabilities?: string;
}

const RULES: [RegExp, keyof CaseHeaders][] = [
  [/^TEST:\s*(.*)$/, 'description'],
  [/^QEMU_VERSION:\s*(.*)$/, 'qemuVersion'],
  [/^HOST_ARCH:\s*(.*)$/, 'hostArch'],
  [/^HOST_CPU_VENDOR:\s*(.*)$/, 'hostCpuVendor'],
  [/^EXPECT_ERROR:\s*(.*)$/, 'expectError'],
  [/^EXPECT_WARN(?:ING)?:\s*(.*)$/, 'expectWarning'],
  [/^HW_CAPABILITIES:\s*(.*)$/, 'hwCapabilities'],
];

export function parseHeaders(description: string | undefined): CaseHeaders {
  const out: CaseHeaders = { hostCpuVendor: 'GenuineIntel' };
  for (const raw of (description ?? '').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    for (const [re, key] of RULES) {
      const m = re.exec(line);
      if (m) {
        (out as unknown as Record<string, string>)[key] = (m[1] as string).trim();
        break;
      }
    }
  }
  return out;
}
