import { describe, expect, it } from 'vitest';
import { bandwidthLimit } from './bwlimit.js';
import type { StorageConfig } from './types.js';

// pve-storage's get_bandwidth_limit rules (facts): per storage `<op>` else `default`, the smallest
// applies, a request of 0 or none takes any limit, Datastore.Allocate holders override them
const storage: StorageConfig = {
  a: { type: 'dir', content: ['images'], path: '/a', bwlimit: 'move=100,default=500' },
  b: { type: 'dir', content: ['images'], path: '/b', bwlimit: 'default=50,restore=10' },
  c: { type: 'dir', content: ['images'], path: '/c' },
  bad: { type: 'dir', content: ['images'], path: '/x', bwlimit: 'move=fast' },
};
const nobody = () => false;

describe('bandwidthLimit (get_bandwidth_limit)', () => {
  it('takes the operation limit, else the default, and the smallest over all storages', async () => {
    expect(await bandwidthLimit(storage, 'move', ['a'], undefined, nobody)).toBe(100);
    expect(await bandwidthLimit(storage, 'clone', ['a'], undefined, nobody)).toBe(500);
    expect(await bandwidthLimit(storage, 'move', ['a', 'b'], undefined, nobody)).toBe(50);
    expect(await bandwidthLimit(storage, 'restore', ['b', 'c'], undefined, nobody)).toBe(10);
    expect(await bandwidthLimit(storage, 'move', ['c', 'c', undefined], undefined, nobody)).toBeUndefined();
  });

  it('a request only lowers the limit unless the caller may change the limits', async () => {
    expect(await bandwidthLimit(storage, 'move', ['a'], 40, nobody)).toBe(40);
    expect(await bandwidthLimit(storage, 'move', ['a'], 4000, nobody)).toBe(100);
    expect(await bandwidthLimit(storage, 'move', ['a'], 0, nobody)).toBe(100);
    expect(await bandwidthLimit(storage, 'move', ['c'], 0, nobody)).toBe(0);
    const asked: string[] = [];
    const onA = (path: string) => {
      asked.push(path);
      return path === '/storage/a';
    };
    // allowed on a only: b's limit still applies
    expect(await bandwidthLimit(storage, 'move', ['a', 'b'], 4000, onA)).toBe(50);
    expect(asked).toEqual(['/storage', '/storage/a', '/storage/b']);
    expect(await bandwidthLimit(storage, 'move', ['a', 'b'], 4000, (p) => p === '/storage')).toBe(4000);
    expect(await bandwidthLimit(storage, 'move', ['a', 'b'], 0, () => true)).toBe(0);
    // without a request nobody is asked
    expect(
      await bandwidthLimit(storage, 'move', ['a'], undefined, () => {
        throw new Error('asked');
      }),
    ).toBe(100);
  });

  it('names the storage of an unreadable limit', async () => {
    await expect(bandwidthLimit(storage, 'move', ['bad'], undefined, nobody)).rejects.toMatchObject({
      code: 'CONFIG_PARSE',
      message: "storage 'bad': bwlimit: move: type check ('integer') failed - got 'fast'",
    });
  });
});
