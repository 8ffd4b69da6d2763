/**
 * @module conformance/main
 * `npm run conformance -- <dir|file.conf>…`: runs cfg2cmd cases (qemu-server's own or ours)
 * against the generator, prints `PASS`/`FAIL`/`SKIP <name>`, a unified diff or the error per
 * failure, then `N passed, M failed[, K skipped]`; exits 1 when any case failed.
 */

import { runTargets } from './runner.js';

async function main(argv: string[]): Promise<number> {
  const targets = argv.filter((a) => a !== '--');
  if (!targets.length) {
    process.stderr.write('usage: npm run conformance -- <dir|file.conf>...\n');
    return 2;
  }
  const results = await runTargets(targets);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const r of results) {
    if (r.status === 'pass') passed++;
    else if (r.status === 'fail') failed++;
    else skipped++;
    process.stdout.write(`${r.status.toUpperCase()} ${r.name}\n`);
    if (r.detail && r.status !== 'pass') process.stdout.write(`${r.detail.replace(/^/gm, '    ')}\n`);
  }
  process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`conformance: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
