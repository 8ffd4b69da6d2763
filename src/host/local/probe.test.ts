import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeLocalHost } from './probe.js';

const hasQemu = existsSync('/usr/bin/qemu-system-x86_64');

describe.skipIf(!hasQemu)(`probeLocalHost on this machine${hasQemu ? '' : ' (skipped: qemu-system-x86_64 is not installed)'}`, () => {
  it('describes stock QEMU with runtime paths under the root and caches the machine list', async () => {
    const root = mkdtempSync(join(tmpdir(), 'probe-'));
    try {
      const facts = await probeLocalHost(root);
      expect(facts.profile).toBe('local');
      expect(facts.flavor).toBe('local');
      expect(facts.qemuInstalledVersion).toMatch(/^\d+\.\d+\.\d+$/);
      expect(facts.qemuVersion).toBe(facts.qemuInstalledVersion);
      expect(facts.qemuMachineTypes).toContain('none');
      expect(facts.qemuMachineTypes?.some((m) => /^pc-q35-\d+\.\d+$/.test(m))).toBe(true);
      expect(facts.paths).toMatchObject({
        runDir: join(root, 'run'),
        efivarsDir: join(root, 'run', 'efidisk'),
        qmeventdSocket: null,
        bootSplash: null,
        readconfigDir: null,
        bridgeScript: null,
      });
      expect(facts.paths.kvmBinary).toMatch(/qemu-system-x86_64$/);
      expect(facts.storage.local).toMatchObject({ type: 'dir', path: root });
      expect(facts.firmware.kind).toBe('descriptors');
      expect(facts.cpuCount).toBeGreaterThan(0);
      expect(typeof facts.kvmAvailable).toBe('boolean');
      expect(readdirSync(join(root, 'cache')).filter((n) => /^qemu-[0-9a-f]{16}\.json$/.test(n))).toHaveLength(1);
      // second probe: served from the cache, same answer
      const again = await probeLocalHost(root);
      expect(again.qemuMachineTypes).toEqual(facts.qemuMachineTypes);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
