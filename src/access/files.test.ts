/**
 * @module access/files.test
 * The state files on a real file system: 0700 directories and 0600 files (a looser directory is
 * tightened), symlinks refused wherever a file or directory of ours should be, one key when
 * creators race, no lost update among concurrent writers, and the scrypt / token digests.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectedCvmError } from '../../test/helpers/cvm-error.js';
import { accessPaths, loadOrCreateKey } from './files.js';
import { addToken, addUser, setPassword } from './manage.js';
import { hashPassword, hashTokenSecret, verifyPassword, verifyTokenSecret } from './secrets.js';
import { AccessState } from './state.js';

let base: string;
const fresh = (name: string): string => {
  const dir = join(base, name);
  mkdirSync(dir);
  return dir;
};
const mode = (path: string): number => statSync(path).mode & 0o777;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'cvmctl-access-files-'));
});
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('file modes', () => {
  it('creates access/ and priv/ 0700 and every file 0600, whatever the umask', async () => {
    const root = fresh('modes');
    const old = process.umask(0o002);
    try {
      const state = new AccessState(root);
      await addUser(state, { userid: 'alice@pve', password: 'password-1' });
      await addToken(state, 'alice@pve', 'ci');
      await state.keys();
    } finally {
      process.umask(old);
    }
    const p = accessPaths(root);
    expect(mode(p.accessDir)).toBe(0o700);
    expect(mode(p.privDir)).toBe(0o700);
    for (const file of [p.userCfg, p.shadowCfg, p.tokenCfg, p.authKey, p.csrfKey]) expect(mode(file)).toBe(0o600);
    expect(readFileSync(p.shadowCfg, 'utf8')).toMatch(/^alice@pve:\$scrypt\$ln=15,r=8,p=1\$[^:\s]+:\n$/);
    expect(readFileSync(p.tokenCfg, 'utf8')).toMatch(/^alice@pve!ci sha256:[0-9a-f]{64}\n$/);
  });

  it('creates a missing state root with the usual mode, only access/ and priv/ private', async () => {
    const root = join(base, 'new-root', 'state');
    const old = process.umask(0o022);
    try {
      await setPassword(new AccessState(root), 'root@pam', 'password-1');
    } finally {
      process.umask(old);
    }
    expect(mode(root)).toBe(0o755);
    expect(mode(accessPaths(root).privDir)).toBe(0o700);
  });

  it('tightens a priv/ directory that was left group/world readable', async () => {
    const root = fresh('loose');
    const p = accessPaths(root);
    mkdirSync(p.privDir, { mode: 0o755 });
    chmodSync(p.privDir, 0o755);
    await setPassword(new AccessState(root), 'root@pam', 'password-1');
    expect(mode(p.privDir)).toBe(0o700);
  });
});

describe('symlinks', () => {
  it('refuses to read or write user.cfg through a symlink', async () => {
    const root = fresh('link-file');
    const p = accessPaths(root);
    mkdirSync(p.accessDir, { mode: 0o700 });
    const target = join(base, 'elsewhere.cfg');
    writeFileSync(target, 'user:mallory@pve:1:0::::::\n');
    symlinkSync(target, p.userCfg);
    const state = new AccessState(root);
    expect((await rejectedCvmError(state.snapshot())).message).toBe(
      `unable to read access file '${p.userCfg}' - it is a symbolic link, not a regular file`,
    );
    expect((await rejectedCvmError(addUser(state, { userid: 'bob@pve' }))).code).toBe('IO');
    expect(readFileSync(target, 'utf8')).toBe('user:mallory@pve:1:0::::::\n');
  });

  it('refuses a symlinked priv/ directory', async () => {
    const root = fresh('link-dir');
    const outside = fresh('outside-priv');
    symlinkSync(outside, accessPaths(root).privDir);
    const state = new AccessState(root);
    expect((await rejectedCvmError(setPassword(state, 'root@pam', 'password-1'))).message).toContain('refusing to use a symbolic link');
    expect((await rejectedCvmError(state.keys())).message).toContain('refusing to use a symbolic link');
    expect(existsSync(join(outside, 'shadow.cfg'))).toBe(false);
    expect(existsSync(join(outside, 'authkey.key'))).toBe(false);
  });
});

describe('concurrency', () => {
  it('creates one key when many creators race', async () => {
    const root = fresh('keys');
    const p = accessPaths(root);
    const keys = await Promise.all(Array.from({ length: 12 }, () => loadOrCreateKey(p.authKey, p.privDir)));
    expect(keys[0]?.length).toBe(32);
    for (const k of keys) expect(k.equals(keys[0] as Buffer)).toBe(true);
  });

  it('loses no update among 20 concurrent writers with their own state objects', async () => {
    const root = fresh('writers');
    await Promise.all(Array.from({ length: 20 }, (_, i) => addUser(new AccessState(root), { userid: `u${i}@pve` })));
    const { config } = await new AccessState(root).snapshot();
    expect([...config.users.keys()].sort()).toEqual(['root@pam', ...Array.from({ length: 20 }, (_, i) => `u${i}@pve`)].sort());
  }, 60_000);
});

describe('secrets', () => {
  const fast = { ln: 10, r: 8, p: 1 };

  it('hashes passwords with salted scrypt and checks them', async () => {
    const a = await hashPassword('correct horse', fast);
    const b = await hashPassword('correct horse', fast);
    expect(a).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/);
    expect(a).not.toBe(b); // random salt
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsE', a)).toBe(false);
    expect(await verifyPassword('correct horse', undefined, fast)).toBe(false);
    expect(await verifyPassword('correct horse', '$scrypt$ln=10,r=8,p=1$AAAA$', fast)).toBe(false);
    expect(await verifyPassword('x', 'plain-text-password', fast)).toBe(false);
  });

  it('stores token secrets as SHA-256 digests', () => {
    // FIPS 180-2 test vector: SHA-256("abc")
    expect(hashTokenSecret('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const d = hashTokenSecret('0b7a1c2e-1111-4222-8333-444455556666');
    expect(verifyTokenSecret('0b7a1c2e-1111-4222-8333-444455556666', d)).toBe(true);
    expect(verifyTokenSecret('0b7a1c2e-1111-4222-8333-444455556667', d)).toBe(false);
    expect(verifyTokenSecret('x', undefined)).toBe(false);
    expect(verifyTokenSecret('x', 'sha256:short')).toBe(false);
  });
});
