/**
 * @module cli/commands/access
 * The pveum-style commands for the API's users and permissions: `passwd`, `user
 * add|modify|delete|list`, `user token add|remove|list`, `group add|delete|list`,
 * `acl modify|delete|list` and `role list`. They edit `access/user.cfg` and `priv/` under the
 * state root (src/access), as the root's owner, who is the local administrator. Values are
 * checked by the access domain with PVE's texts; lines of user.cfg that PVE would skip are
 * reported as warnings before a command runs.
 */

import type { Command } from 'commander';
import type { AccessStore } from '../../access/store.js';
import type { UserConfig } from '../../access/user-cfg.js';
import { printJson, printWarning } from '../output.js';

async function accessState(cmd: Command): Promise<AccessStore> {
  const [{ resolveRoot }, { openAccessStore }] = await Promise.all([import('../../store/root.js'), import('../../access/store.js')]);
  const state = openAccessStore(resolveRoot(cmd.optsWithGlobals().root as string | undefined));
  for (const warning of (await state.snapshot()).warnings) printWarning(warning);
  return state;
}

async function flag(text: string | undefined, key: string): Promise<boolean | undefined> {
  if (text === undefined) return undefined;
  const { parseFlag } = await import('../../access/ids.js');
  return parseFlag(text, key);
}

async function expire(text: string | undefined, key = 'expire'): Promise<number | undefined> {
  if (text === undefined) return undefined;
  const { parseExpire } = await import('../../access/ids.js');
  return parseExpire(text, key);
}

async function list(text: string | undefined): Promise<string[] | undefined> {
  if (text === undefined) return undefined;
  const { splitList } = await import('../../access/user-cfg.js');
  return splitList(text);
}

/**
 * A `list` subcommand: the rows as JSON with `--json`, else as a table of `columns` (`table`
 * may flatten rows for it). `rows` gets the parsed user.cfg and the command's arguments.
 */
function listCommand<T extends object>(
  parent: Command,
  spec: {
    description: string;
    argument?: [string, string];
    rows: (config: UserConfig, args: string[]) => T[] | Promise<T[]>;
    columns: readonly string[];
    table?: (rows: T[]) => object[];
  },
): void {
  const list = parent.command('list').description(spec.description);
  if (spec.argument) list.argument(...spec.argument);
  list.option('--json', 'print a JSON array').action(async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = args[args.length - 2] as { json?: boolean };
    const state = await accessState(cmd);
    const rows = await spec.rows((await state.snapshot()).config, args.slice(0, -2) as string[]);
    if (opts.json) return printJson(rows);
    const { formatTable } = await import('./access-io.js');
    process.stdout.write(formatTable(spec.table ? spec.table(rows) : rows, spec.columns));
  });
}

function registerUser(program: Command): void {
  const user = program.command('user').description('API users and their tokens (like pveum user)');
  user
    .command('add')
    .description('create a user of realm pam or pve')
    .argument('<userid>', 'user@realm')
    .option('--password', 'set a password: asked twice on a terminal, else one line from stdin')
    .option('--enable <0|1>', 'enable the account (default 1)')
    .option('--expire <epoch>', 'account expiration, seconds since the epoch (0 = never)')
    .option('--firstname <text>', 'first name')
    .option('--lastname <text>', 'last name')
    .option('--email <address>', 'e-mail address')
    .option('--comment <text>', 'comment')
    .option('--groups <list>', 'groups to join (comma separated)')
    .action(async (userid: string, opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const state = await accessState(cmd);
      const { addUser } = await import('../../access/manage.js');
      const { parseLocalUserid } = await import('../../access/ids.js');
      parseLocalUserid(userid);
      const { readNewPassword } = await import('./access-io.js');
      await addUser(state, {
        userid,
        enable: await flag(opts.enable as string | undefined, 'enable'),
        expire: await expire(opts.expire as string | undefined),
        firstname: opts.firstname as string | undefined,
        lastname: opts.lastname as string | undefined,
        email: opts.email as string | undefined,
        comment: opts.comment as string | undefined,
        groups: await list(opts.groups as string | undefined),
        password: opts.password ? await readNewPassword() : undefined,
      });
    });
  user
    .command('modify')
    .description("change a user's account settings")
    .argument('<userid>', 'user@realm')
    .option('--enable <0|1>', 'enable (1) or disable (0) the account')
    .option('--expire <epoch>', 'account expiration, seconds since the epoch (0 = never)')
    .option('--firstname <text>', 'first name')
    .option('--lastname <text>', 'last name')
    .option('--email <address>', 'e-mail address')
    .option('--comment <text>', 'comment')
    .action(async (userid: string, opts: Record<string, string | undefined>, cmd: Command) => {
      const state = await accessState(cmd);
      const { modifyUser } = await import('../../access/manage.js');
      await modifyUser(state, userid, {
        enable: await flag(opts.enable, 'enable'),
        expire: await expire(opts.expire),
        firstname: opts.firstname,
        lastname: opts.lastname,
        email: opts.email,
        comment: opts.comment,
      });
    });
  user
    .command('delete')
    .description('delete a user, its password, tokens and ACL entries')
    .argument('<userid>', 'user@realm')
    .action(async (userid: string, _opts: unknown, cmd: Command) => {
      const state = await accessState(cmd);
      const { deleteUser } = await import('../../access/manage.js');
      await deleteUser(state, userid);
    });
  listCommand(user, {
    description: 'list users (with their tokens)',
    rows: async (config) => (await import('../../access/listing.js')).listUsers(config),
    columns: ['userid', 'enable', 'expire', 'email', 'groups', 'tokens', 'comment'],
    table: (users) => users.map((u) => ({ ...u, tokens: u.tokens.map((t) => t.tokenid).join(',') })),
  });
  registerToken(user);
}

function registerToken(user: Command): void {
  const token = user.command('token').description('API tokens of a user');
  token
    .command('add')
    .description('create an API token; its secret is shown once')
    .argument('<userid>', 'user@realm')
    .argument('<tokenid>', 'token name')
    .option('--privsep <0|1>', 'restrict the token with its own ACLs (1, default) or give it the full privileges of its user (0)')
    .option('--expire <epoch>', 'token expiration, seconds since the epoch (0 = never)')
    .option('--comment <text>', 'comment')
    .option('--json', 'print {full-tokenid, info, value} as JSON')
    .action(async (userid: string, tokenid: string, opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const state = await accessState(cmd);
      const { addToken } = await import('../../access/manage.js');
      const created = await addToken(state, userid, tokenid, {
        privsep: await flag(opts.privsep as string | undefined, 'privsep'),
        expire: await expire(opts.expire as string | undefined),
        comment: opts.comment as string | undefined,
      });
      if (opts.json) return printJson(created);
      process.stdout.write(`full-tokenid: ${created['full-tokenid']}\ninfo: ${JSON.stringify(created.info)}\nvalue: ${created.value}\n`);
    });
  token
    .command('remove')
    .description('remove an API token and its ACL entries')
    .argument('<userid>', 'user@realm')
    .argument('<tokenid>', 'token name')
    .action(async (userid: string, tokenid: string, _opts: unknown, cmd: Command) => {
      const state = await accessState(cmd);
      const { removeToken } = await import('../../access/manage.js');
      await removeToken(state, userid, tokenid);
    });
  listCommand(token, {
    description: "list a user's API tokens",
    argument: ['<userid>', 'user@realm'],
    rows: async (config, [userid = '']) => {
      const { parseUserid } = await import('../../access/ids.js');
      parseUserid(userid);
      if (!config.users.has(userid)) {
        const { CvmError } = await import('../../errors.js');
        throw new CvmError('PARAM_INVALID', `no such user ('${userid}')`);
      }
      return (await import('../../access/listing.js')).listTokens(config, userid);
    },
    columns: ['tokenid', 'privsep', 'expire', 'comment'],
  });
}

function registerGroup(program: Command): void {
  const group = program.command('group').description('user groups for ACLs (like pveum group)');
  group
    .command('add')
    .description('create a group')
    .argument('<groupid>', 'group name')
    .option('--comment <text>', 'comment')
    .action(async (groupid: string, opts: { comment?: string }, cmd: Command) => {
      const state = await accessState(cmd);
      const { addGroup } = await import('../../access/manage.js');
      await addGroup(state, groupid, opts.comment);
    });
  group
    .command('delete')
    .description('delete a group and its ACL entries')
    .argument('<groupid>', 'group name')
    .action(async (groupid: string, _opts: unknown, cmd: Command) => {
      const state = await accessState(cmd);
      const { deleteGroup } = await import('../../access/manage.js');
      await deleteGroup(state, groupid);
    });
  listCommand(group, {
    description: 'list groups',
    rows: async (config) => (await import('../../access/listing.js')).listGroups(config),
    columns: ['groupid', 'users', 'comment'],
  });
}

function registerAcl(program: Command): void {
  const acl = program.command('acl').description('access control lists (like pveum acl)');
  for (const verb of ['modify', 'delete'] as const) {
    acl
      .command(verb)
      .description(verb === 'modify' ? 'grant roles on a path' : 'remove granted roles from a path')
      .argument('<path>', 'ACL path: /, /vms, /vms/<vmid>, /nodes/<node>, /storage/<id>, /access, …')
      .requiredOption('--roles <list>', 'roles (comma separated)')
      .option('--users <list>', 'user ids (comma separated)')
      .option('--groups <list>', 'groups (comma separated)')
      .option('--tokens <list>', 'full token ids user@realm!name (comma separated)')
      .option('--propagate <0|1>', 'also apply below the path (default 1)')
      .action(async (path: string, opts: Record<string, string | undefined>, cmd: Command) => {
        const state = await accessState(cmd);
        const { updateAcl } = await import('../../access/manage.js');
        await updateAcl(state, {
          path,
          roles: (await list(opts.roles)) ?? [],
          users: await list(opts.users),
          groups: await list(opts.groups),
          tokens: await list(opts.tokens),
          propagate: await flag(opts.propagate, 'propagate'),
          delete: verb === 'delete',
        });
      });
  }
  listCommand(acl, {
    description: 'list ACL entries',
    rows: async (config) => (await import('../../access/listing.js')).listAcl(config),
    columns: ['path', 'type', 'ugid', 'roleid', 'propagate'],
  });
}

export function register(program: Command): void {
  program
    .command('passwd')
    .description("set a user's API password (asked twice on a terminal, else one line from stdin)")
    .argument('<userid>', 'user@realm, e.g. root@pam')
    .action(async (userid: string, _opts: unknown, cmd: Command) => {
      const state = await accessState(cmd);
      const [{ setPassword, checkPassword }, { parseLocalUserid }, { readNewPassword }] = await Promise.all([
        import('../../access/manage.js'),
        import('../../access/ids.js'),
        import('./access-io.js'),
      ]);
      parseLocalUserid(userid);
      if (!(await state.snapshot()).config.users.has(userid)) {
        const { CvmError } = await import('../../errors.js');
        throw new CvmError('PARAM_INVALID', `no such user ('${userid}')`);
      }
      const password = await readNewPassword();
      checkPassword(password);
      await setPassword(state, userid, password);
    });
  registerUser(program);
  registerGroup(program);
  registerAcl(program);
  listCommand(program.command('role').description('roles and their privileges (like pveum role)'), {
    description: 'list roles',
    rows: async (config) => (await import('../../access/listing.js')).listRoles(config),
    columns: ['roleid', 'special', 'privs'],
  });
}
