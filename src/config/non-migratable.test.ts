import { describe, expect, it } from 'vitest';
import { assertNoStateBlockers } from '../snapshot/create.js';
import { nonMigratableMessage, nonMigratableResources } from './non-migratable.js';

describe('check_non_migratable_resources', () => {
  const cvm = { 'amd-sev': 'type=snp', 'intel-tdx': 'type=tdx', virtiofs0: 'dirid=share', memory: '1024' };

  it('lists SEV, TDX and virtiofs in qemu-server order, only when the state would be saved', () => {
    expect(nonMigratableResources(cvm, true)).toEqual(['amd-sev', 'intel-tdx', 'virtiofs']);
    expect(nonMigratableResources(cvm, false)).toEqual([]);
    expect(nonMigratableResources({ memory: '512', virtiofs3: '' }, true)).toEqual([]);
    expect(nonMigratableMessage(['amd-sev', 'virtiofs'])).toBe('Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: amd-sev, virtiofs');
  });

  it('refuses a snapshot with RAM of a VM with a virtiofs share, as it does one of a confidential VM', () => {
    expect(() => assertNoStateBlockers({ virtiofs0: 'dirid=share' }, true)).toThrow(
      'Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: virtiofs',
    );
    expect(() => assertNoStateBlockers({ virtiofs0: 'dirid=share' }, false)).not.toThrow();
  });
});
