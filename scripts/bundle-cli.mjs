/**
 * @module scripts/bundle-cli
 * Second step of `npm run build` (after `tsc`, which type-checks and emits dist/): bundles the
 * CLI from src/cli/main.ts with esbuild into one file, dist/cli/main.js — the file bin/cvmctl
 * runs. Node 20 has no compile cache, and resolving, reading and compiling ~100 small ES modules
 * cost a cold `cvmctl showcmd` more than 30 ms. One file costs less than that, and less than
 * esbuild's code splitting (20-odd chunks for `cvmctl start`). Code that commands import
 * lazily stays lazy: esbuild runs a bundled module's top level only when it is first imported.
 * Everything else in dist/ stays as tsc wrote it (conformance runner, tests and library users
 * import those modules).
 *
 * What keeps the bundle equivalent to the unbundled CLI:
 * - commander is the only dependency; it is bundled. The lock module (util/lock) keeps its
 *   in-process queue in module state: a process must load it once, from this bundle or from dist/.
 * - commander is CommonJS and `require`s Node built-ins, so the bundle gets a real `require`
 *   (createRequire) in scope.
 */

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const outdir = join(root, 'dist', 'cli');

// code-split chunks of earlier builds are not used any more
for (const name of readdirSync(outdir)) {
  if (/^chunk-.*\.js$/.test(name)) rmSync(join(outdir, name));
}

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: join(outdir, 'main.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: {
    js: "import { createRequire as __cvmctlCreateRequire } from 'node:module';\nconst require = __cvmctlCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
