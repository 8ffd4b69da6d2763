import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../types.js';
import { currentConfig, parsePendingDelete, printPendingDelete, snapshotConfig, splitList } from './views.js';

const cfg: VmConfig = {
  vmid: 100,
  digest: 'abc',
  conf: { cores: '2', memory: '1024', tags: 'a', onboot: '0' },
  pending: { cores: '4', delete: 'tags,!onboot' },
  special: {},
  snapshots: { s1: { cores: '1', snaptime: '5' } },
};

describe('config views', () => {
  it('split_list splits on , ; and whitespace and on NUL when present', () => {
    expect(splitList(' a, b;c  d ')).toEqual(['a', 'b', 'c', 'd']);
    expect(splitList('a b\0c')).toEqual(['a b', 'c']);
    expect(splitList('')).toEqual([]);
    expect(splitList(undefined)).toEqual([]);
  });

  it('parses and prints the pending delete list (sorted, ! for force)', () => {
    const list = parsePendingDelete('tags,!onboot net0');
    expect([...list.entries()]).toEqual([
      ['tags', { force: false }],
      ['onboot', { force: true }],
      ['net0', { force: false }],
    ]);
    expect(printPendingDelete(list)).toBe('net0,!onboot,tags');
  });

  it('applies pending values and deletions unless current is asked for', () => {
    // onboot is '0' (false in Perl), so the pending deletion leaves it in place like load_current_config
    expect(currentConfig(cfg, false)).toEqual({ cores: '4', memory: '1024', onboot: '0', digest: 'abc' });
    expect(currentConfig(cfg, true)).toEqual({ cores: '2', memory: '1024', tags: 'a', onboot: '0', digest: 'abc' });
  });

  it('returns a snapshot with the file digest, or the qemu-server error', () => {
    expect(snapshotConfig(cfg, 's1')).toEqual({ cores: '1', snaptime: '5', digest: 'abc' });
    expect(() => snapshotConfig(cfg, 'nope')).toThrow("snapshot 'nope' does not exist");
    expect(() => snapshotConfig(cfg, 'constructor')).toThrow("snapshot 'constructor' does not exist");
    // a missing snapshot is a runtime failure (exit 1) as in showcmd, not an input error
    expect(() => snapshotConfig(cfg, 'nope')).toThrow(expect.objectContaining({ code: 'VM_NOT_FOUND' }));
  });
});
