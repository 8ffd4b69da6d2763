import { describe, expect, it } from 'vitest';
import { swtpmPaths, swtpmSetupArgs, swtpmSocketArgs } from './swtpm.js';

// qemu-server 9.2.6 start_swtpm, as documented there (facts, not its code)
describe('swtpm command lines', () => {
  it('runs swtpm_setup like qemu-server (root: --runas 0; TPM 2.0: --tpm2 --ecc)', () => {
    const args = swtpmSetupArgs('/s/vm-1-disk-0.raw', 'v2.0', true);
    expect(args.join(' ')).toBe(
      '--tpmstate file:///s/vm-1-disk-0.raw --createek --create-ek-cert --create-platform-cert --lock-nvram ' +
        '--config /etc/swtpm_setup.conf --runas 0 --not-overwrite --tpm2 --ecc',
    );
    const v12 = swtpmSetupArgs('/s/x.raw', 'v1.2', false);
    expect(v12).not.toContain('--tpm2');
    expect(v12).not.toContain('--ecc');
    expect(v12).not.toContain('--runas');
  });

  it('runs the daemon on <runDir>/<vmid>.swtpm with the pid file and log qemu-server uses', () => {
    const paths = swtpmPaths('/run/qemu-server', 100);
    expect(paths).toEqual({
      socket: '/run/qemu-server/100.swtpm',
      pid: '/run/qemu-server/100.swtpm.pid',
      log: '/run/qemu-server/100-swtpm.log',
    });
    const args = swtpmSocketArgs('/dev/vg/vm-100-disk-1', paths, 'v2.0', '[id=1] ');
    expect(args).toEqual([
      'socket',
      '--tpmstate',
      'backend-uri=file:///dev/vg/vm-100-disk-1,mode=0600',
      '--ctrl',
      'type=unixio,path=/run/qemu-server/100.swtpm,mode=0600',
      '--pid',
      'file=/run/qemu-server/100.swtpm.pid',
      '--terminate',
      '--daemon',
      '--log',
      'file=/run/qemu-server/100-swtpm.log,level=1,prefix=[id=1] ',
      '--tpm2',
    ]);
    expect(swtpmSocketArgs('/x', paths, 'v1.2', '')).not.toContain('--tpm2');
  });
});
