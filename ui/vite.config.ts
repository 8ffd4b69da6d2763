/**
 * @module ui/vite.config
 * Builds the web UI (ui/) into dist/ui with Vite; Preact's JSX through Vite's own transform (no
 * Babel). After the bundle is written, every text asset gets a brotli and a gzip twin that
 * `cvmctl serve` sends as they are (api/static), so nothing is compressed per request. The
 * build then prints the first load's compressed size (index.html and the scripts and styles it
 * names) and fails when it is over the budget of 250 KB.
 */

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const outDir = join(import.meta.dirname, '..', 'dist', 'ui');
const FIRST_LOAD_BUDGET = 250 * 1024;

function precompress(): Plugin {
  return {
    name: 'cvmctl-precompress',
    apply: 'build',
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json)$/.test(file)) continue;
        const data = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
      reportFirstLoad();
    },
  };
}

/** What a browser fetches on the first visit, compressed as served: the page and every asset it names. */
function reportFirstLoad(): void {
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  const files = ['index.html', ...[...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string)];
  const size = (suffix: string, ext?: string) =>
    files.filter((f) => !ext || f.endsWith(ext)).reduce((n, f) => n + statSync(join(outDir, `${f}${suffix}`)).size, 0);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `ui: first load ${kb(size('.br'))} brotli (JS ${kb(size('.br', '.js'))}, CSS ${kb(size('.br', '.css'))}), ${kb(size('.gz'))} gzip, ${kb(size(''))} raw; budget ${kb(FIRST_LOAD_BUDGET)} compressed`,
  );
  if (size('.gz') > FIRST_LOAD_BUDGET) throw new Error(`ui: the first load is ${kb(size('.gz'))} gzip, over the budget of ${kb(FIRST_LOAD_BUDGET)}`);
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false, sourcemap: false },
  plugins: [precompress()],
});
