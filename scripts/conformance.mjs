/**
 * @module scripts/conformance
 * `npm run conformance -- <dir|file.conf>…`: builds only when dist/ is older than src/ (see
 * dist-fresh.mjs), then runs the compiled runner, dist/conformance/main.js, in this process
 * (same arguments, same exit code). A fresh run of qemu-server's 105 cases takes about 0.3 s instead of
 * a build's 5-10 s.
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { staleReason } from './dist-fresh.mjs';

const root = join(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const reason = staleReason(root);
if (reason !== undefined) {
  process.stderr.write(`conformance: building (${reason})\n`);
  const build = spawnSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 2);
}
// same process: the runner reads process.argv.slice(2), which are this script's arguments too
await import(pathToFileURL(join(root, 'dist', 'conformance', 'main.js')).href);
