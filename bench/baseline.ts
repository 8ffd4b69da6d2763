/**
 * @module bench/baseline
 * The code a speed target was set against, run in the same bench process as today's code. The
 * machine is shared, so absolute numbers from another day (or another helper's load) say little;
 * a ratio measured in one run does. Issue 12's targets are ratios to qemu-server's Perl that the
 * reviewers measured against main at BASELINE_COMMIT, so "25× Perl" on this machine is "today's
 * rate ≥ 25/16.9 × that commit's rate". The commit's src/ is exported with `git archive` into
 * .bench-baseline/ (git-ignored; inside the checkout so its imports resolve the way ours do, and
 * not under node_modules, where tsx compiles differently: that alone made identical code look
 * 10% slower) and imported through tsx; its CLI is bundled the way scripts/bundle-cli.mjs does
 * it. Without git history (a tarball or a shallow clone) the baseline is reported as unavailable.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * main when issue 12 was filed (the reviewers' measurements). CVMCTL_BENCH_BASELINE=<commit>
 * compares with another commit instead (e.g. the one before a change); the ratio-to-Perl lines
 * only mean something for the default.
 */
export const BASELINE_COMMIT = process.env.CVMCTL_BENCH_BASELINE ?? 'd497bc1';

const root = join(import.meta.dirname, '..');

/** The baseline's source tree (src/ only), extracted once; undefined without that commit. */
export function baselineDir(commit = BASELINE_COMMIT): string | undefined {
  const dir = join(root, '.bench-baseline', commit);
  if (existsSync(join(dir, 'src'))) return dir;
  try {
    execFileSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: root, stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const tar = execFileSync('git', ['archive', '--format=tar', commit, 'src'], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', partial], { input: tar });
  renameSync(partial, dir);
  return dir;
}

/** Packages the baseline's bundle left in node_modules. */
const EXTERNAL_PACKAGES = ['proper-lockfile', 'write-file-atomic'];

/** The baseline's CLI bundled into <dir>/dist/cli/main.js (built once). */
export async function baselineCli(dir: string): Promise<string> {
  const outfile = join(dir, 'dist', 'cli', 'main.js');
  if (existsSync(outfile)) return outfile;
  const { build } = await import('esbuild');
  const require = createRequire(join(root, 'package.json'));
  const gone = EXTERNAL_PACKAGES.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  await build({
    // packages the baseline loaded from node_modules but today's checkout no longer installs
    // become stubs that fail only if used (showcmd uses neither)
    plugins: [
      {
        name: 'gone-packages',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => (gone.includes(args.path) ? { path: args.path, namespace: 'gone' } : undefined));
          b.onLoad({ filter: /.*/, namespace: 'gone' }, (args) => ({
            contents: `module.exports = new Proxy({}, { get(_, key) { throw new Error(${JSON.stringify(`${args.path} is not installed`)} + ': ' + String(key)); } });`,
            loader: 'js',
          }));
        },
      },
    ],
    absWorkingDir: dir,
    entryPoints: ['src/cli/main.ts'],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: {
      js: "import { createRequire as __cvmctlCreateRequire } from 'node:module';\nconst require = __cvmctlCreateRequire(import.meta.url);",
    },
    external: EXTERNAL_PACKAGES.filter((name) => !gone.includes(name)),
    logLevel: 'warning',
  });
  return outfile;
}
