/**
 * Option injection through paths (issue 12, point 7): a state root whose name contains a
 * comma (`r,wait=on`) reaches -chardev, -vnc and -drive option strings. Commas must be doubled
 * (QEMU's escape) so the path stays one value: the generated option strings are split like
 * QEMU's QemuOpts does and every path comes back whole, and real QEMU under TCG starts with
 * its QMP socket, pid file and serial socket where the root says.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { optValue } from '../../src/qemu/cfg2cmd/opt-value.js';
import { startVm, stopVm, vmStatus } from '../../src/run/index.js';
import { makeTestRoot, QEMU_BINARY, SKIP_REASON } from './helpers.js';

/** QemuOpts splitting: `,` separates, `,,` is a literal comma. */
function splitOpts(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
    } else cur += text[i];
  }
  parts.push(cur);
  return parts;
}

const outer = makeTestRoot('cvmctl-comma-');
afterAll(() => outer.cleanup());

describe('optValue', () => {
  it('doubles commas and leaves comma-free paths byte-identical', () => {
    expect(optValue('/var/run/qemu-server/100.qmp')).toBe('/var/run/qemu-server/100.qmp');
    expect(optValue('/x/r,wait=on/run/100.qmp')).toBe('/x/r,,wait=on/run/100.qmp');
    expect(splitOpts(`path=${optValue('/a,b,,c')},server=on`)).toEqual(['path=/a,b,,c', 'server=on']);
  });
});

describe.skipIf(!QEMU_BINARY)(`a state root named r,wait=on${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('keeps every path one option value, and the VM boots with its sockets under that root', { timeout: 120_000 }, async () => {
    const root = join(outer.root, 'r,wait=on');
    mkdirSync(join(root, 'qemu-server'), { recursive: true });
    const r = { ...outer, root };
    const { localLifecycleContext } = await import('../../src/run/local-context.js');
    const { probeLocalHost } = await import('../../src/host/local/index.js');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root, 'qemu-server', '9301.conf'), 'memory: 64\ncores: 1\nkvm: 0\nserial0: socket\nvga: std\n');
    // an older machine version gets a legacy -drive with file=<path below the root>
    writeFileSync(
      join(root, 'qemu-server', '9302.conf'),
      'memory: 64\nkvm: 0\nmachine: pc-i440fx-9.2\nscsi0: local:9302/vm-9302-disk-0.raw,size=1M\n',
    );
    const ctx = await localLifecycleContext(root, { facts: await probeLocalHost(root), warn: () => undefined });
    const built = await ctx.buildCommand(await ctx.loadConfig(9301), ctx.facts);
    const runDir = join(root, 'run');
    const opt = (flag: string, pred: (parts: string[]) => boolean) =>
      built.argv.flatMap((a, i) => (built.argv[i - 1] === flag ? [splitOpts(a)] : [])).find(pred) as string[];
    expect(opt('-chardev', (p) => p.includes('id=qmp'))).toEqual(['socket', 'id=qmp', `path=${runDir}/9301.qmp`, 'server=on', 'wait=off']);
    expect(opt('-chardev', (p) => p.includes('id=serial0'))).toEqual([
      'socket',
      'id=serial0',
      `path=${runDir}/9301.serial0`,
      'server=on',
      'wait=off',
    ]);
    expect(opt('-vnc', () => true)).toEqual([`unix:${runDir}/9301.vnc`, 'password=on']);
    const legacy = await ctx.buildCommand(await ctx.loadConfig(9302), ctx.facts);
    const drive = legacy.argv
      .flatMap((a, i) => (legacy.argv[i - 1] === '-drive' ? [splitOpts(a)] : []))
      .find((p) => p.includes('id=drive-scsi0'));
    expect(drive?.[0]).toBe(`file=${root}/images/9302/vm-9302-disk-0.raw`);
    // a plain file name for QEMU: not escaped
    expect(built.argv[built.argv.indexOf('-pidfile') + 1]).toBe(`${runDir}/9301.pid`);

    const started = await startVm(ctx, 9301, { timeoutSec: 60 });
    r.track(started.pid);
    expect(existsSync(join(runDir, '9301.qmp'))).toBe(true);
    expect(existsSync(join(runDir, '9301.serial0'))).toBe(true);
    expect(existsSync(join(runDir, '9301.vnc'))).toBe(true);
    expect((await vmStatus(ctx, 9301)).status).toBe('running');
    await stopVm(ctx, 9301, { timeoutSec: 10 });
    expect((await vmStatus(ctx, 9301)).status).toBe('stopped');
  });
});
