/**
 * @module scripts/dist-fresh
 * Decides whether tsc's output in dist/ still matches src/, so `npm run conformance` can skip a
 * 5-10 s build when nothing changed. tsc writes one .js per non-test .ts and every build
 * rewrites them all, so dist/ is fresh when each source has its .js and that .js is no older
 * than the source or than the build's own inputs (tsconfig files, package-lock.json). Comparing
 * file by file (not "newest source vs one stamp") also catches a source saved while a build ran.
 */

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Files whose change changes every output. */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/**
 * The first reason dist/ under `root` is out of date (a path relative to root and why), or
 * undefined when every source has an output at least as new as it and as the build inputs.
 */
export function staleReason(root) {
  const inputsTime = Math.max(0, ...BUILD_INPUTS.map((f) => mtimeMs(join(root, f)) ?? 0));
  const srcDir = join(root, 'src');
  for (const src of sources(srcDir)) {
    const rel = relative(srcDir, src);
    const out = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
    const outTime = mtimeMs(out);
    if (outTime === undefined) return `dist/${relative(join(root, 'dist'), out)} missing`;
    if (outTime < mtimeMs(src)) return `src/${rel} changed`;
    if (outTime < inputsTime) return 'build configuration changed';
  }
  return undefined;
}
