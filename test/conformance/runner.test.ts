/**
 * @module test/conformance/runner
 * The conformance runner itself: header parsing, failure detection and the diff.
 */
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/conformance/diff.js';
import { parseHeaders } from '../../src/conformance/headers.js';
import { hostForCase, runCase } from '../../src/conformance/runner.js';

const MINIMAL_CMD = `/usr/bin/kvm \\
  -id 8006 \\
  -name vm8006 \\
  -no-shutdown \\
  -chardev 'socket,id=qmp,path=/var/run/qemu-server/8006.qmp,server=on,wait=off' \\
  -mon 'chardev=qmp,mode=control' \\
  -chardev 'socket,id=qmp-event,path=/var/run/qmeventd.sock,reconnect-ms=5000' \\
  -mon 'chardev=qmp-event,mode=control' \\
  -pidfile /var/run/qemu-server/8006.pid \\
  -daemonize \\
  -smp '1,sockets=1,cores=1,maxcpus=1' \\
  -nodefaults \\
  -boot 'menu=on,strict=on,reboot-timeout=1000,splash=/usr/share/qemu-server/bootsplash.jpg' \\
  -vnc 'unix:/var/run/qemu-server/8006.vnc,password=on' \\
  -cpu kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep \\
  -m 512 \\
  -global 'PIIX4_PM.disable_s3=1' \\
  -global 'PIIX4_PM.disable_s4=1' \\
  -device 'pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e' \\
  -device 'pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f' \\
  -device 'piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2' \\
  -device 'usb-tablet,id=tablet,bus=uhci.0,port=1' \\
  -device 'VGA,id=vga,bus=pci.0,addr=0x2' \\
  -device 'virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3,free-page-reporting=on' \\
  -iscsi 'initiator-name=iqn.1993-08.org.debian:01:aabbccddeeff' \\
  -machine 'type=pc+pve0'
`;

describe('conformance headers', () => {
  it('reads every harness header and ignores nested comments', () => {
    const h = parseHeaders(
      'TEST: x y\n# ignored\nQEMU_VERSION: 9.2.0\nHOST_ARCH: aarch64\nHOST_CPU_VENDOR: AuthenticAMD\nEXPECT_WARNING: w\nHW_CAPABILITIES: amd-turin-9005\nEXPECT_ERROR: boom',
    );
    expect(h).toEqual({
      description: 'x y',
      qemuVersion: '9.2.0',
      hostArch: 'aarch64',
      hostCpuVendor: 'AuthenticAMD',
      expectWarning: 'w',
      hwCapabilities: 'amd-turin-9005',
      expectError: 'boom',
    });
  });
  it('maps fixture names case-insensitively and raw JSON capabilities', () => {
    expect(
      hostForCase({
        hostCpuVendor: 'GenuineIntel',
        hwCapabilities: 'AMD-Turin-9005',
      }).hwCapabilities,
    ).toMatchObject({
      'amd-sev': { cbitpos: 51, 'reduced-phys-bits': 6 },
    });
    expect(
      hostForCase({
        hostCpuVendor: 'GenuineIntel',
        hwCapabilities: '{"intel-tdx":{"tdx-support":true}}',
      }).hwCapabilities,
    ).toEqual({
      'intel-tdx': { 'tdx-support': true },
    });
    expect(hostForCase({ hostCpuVendor: 'GenuineIntel' }).qemuVersion).toBe('11.0.2');
  });
});

describe('runCase', () => {
  const conf = '# TEST: minimal\nmemory: 512\n';
  it('passes an identical command line regardless of line-break whitespace', () => {
    expect(runCase('/x/min.conf', conf, MINIMAL_CMD).status).toBe('pass');
    expect(runCase('/x/min.conf', conf, MINIMAL_CMD.replace(/ \\\n {2}/g, ' \\\n    ')).status).toBe('pass');
  });
  it('fails with a unified diff when one argument differs', () => {
    const r = runCase('/x/min.conf', conf, MINIMAL_CMD.replace('-m 512', '-m 1024'));
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('--m 1024');
    expect(r.detail).toContain('+-m 512');
  });
  it('compares EXPECT_ERROR exactly', () => {
    const bad = '# EXPECT_ERROR: cannot set aw-bits if no vIOMMU is configured\nmachine: q35,aw-bits=39\n';
    expect(runCase('/x/e.conf', bad, undefined).status).toBe('pass');
    const wrong = '# EXPECT_ERROR: something else\nmachine: q35,aw-bits=39\n';
    expect(runCase('/x/e.conf', wrong, undefined).detail).toContain("error does not match expected error: 'cannot set aw-bits");
  });
  it('fails on an unexpected Perl warning and accepts the expected one', () => {
    const warnConf = 'cpu: custom-qemu64\n';
    expect(runCase('/x/w.conf', warnConf, undefined).detail).toMatch(
      /^got unexpected warning 'warning: CPU flag\/setting '-kvm_pv_unhalt'/,
    );
    const expected =
      "# EXPECT_WARN: warning: CPU flag/setting '-kvm_pv_unhalt' (set by custom CPU model) overwrites '+kvm_pv_unhalt' (set by PVE; to improve Linux guest spinlock performance)\ncpu: custom-qemu64\n";
    expect(runCase('/x/w.conf', expected, undefined).status).toBe('skip');
  });
});

describe('unifiedDiff', () => {
  it('is empty for equal input and shows context otherwise', () => {
    expect(unifiedDiff(['a', 'b'], ['a', 'b'], ['x', 'y'])).toBe('');
    expect(unifiedDiff(['a', 'b', 'c'], ['a', 'B', 'c'], ['x', 'y'])).toBe('--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c');
  });
});
