/**
 * @module test/e2e/access-cli
 * End-to-end tests of the pveum-style commands through bin/cvmctl (run `npm run build` first):
 * `passwd` from stdin, then a real login with that password; `user`, `user token`, `group`,
 * `acl` and `role` with their JSON output; a token secret printed once that authenticates;
 * one-line errors with exit codes; file modes; parallel CLI processes losing no update.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccessControl } from '../../src/access/index.js';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'cvmctl');

let root: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cvmctl(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [BIN, '--root', root, ...args], {
    encoding: 'utf8',
    input: input ?? '',
    env: { ...process.env, CVMCTL_DEBUG: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function cvmctlAsync(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, '--root', root, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

function ok(r: Run): string {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** A rejected command: the exit code, one stderr line containing the texts, no stack. */
function expectRejected(r: Run, code: number, ...texts: string[]): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const t of texts) expect(r.stderr).toContain(t);
}

/**
 * Runs `cvmctl passwd USERID` on a pseudo-terminal (python3's pty module), answering each prompt;
 * returns everything the terminal showed and the exit code.
 */
function passwdOnTerminal(userid: string, answers: string[]): Run {
  const script = [
    'import os, pty, select, sys, time',
    'argv, answers = sys.argv[1:], os.environ["ANSWERS"].split("\\n")',
    'pid, fd = pty.fork()',
    'if pid == 0: os.execv(argv[0], argv)',
    'out = b""',
    'def read_until(marker, seconds):',
    '    global out',
    '    end = time.time() + seconds',
    '    while marker not in out and time.time() < end:',
    '        if select.select([fd], [], [], 0.1)[0]:',
    '            try: out += os.read(fd, 1024)',
    '            except OSError: return',
    'for prompt, answer in zip([b"Enter new password: ", b"Retype new password: "], answers):',
    '    read_until(prompt, 20)',
    '    os.write(fd, answer.encode() + b"\\r")',
    'read_until(b"\\0", 20)',
    'code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])',
    'sys.stdout.write(out.decode())',
    'sys.exit(code)',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', script, process.execPath, BIN, '--root', root, 'passwd', userid], {
    encoding: 'utf8',
    env: { ...process.env, ANSWERS: answers.join('\n') },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` before the e2e tests');
  root = mkdtempSync(join(tmpdir(), 'cvmctl-access-cli-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('cvmctl passwd', () => {
  it('reads exactly one line from stdin and the password then logs in', async () => {
    ok(cvmctl(['passwd', 'root@pam'], 'first-pass-1\nignored second line\n'));
    const access = openAccessControl(root);
    await expect(access.login({ username: 'root@pam', password: 'first-pass-1' })).resolves.toMatchObject({ username: 'root@pam' });
    await expect(access.login({ username: 'root@pam', password: 'ignored second line' })).rejects.toThrow('authentication failure');
    ok(cvmctl(['passwd', 'root@pam'], 'second-pass-2')); // last line without newline
    await expect(access.login({ username: 'root@pam', password: 'first-pass-1' })).rejects.toThrow('authentication failure');
    await expect(access.login({ username: 'root@pam', password: 'second-pass-2' })).resolves.toMatchObject({ username: 'root@pam' });
    const p = join(root, 'priv');
    expect(statSync(p).mode & 0o777).toBe(0o700);
    expect(statSync(join(p, 'shadow.cfg')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(p, 'shadow.cfg'), 'utf8')).not.toContain('second-pass-2');
  });

  it('asks twice without echo on a terminal', async () => {
    const typed = passwdOnTerminal('root@pam', ['tty-pass-123', 'tty-pass-123']);
    expect(typed.stdout.replace(/\r/g, '')).toBe('Enter new password: \nRetype new password: \n');
    expect(typed.code).toBe(0);
    await expect(openAccessControl(root).login({ username: 'root@pam', password: 'tty-pass-123' })).resolves.toMatchObject({
      username: 'root@pam',
    });
    const mismatch = passwdOnTerminal('root@pam', ['tty-pass-123', 'tty-pass-456']);
    expect(mismatch.stdout).toContain('passwords do not match');
    expect(mismatch.stdout).not.toContain('tty-pass');
    expect(mismatch.code).toBe(2);
  }, 60_000);

  it('rejects short passwords, empty input, unknown users and foreign realms in one line', () => {
    expectRejected(cvmctl(['passwd', 'root@pam'], 'short\n'), 2, 'password', '8 to 64 characters');
    expectRejected(cvmctl(['passwd', 'root@pam'], ''), 2, 'EOF while reading password');
    expectRejected(cvmctl(['passwd', 'ghost@pve'], 'long-enough-1\n'), 2, "no such user ('ghost@pve')");
    expectRejected(cvmctl(['passwd', 'x@ldap'], 'long-enough-1\n'), 2, "auth domain 'ldap' does not exist");
  });
});

describe('cvmctl user / token / acl / role', () => {
  it('adds users and lists them as JSON', () => {
    ok(cvmctl(['user', 'add', 'alice@pve', '--password', '--comment', 'ops: lead', '--email', 'alice@example.com'], 'alice-pass-1\n'));
    ok(cvmctl(['user', 'add', 'bob@pve', '--enable', '0', '--expire', '4102444800']));
    const users = JSON.parse(ok(cvmctl(['user', 'list', '--json'])));
    expect(users.map((u: { userid: string }) => u.userid)).toEqual(['alice@pve', 'bob@pve', 'root@pam']);
    expect(users[0]).toMatchObject({
      userid: 'alice@pve',
      enable: 1,
      expire: 0,
      comment: 'ops: lead',
      email: 'alice@example.com',
      tokens: [],
    });
    expect(users[1]).toMatchObject({ enable: 0, expire: 4102444800 });
    expect(readFileSync(join(root, 'access', 'user.cfg'), 'utf8')).toContain('user:alice@pve:1:0:::alice@example.com:ops%3A lead::\n');
    expectRejected(cvmctl(['user', 'add', 'alice@pve']), 2, "user 'alice@pve' already exists");
    expectRejected(cvmctl(['user', 'add', 'nobody']), 2, "'nobody'", 'user@realm');
    expectRejected(cvmctl(['user', 'add', 'c@pve', '--enable', 'yes']), 2, "enable: invalid value 'yes'", '0 or 1');
    expectRejected(cvmctl(['user', 'add', 'c@pve', '--email', 'not-mail']), 2, "email: invalid value 'not-mail'");
  });

  it('creates a token whose secret is shown once and authenticates', async () => {
    const created = JSON.parse(ok(cvmctl(['user', 'token', 'add', 'alice@pve', 'ci', '--json'])));
    expect(created['full-tokenid']).toBe('alice@pve!ci');
    expect(created.info).toEqual({ privsep: 1 });
    expect(created.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(readFileSync(join(root, 'priv', 'token.cfg'), 'utf8')).not.toContain(created.value);
    const access = openAccessControl(root);
    const identity = await access.authenticate({ method: 'POST', authorization: `PVEAPIToken=alice@pve!ci=${created.value}` });
    expect(identity).toEqual({ userid: 'alice@pve', tokenid: 'ci', authid: 'alice@pve!ci', via: 'token' });
    const text = ok(cvmctl(['user', 'token', 'add', 'alice@pve', 'full', '--privsep', '0', '--expire', '4102444800', '--comment', 'all']));
    expect(text).toMatch(
      /^full-tokenid: alice@pve!full\ninfo: \{"privsep":0,"expire":4102444800,"comment":"all"\}\nvalue: [0-9a-f-]{36}\n$/,
    );
    expect(JSON.parse(ok(cvmctl(['user', 'token', 'list', 'alice@pve', '--json'])))).toEqual([
      { tokenid: 'ci', privsep: 1, expire: 0 },
      { tokenid: 'full', privsep: 0, expire: 4102444800, comment: 'all' },
    ]);
    expectRejected(cvmctl(['user', 'token', 'add', 'alice@pve', 'ci']), 2, 'Token already exists.');
    expectRejected(cvmctl(['user', 'token', 'add', 'ghost@pve', 'ci']), 2, "no such user ('ghost@pve')");
    expectRejected(cvmctl(['user', 'token', 'remove', 'alice@pve', 'nope']), 2, "no such token 'nope' for user 'alice@pve'");
  });

  it('grants roles on paths, lists them, and the grant takes effect', async () => {
    ok(cvmctl(['acl', 'modify', '/vms', '--roles', 'PVEVMUser', '--users', 'alice@pve']));
    ok(cvmctl(['acl', 'modify', '/vms/100', '--roles', 'PVEVMAdmin,PVEAuditor', '--tokens', 'alice@pve!ci', '--propagate', '0']));
    ok(cvmctl(['group', 'add', 'ops']));
    ok(cvmctl(['acl', 'modify', '/', '--roles', 'PVEAuditor', '--groups', 'ops']));
    expect(JSON.parse(ok(cvmctl(['acl', 'list', '--json'])))).toEqual([
      { path: '/', type: 'group', ugid: 'ops', roleid: 'PVEAuditor', propagate: 1 },
      { path: '/vms', type: 'user', ugid: 'alice@pve', roleid: 'PVEVMUser', propagate: 1 },
      { path: '/vms/100', type: 'token', ugid: 'alice@pve!ci', roleid: 'PVEAuditor', propagate: 0 },
      { path: '/vms/100', type: 'token', ugid: 'alice@pve!ci', roleid: 'PVEVMAdmin', propagate: 0 },
    ]);
    const access = openAccessControl(root);
    const ci = { userid: 'alice@pve', tokenid: 'ci', authid: 'alice@pve!ci', via: 'token' } as const;
    await expect(access.check(ci, '/vms/100', ['VM.PowerMgmt'])).resolves.toBeUndefined();
    await expect(access.check(ci, '/vms/100', ['VM.Allocate'])).rejects.toThrow('Permission check failed (/vms/100, VM.Allocate)');
    ok(cvmctl(['acl', 'delete', '/vms/100', '--roles', 'PVEAuditor', '--tokens', 'alice@pve!ci']));
    expect(JSON.parse(ok(cvmctl(['acl', 'list', '--json']))).filter((e: { path: string }) => e.path === '/vms/100')).toHaveLength(1);
    expectRejected(
      cvmctl(['acl', 'modify', '/vms/abc', '--roles', 'PVEVMUser', '--users', 'alice@pve']),
      2,
      "path: invalid value '/vms/abc'",
    );
    expectRejected(cvmctl(['acl', 'modify', '/vms', '--roles', 'Bogus', '--users', 'alice@pve']), 2, "role 'Bogus' does not exist");
    expectRejected(cvmctl(['acl', 'modify', '/vms', '--roles', 'PVEVMUser', '--users', 'ghost@pve']), 2, "user 'ghost@pve' does not exist");
    expectRejected(cvmctl(['acl', 'modify', '/vms', '--roles', 'PVEVMUser']), 2, "either 'users', 'groups' or 'tokens' is required.");
  });

  it('lists roles with PVE’s privileges', () => {
    const roles = JSON.parse(ok(cvmctl(['role', 'list', '--json'])));
    const vmUser = roles.find((r: { roleid: string }) => r.roleid === 'PVEVMUser');
    expect(vmUser.special).toBe(1);
    expect(vmUser.privs.split(',')).toContain('VM.PowerMgmt');
    expect(vmUser.privs.split(',')).not.toContain('VM.Allocate');
    expect(roles.map((r: { roleid: string }) => r.roleid)).toEqual(
      expect.arrayContaining(['Administrator', 'NoAccess', 'PVEAuditor', 'PVEVMAdmin']),
    );
    expect(ok(cvmctl(['role', 'list']))).toMatch(/^roleid\s+special\s+privs\n/);
  });

  it('modifies users: a disabled user cannot log in, an empty text clears a field', async () => {
    ok(cvmctl(['user', 'modify', 'alice@pve', '--enable', '0', '--comment', '']));
    const alice = JSON.parse(ok(cvmctl(['user', 'list', '--json']))).find((u: { userid: string }) => u.userid === 'alice@pve');
    expect(alice.enable).toBe(0);
    expect(alice.comment).toBeUndefined();
    expect(alice.email).toBe('alice@example.com');
    const access = openAccessControl(root);
    await expect(access.login({ username: 'alice@pve', password: 'alice-pass-1' })).rejects.toThrow('authentication failure');
    ok(cvmctl(['user', 'modify', 'alice@pve', '--enable', '1']));
    await expect(access.login({ username: 'alice@pve', password: 'alice-pass-1' })).resolves.toMatchObject({ username: 'alice@pve' });
    expectRejected(cvmctl(['user', 'modify', 'ghost@pve', '--enable', '1']), 2, "no such user ('ghost@pve')");
  });

  it('lists and deletes groups, with their ACL entries', () => {
    ok(cvmctl(['group', 'add', 'audit', '--comment', 'read only']));
    ok(cvmctl(['user', 'add', 'carol@pve', '--groups', 'audit']));
    ok(cvmctl(['acl', 'modify', '/storage', '--roles', 'PVEAuditor', '--groups', 'audit']));
    expect(JSON.parse(ok(cvmctl(['group', 'list', '--json'])))).toEqual(
      expect.arrayContaining([{ groupid: 'audit', users: 'carol@pve', comment: 'read only' }]),
    );
    expectRejected(cvmctl(['group', 'add', 'audit']), 2, "group 'audit' already exists");
    ok(cvmctl(['group', 'delete', 'audit']));
    expect(ok(cvmctl(['acl', 'list']))).not.toContain('audit');
    expectRejected(cvmctl(['group', 'delete', 'audit']), 2, "group 'audit' does not exist");
    expectRejected(cvmctl(['user', 'add', 'dave@pve', '--groups', 'audit']), 2, "no such group 'audit'");
  });

  it('deletes a user with its tokens, password and ACL entries', async () => {
    ok(cvmctl(['user', 'delete', 'alice@pve']));
    expect(readFileSync(join(root, 'access', 'user.cfg'), 'utf8')).not.toContain('alice@pve');
    expect(readFileSync(join(root, 'priv', 'token.cfg'), 'utf8')).not.toContain('alice@pve');
    expect(readFileSync(join(root, 'priv', 'shadow.cfg'), 'utf8')).not.toContain('alice@pve');
    await expect(openAccessControl(root).login({ username: 'alice@pve', password: 'alice-pass-1' })).rejects.toThrow(
      'authentication failure',
    );
    expectRejected(cvmctl(['user', 'delete', 'alice@pve']), 2, "no such user ('alice@pve')");
    expectRejected(cvmctl(['user', 'delete', 'root@pam']), 2, 'root@pam cannot be deleted');
  });

  it('loses no update when 8 CLI processes add users at once', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => cvmctlAsync(['user', 'add', `p${i}@pve`])));
    for (const r of runs) expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    const users = JSON.parse(ok(cvmctl(['user', 'list', '--json']))).map((u: { userid: string }) => u.userid);
    for (let i = 0; i < 8; i++) expect(users).toContain(`p${i}@pve`);
  }, 60_000);
});
