/**
 * @module test/e2e/cli-entry
 * bin/cvmctl runs every command but `showcmd` from dist/cli/main.cjs (CommonJS, minified, with
 * the V8 code cache the build trained, bin/code-cache.js): its answers (output, usage errors,
 * exit codes, files written) must be those of the same program as an ES module bundle,
 * dist/cli/main.js, with and without a usable cache; the build's cache is one this Node
 * accepts; and a cold command loads no ES module loader. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'cvmctl');
const FULL = join(ROOT, 'dist', 'cli', 'main.js');
const BUNDLE = join(ROOT, 'dist', 'cli', 'main.cjs');
const loader = createRequire(import.meta.url)(join(ROOT, 'bin', 'code-cache.js')) as {
  compileBundle(file: string): { cache: 'accepted' | 'rejected' | 'stale' | 'none' };
};

const dir = mkdtempSync(join(tmpdir(), 'cvm-cli-entry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CVMCTL_ROOT: join(dir, 'no-root') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A state root with two VMs (its own copy per caller, for commands that write). */
function stateRoot(name: string): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'qemu-server'), { recursive: true });
  writeFileSync(
    join(root, 'qemu-server', '100.conf'),
    'bios: ovmf\nmemory: 1024\nname: demo\nscsi0: local:100/vm-100-disk-0.qcow2,size=8G\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n',
  );
  writeFileSync(join(root, 'qemu-server', '101.conf'), 'memory: 512\nname: cvm\namd-sev: type=snp\nbios: ovmf\nmachine: q35\n');
  return root;
}

describe('bin/cvmctl runs the full CLI from its CommonJS bundle with a code cache', () => {
  const root = stateRoot('read');

  it('the build made a cache for dist/cli/main.cjs that this Node accepts', () => {
    expect(loader.compileBundle(BUNDLE).cache).toBe('accepted');
  });

  const cases: string[][] = [
    ['--version'],
    ['--help'],
    ['help', 'create'],
    ['--root', root, 'config', '100'],
    [`--root=${root}`, 'config', '101', '--current'],
    ['--root', root, 'list'],
    ['--root', root, 'list', '--json'],
    ['--root', root, 'status', '100'],
    ['--root', root, 'lint', '101'],
    ['--root', root, 'config', '999'],
    ['--root', root, 'bogus-command'],
    ['--root', root, 'config', '100', '--bogus'],
    ['policy', 'explain', '0x30000'],
  ];
  it.each(cases.map((c) => [c.join(' '), c]))('answers like the ES module bundle: %s', (_label, args) => {
    const full = run(FULL, args as string[]);
    expect(run(BIN, args as string[])).toEqual(full);
    expect(full.stdout.length + full.stderr.length).toBeGreaterThan(0);
  });

  it('writes what the ES module bundle writes (create, set)', () => {
    const a = stateRoot('write-a');
    const b = stateRoot('write-b');
    const steps = [
      ['create', '200', '--name', 'new', '--memory', '768', '--smbios1', 'uuid=7b10d7af-b932-4c66-b2c3-3996152ec465', '--vmgenid', '0'],
      ['set', '200', '--cores', '2', '--description', 'two cores'],
      ['set', '100', '--delete', 'net0'],
    ];
    for (const step of steps) expect(run(BIN, ['--root', a, ...step])).toEqual(run(FULL, ['--root', b, ...step]));
    for (const vmid of [100, 200]) {
      const conf = (r: string) => readFileSync(join(r, 'qemu-server', `${vmid}.conf`), 'utf8').replace(/ctime=\d+/, 'ctime=T');
      expect(conf(a)).toBe(conf(b));
    }
  });

  it('answers the same without a usable cache (damaged, or none)', () => {
    const copy = join(dir, 'copy');
    cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
    mkdirSync(join(copy, 'dist', 'cli'), { recursive: true });
    copyFileSync(BUNDLE, join(copy, 'dist', 'cli', 'main.cjs'));
    copyFileSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    const made = readFileSync(`${BUNDLE}.cache`);
    const damaged = Buffer.from(made);
    damaged.fill(0x33, made.indexOf(10) + 64);
    const cacheCopy = join(copy, 'dist', 'cli', 'main.cjs.cache');
    writeFileSync(cacheCopy, damaged);
    expect(loader.compileBundle(join(copy, 'dist', 'cli', 'main.cjs')).cache).toBe('stale');
    for (const args of [['--root', root, 'config', '100'], ['--version'], ['--root', root, 'config', '999']]) {
      const full = run(FULL, args);
      expect(run(join(copy, 'bin', 'cvmctl'), args)).toEqual(full);
      rmSync(cacheCopy, { force: true });
      expect(run(join(copy, 'bin', 'cvmctl'), args)).toEqual(full);
    }
  });

  it('a cold `config` loads no ES module loader and no node:module', () => {
    const preload = join(dir, 'loaded.cjs');
    const report = join(dir, 'loaded.txt');
    writeFileSync(
      preload,
      `const before = new Set(process.moduleLoadList);\nprocess.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, process.moduleLoadList.filter((m) => !before.has(m)).join('\\n')));\n`,
    );
    // stdio to a file, not a pipe: a pipe would load node:net for process.stdout
    const out = openSync(join(dir, 'out.txt'), 'w');
    const r = spawnSync(process.execPath, ['-r', preload, BIN, '--root', root, 'config', '100'], { stdio: ['ignore', out, out] });
    closeSync(out);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toContain('name: demo');
    const loaded = readFileSync(report, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule vm');
    for (const name of ['internal/modules/esm/loader', 'module']) {
      expect(loaded, name).not.toContain(`NativeModule ${name}`);
    }
  });
});
