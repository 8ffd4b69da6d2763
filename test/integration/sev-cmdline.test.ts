/**
 * The confidential command lines cvmctl generates are accepted by the real QEMU option
 * parser. With a host profile that fakes SEV/SEV-ES/SEV-SNP capabilities (and firmware
 * descriptors with the SEV features), `start` spawns the real QEMU: it must stop only because
 * KVM or the SEV device is missing here, never because of an invalid option or property.
 * On the real host profile (no SEV) the same VM fails before any QEMU process exists.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DescriptorFirmware, FirmwareDescriptorFact } from '../../src/firmware/types.js';
import type { HostFacts } from '../../src/host/facts.js';
import { startVm } from '../../src/run/index.js';
import { makeTestRoot, QEMU_BINARY, SKIP_REASON, type TestRoot } from './helpers.js';
import { AMD_TURIN_9005 } from '../../src/host/profiles/pve-test.js';

const roots: TestRoot[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) r.cleanup();
});

const CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const haveOvmf = existsSync(CODE) && existsSync(VARS);

/** Descriptors as an OVMF build with SEV support would install them (files: Debian's OVMF). */
function sevFirmware(): DescriptorFirmware {
  const target = [{ architecture: 'x86_64', machines: ['pc-q35-*', 'pc-i440fx-*'] }];
  const sevFlash: FirmwareDescriptorFact = {
    name: '10-test-ovmf-sev.json',
    path: '/test/10-test-ovmf-sev.json',
    interfaceTypes: ['uefi'],
    device: 'flash',
    mode: 'split',
    executable: { filename: CODE, format: 'raw' },
    nvramTemplate: { filename: VARS, format: 'raw', size: statSync(VARS).size },
    targets: target,
    features: ['acpi-s3', 'amd-sev', 'amd-sev-es', 'verbose-dynamic'],
  };
  const snp: FirmwareDescriptorFact = {
    name: '11-test-ovmf-snp.json',
    path: '/test/11-test-ovmf-snp.json',
    interfaceTypes: ['uefi'],
    device: 'flash',
    mode: 'stateless',
    executable: { filename: CODE, format: 'raw' },
    targets: target,
    features: ['amd-sev', 'amd-sev-es', 'amd-sev-snp', 'verbose-dynamic'],
  };
  return { kind: 'descriptors', descriptors: [sevFlash, snp], files: { [CODE]: statSync(CODE).size, [VARS]: statSync(VARS).size } };
}

const FAKE_SEV_HOST: Partial<HostFacts> = {
  kvmAvailable: true,
  cpuVendor: 'AuthenticAMD',
  hwCapabilities: structuredClone(AMD_TURIN_9005),
};

const VARIANTS = [
  { type: 'std', vmid: 9201, object: /^sev-guest,id=sev0,/ },
  { type: 'es', vmid: 9202, object: /^sev-guest,id=sev0,/ },
  { type: 'snp', vmid: 9203, object: /"qom-type":"sev-snp-guest"|^sev-snp-guest,/ },
] as const;

/** Messages of QEMU's option/QOM/JSON parsers and machine setup; none may appear. */
const PARSER_ERRORS =
  /invalid option|Invalid parameter|Parameter '[^']+' expects|Property '[^']+' not found|is not a valid|can't apply global|JSON parse error|unexpected (token|end of input)|Invalid machine type|Unsupported machine type|requires an argument|Duplicate ID|Could not open '/;
/**
 * Where QEMU has to stop on a host without SEV: the SEV/SNP init in KVM (cbitpos check
 * against the host's 0, SNP VM type unknown to KVM, /dev/sev missing) or, without /dev/kvm,
 * KVM itself.
 */
const EXPECTED_STOP =
  /sev_common_kvm_init|\/dev\/sev|vm-type SEV-SNP not supported by KVM|SEV.* not supported|failed to initialize kvm|Could not access KVM kernel module|KVM required/;

function configText(type: string): string {
  return ['bios: ovmf', 'machine: q35', 'memory: 512', 'cores: 1', 'ostype: l26', 'vga: none', `amd-sev: type=${type}`, ''].join('\n');
}

describe.skipIf(!QEMU_BINARY || !haveOvmf)(
  `confidential command lines vs the real QEMU parser${QEMU_BINARY && haveOvmf ? '' : ` (skipped: ${SKIP_REASON} / OVMF missing)`}`,
  () => {
    for (const v of VARIANTS) {
      it(`SEV ${v.type}: QEMU accepts every option and stops only for missing KVM/SEV`, async () => {
        const r = makeTestRoot();
        roots.push(r);
        r.writeConfig(v.vmid, configText(v.type));
        const ctx = await r.context({ ...FAKE_SEV_HOST, firmware: sevFirmware() });
        const err = await startVm(ctx, v.vmid, { timeoutSec: 60 }).then(
          (res) => {
            r.track(res.pid);
            return new Error(`QEMU unexpectedly started (pid ${res.pid})`);
          },
          (e: unknown) => e as Error & { code?: string; details?: { stderr?: string } },
        );
        const argv = (await ctx.buildCommand(await ctx.loadConfig(v.vmid), ctx.facts)).argv;
        const objects = argv.filter((_a, i) => argv[i - 1] === '-object');
        expect(objects.some((o) => v.object.test(o))).toBe(true);
        expect(argv.join(' ')).toMatch(/confidential-guest-support=sev0/);

        if (process.env.CVMCTL_IT_DEBUG) console.log(v.type, err.message);
        expect(err).toMatchObject({ code: 'QEMU_FAILED' });
        const stderr = (err as { details?: { stderr?: string } }).details?.stderr ?? '';
        expect(stderr, err.message).toMatch(EXPECTED_STOP);
        expect(stderr, err.message).not.toMatch(PARSER_ERRORS);
        expect(readdirSync(join(r.root, 'run')).filter((n) => n !== 'efidisk')).toEqual([]);
      }, 90_000);
    }

    it('on the real host profile (no SEV) a confidential VM fails before QEMU is spawned', async () => {
      const r = makeTestRoot();
      roots.push(r);
      r.writeConfig(9204, configText('snp'));
      const ctx = await r.context({
        firmware: sevFirmware(),
        hwCapabilities: {
          'amd-sev': { cbitpos: 51, 'reduced-phys-bits': 1, 'sev-support': false, 'sev-support-es': false, 'sev-support-snp': false },
        },
      });
      const err = await startVm(ctx, 9204).catch((e: unknown) => e as Error & { code: string });
      if (process.env.CVMCTL_IT_DEBUG) console.log((err as Error).message);
      expect(err).toBeInstanceOf(Error);
      expect((err as { code: string }).code).not.toBe('QEMU_FAILED');
      expect((err as Error).message).toMatch(/SEV|sev/);
      expect(existsSync(join(r.root, 'run', '9204.pid'))).toBe(false);
    });
  },
);
