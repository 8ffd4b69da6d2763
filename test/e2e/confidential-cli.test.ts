import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');
const built = existsSync(MAIN);
let root = '';

function cvmctl(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, '--root', root, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-cc-e2e-'));
  mkdirSync(join(root, 'qemu-server'));
  const conf = (vmid: number, text: string) => writeFileSync(join(root, 'qemu-server', `${vmid}.conf`), text);
  conf(100, 'bios: ovmf\namd-sev: type=snp\nefidisk0: local:100/vm-100-disk-0.raw,efitype=4m,size=528K\n');
  conf(101, 'bios: ovmf\namd-sev: es,no-debug=1\n');
  conf(102, 'memory: 512\n');
  writeFileSync(
    join(root, 'turin.json'),
    '{ "amd-sev": { "cbitpos": 51, "reduced-phys-bits": 6, "sev-support": true, "sev-support-es": true, "sev-support-snp": true } }\n',
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(!built)('cvmctl policy / host / lint (built CLI)', () => {
  it('policy explain prints every bit and rejects invalid words with exit 2', () => {
    const ok = cvmctl('policy', 'explain', '0xb0000', '--type', 'snp');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^SEV-SNP guest policy 0xb0000 \(decimal 720896\): overall critical\n/);
    expect(ok.out).toMatch(/ 19 +DEBUG +set +critical +debugging allowed: the hypervisor can decrypt guest memory with SNP_DBG_DECRYPT/);
    const json = JSON.parse(cvmctl('policy', 'explain', '196608', '--type', 'snp', '--json').out);
    expect(json).toMatchObject({ hex: '0x30000', severity: 'info' });
    const bad = cvmctl('policy', 'explain', '0x10000', '--type', 'snp');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('SNP policy 0x10000: bit 17 (reserved) must be one\n');
  });

  it('policy show prints the qemu-server policy and the object for the given capabilities', () => {
    const r = cvmctl('policy', 'show', '100', '--caps', join(root, 'turin.json'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('policy: 0xb0000\n');
    expect(r.out).toContain('-object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0xb0000\n');
    const j = JSON.parse(cvmctl('policy', 'show', '101', '--caps', join(root, 'turin.json'), '--json').out);
    expect(j).toMatchObject({ policy: '0xd', object: 'sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0xd' });
    const missing = cvmctl('policy', 'show', '101', '--caps', join(root, 'nope.json'), '--json');
    expect(JSON.parse(missing.out).error).toContain('nope.json does not exist. Please check the status of query-machine-capabilities');
  });

  it('host capabilities --json prints one qemu-server line and --write writes it', () => {
    const r = cvmctl('host', 'capabilities', '--json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\{( "(amd-sev|intel-tdx|arm-caps)": \{[^}]*\})? \}\n$/);
    const file = join(root, 'caps', 'host-hw-capabilities.json');
    expect(cvmctl('host', 'capabilities', '--write', file).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(r.out);
    expect(cvmctl('host', 'capabilities').out).toMatch(/^CPU vendor: /);
  });

  it('lint exits 3 with warnings, 0 when clean', () => {
    const warn = cvmctl('lint', '100');
    expect(warn.code).toBe(3);
    expect(warn.out).toContain('[cvm-debug-allowed]');
    expect(warn.out).toContain('[efidisk-ignored]');
    const clean = cvmctl('lint', '102', '--json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.out)).toEqual([]);
    const info = cvmctl('lint', '101');
    expect(info.code).toBe(0);
    expect(info.out).toContain('INFO: amd-sev: while running: Cannot live-migrate');
  });
});
