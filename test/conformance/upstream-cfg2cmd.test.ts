/**
 * @module test/conformance/upstream-cfg2cmd
 * qemu-server 9.2.6's own 105 cfg2cmd cases, read in place from the read-only upstream
 * checkout (never copied into this repository). Skipped when the checkout is absent.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runTargets } from '../../src/conformance/runner.js';

const UPSTREAM = process.env.CVMCTL_UPSTREAM_CFG2CMD ?? '/work/upstream/qemu-server/src/test/cfg2cmd';

describe.skipIf(!existsSync(UPSTREAM))('qemu-server cfg2cmd conformance', () => {
  it('passes all upstream cases (incl. aarch64/)', async () => {
    const results = await runTargets([UPSTREAM, `${UPSTREAM}/aarch64`]);
    const failed = results.filter((r) => r.status !== 'pass').map((r) => `${r.name}: ${r.detail ?? r.status}`);
    expect(failed).toEqual([]);
    expect(results.length).toBe(105);
  });
});
