/**
 * @module test/e2e/code-cache
 * bin/code-cache.js, the V8 code cache bin/cvmctl runs the showcmd bundle with: the build makes
 * a cache this Node accepts, and a cache that does not fit its bundle (rebuilt bundle, other Node,
 * damaged V8 data, data V8 refuses) is never used: the bundle runs from its source, with the
 * source's behaviour. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'cli', 'showcmd-main.cjs');

interface Compiled {
  cache: 'accepted' | 'rejected' | 'stale' | 'none';
}
const loader = createRequire(import.meta.url)(join(ROOT, 'bin', 'code-cache.js')) as {
  compileBundle(file: string): Compiled;
  runBundle(file: string): { value: string; dir: string };
  saveCodeCache(compiled: Compiled): void;
  trainCodeCache(file: string, runs: string[][]): Promise<number[]>;
};

const dir = mkdtempSync(join(tmpdir(), 'cvm-code-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CommonJS "bundle" answering `value`; the same length for 'one' and 'two'. */
function bundleSource(value: string): string {
  return `'use strict';\nfunction answer() { return ${JSON.stringify(value)}; }\nmodule.exports = { value: answer(), dir: __dirname, args: process.argv.slice(2), done: Promise.resolve() };\n`;
}

describe('code cache of the showcmd bundle', () => {
  it('the build made a cache this Node and these V8 flags accept', () => {
    expect(loader.compileBundle(BUNDLE).cache).toBe('accepted');
  });

  it('is used only for the bundle it was made from, by this Node, intact', async () => {
    const file = join(dir, 'b.cjs');
    writeFileSync(file, bundleSource('one'));
    expect(loader.compileBundle(file).cache).toBe('none');
    expect(await loader.trainCodeCache(file, [['x'], ['y']])).toEqual([0, 0]);
    expect(loader.compileBundle(file).cache).toBe('accepted');
    const ran = loader.runBundle(file);
    expect(ran.value).toBe('one');
    expect(ran.dir).toBe(dir);
    const made = readFileSync(`${file}.cache`);
    const eol = made.indexOf(10);
    const header = made.subarray(0, eol).toString('latin1').split(' ');
    const data = made.subarray(eol + 1);
    const withHeader = (fields: string[], body: Buffer) => Buffer.concat([Buffer.from(`${fields.join(' ')}\n`, 'latin1'), body]);
    const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

    // rebuilt: same length (V8's own check passes), other content -> the new source runs
    writeFileSync(file, bundleSource('two'));
    expect(loader.compileBundle(file).cache).toBe('stale');
    expect(loader.runBundle(file).value).toBe('two');

    // a header that claims the new bundle, made by another Node version
    const forged = [...header];
    forged[forged.length - 2] = sha1(readFileSync(file));
    writeFileSync(`${file}.cache`, withHeader(forged.map((f) => (f === process.version ? 'v0.0.1' : f)), data));
    expect(loader.compileBundle(file).cache).toBe('stale');

    // damaged V8 data (V8 does not check its data: this could crash it)
    const damaged = Buffer.from(data);
    damaged.fill(0x33, 64);
    writeFileSync(`${file}.cache`, withHeader(forged, damaged));
    expect(loader.compileBundle(file).cache).toBe('stale');
    expect(loader.runBundle(file).value).toBe('two');

    // intact V8 data, correctly hashed, but V8 refuses it (made for a source of another length)
    writeFileSync(file, bundleSource('three'));
    forged[forged.length - 2] = sha1(readFileSync(file));
    writeFileSync(`${file}.cache`, withHeader(forged, data));
    expect(loader.compileBundle(file).cache).toBe('rejected');
    expect(loader.runBundle(file).value).toBe('three');
  });

  it('bin/cvmctl answers the same without a usable cache', () => {
    // a copy of bin/ and the bundle, so the build's own files stay untouched
    mkdirSync(join(dir, 'copy', 'bin'), { recursive: true });
    mkdirSync(join(dir, 'copy', 'dist', 'cli'), { recursive: true });
    for (const name of ['cvmctl', 'code-cache.js', 'package.json']) copyFileSync(join(ROOT, 'bin', name), join(dir, 'copy', 'bin', name));
    const copy = join(dir, 'copy', 'dist', 'cli', 'showcmd-main.cjs');
    copyFileSync(BUNDLE, copy);
    const made = readFileSync(`${BUNDLE}.cache`);
    const damaged = Buffer.from(made);
    damaged.fill(0x33, made.indexOf(10) + 64);
    writeFileSync(`${copy}.cache`, damaged);
    expect(loader.compileBundle(copy).cache).toBe('stale');

    const conf = join(dir, '8006.conf');
    writeFileSync(conf, 'bios: ovmf\nmemory: 1024\nname: demo\nscsi0: local:8006/vm-8006-disk-0.qcow2,size=8G\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n');
    const args = ['showcmd', '--file', conf, '--host', 'pve-test'];
    const run = (script: string) => {
      const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const full = run(join(ROOT, 'dist', 'cli', 'main.js'));
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('-blockdev');
    expect(run(join(dir, 'copy', 'bin', 'cvmctl'))).toEqual(full);
    rmSync(`${copy}.cache`);
    expect(run(join(dir, 'copy', 'bin', 'cvmctl'))).toEqual(full);
  });

  it('a cold showcmd loads no ES module loader, node:module, fs/promises, child_process, os or timers/promises', () => {
    // what a start-up spends time on besides our code: built-ins loaded (stdio to files, not
    // pipes: a pipe would load node:net for process.stdout)
    const preload = join(dir, 'loaded.cjs');
    const report = join(dir, 'loaded.txt');
    writeFileSync(
      preload,
      `const before = new Set(process.moduleLoadList);\nprocess.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, process.moduleLoadList.filter((m) => !before.has(m)).join('\\n')));\n`,
    );
    const conf = join(dir, '8007.conf');
    writeFileSync(conf, 'bios: ovmf\nmemory: 1024\nscsi0: local:8007/vm-8007-disk-0.qcow2,size=8G\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n');
    const out = openSync(join(dir, 'out.txt'), 'w');
    const r = spawnSync(process.execPath, ['-r', preload, join(ROOT, 'bin', 'cvmctl'), 'showcmd', '--file', conf, '--host', 'pve-test'], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toContain('-blockdev');
    const loaded = readFileSync(report, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule vm');
    expect(loaded).toContain('NativeModule crypto');
    for (const name of ['internal/modules/esm/loader', 'module', 'fs/promises', 'child_process', 'net', 'os', 'timers/promises']) {
      expect(loaded, name).not.toContain(`NativeModule ${name}`);
    }
  });
});
