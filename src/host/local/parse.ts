/**
 * @module host/local/parse
 * Pure parsers for what the local probe reads from the host: `/proc/cpuinfo`,
 * `qemu-system-* --version` and `-machine help`. Kept free of I/O so they can be tested
 * against captured text.
 */

export interface CpuInfo {
  vendor: string;
  count: number;
  physAddrBits: number;
  flags: string[];
}

/** Vendor, logical CPU count and physical address bits from `/proc/cpuinfo`. */
export function parseCpuInfo(text: string): CpuInfo {
  let vendor = '';
  let count = 0;
  let physAddrBits = 0;
  let flags: string[] = [];
  for (const line of text.split('\n')) {
    const idx = line.indexOf(':');
    if (idx < 0) continue;
    const key = line.slice(0, idx).trim();
    const value = line.slice(idx + 1).trim();
    if (key === 'processor') count++;
    else if (key === 'vendor_id' && !vendor) vendor = value;
    else if (key === 'address sizes' && !physAddrBits) {
      const m = /(\d+) bits physical/.exec(value);
      if (m) physAddrBits = Number(m[1]);
    } else if (key === 'flags' && flags.length === 0) flags = value.split(/\s+/).filter(Boolean);
  }
  return { vendor, count, physAddrBits, flags };
}

/** `QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)` → `10.0.2`. */
export function parseQemuVersion(text: string): string | undefined {
  const m = /version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return `${m[1]}.${m[2]}.${m[3] ?? '0'}`;
}

/** Machine type names from `-machine help` (first column after the header). */
export function parseMachineHelp(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    if (/^Supported machines/.test(line) || line.trim() === '') continue;
    const name = line.trim().split(/\s+/)[0];
    if (name) names.push(name);
  }
  return names;
}

/** `x64` → `x86_64`, `arm64` → `aarch64`. */
export function nodeArchToQemu(arch: string): 'x86_64' | 'aarch64' {
  return arch === 'arm64' ? 'aarch64' : 'x86_64';
}

/** get_vm_arch: the config's `arch`, else this host's. */
export function vmArch(conf: { arch?: string | undefined }): string {
  return conf.arch ?? nodeArchToQemu(process.arch);
}
