/**
 * @module access/user-cfg.test
 * user.cfg in PVE's format: a file as PVE writes it is read and written back byte for byte,
 * free text survives percent-encoding, invalid lines are skipped with PVE's warnings, and
 * generated configs round-trip (property test).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeText, encodeText, parseUserConfig, serializeUserConfig, splitList } from './user-cfg.js';

// the layout pve-access-control's write_user_config produces (blank line after each section)
const PVE_WRITTEN = `user:alice@pve:1:0:Alice:Smith:alice@example.com:ops%3A team lead::
token:alice@pve!ci:1893456000:1:CI runner:
token:alice@pve!full:0:0::
user:bob@pam:0:1700000000::::::
user:root@pam:1:0:::root@example.com:::

group:admins:alice@pve,bob@pam:the admins:

pool:prod:production:100,101:local:

role:VMStarter:VM.Audit,VM.PowerMgmt:

acl:1:/:@admins:PVEAuditor:
acl:1:/vms:alice@pve:PVEVMAdmin:
acl:0:/vms/100:alice@pve!ci,bob@pam:PVEVMUser:
acl:1:/vms/100:alice@pve:NoAccess,VMStarter:
acl:1:/vms/101:alice@pve!ci:PVEVMUser:
`;

describe('user.cfg', () => {
  it('reads a PVE-written file and writes it back unchanged', () => {
    const { config, warnings } = parseUserConfig(PVE_WRITTEN);
    expect(warnings).toEqual([]);
    expect(config.users.get('alice@pve')).toMatchObject({ enable: true, firstname: 'Alice', comment: 'ops: team lead' });
    expect(config.users.get('alice@pve')?.tokens.get('ci')).toEqual({ privsep: true, expire: 1893456000, comment: 'CI runner' });
    expect(config.users.get('bob@pam')).toMatchObject({ enable: false, expire: 1700000000 });
    expect(config.acl.get('/vms/100')?.users.get('alice@pve')).toEqual(
      new Map([
        ['NoAccess', true],
        ['VMStarter', true],
      ]),
    );
    expect(serializeUserConfig(config)).toBe(PVE_WRITTEN);
  });

  it('adds root@pam when missing and never writes root@pam ACL entries', () => {
    const { config } = parseUserConfig('acl:1:/vms:root@pam:PVEAuditor:\n');
    expect(config.users.get('root@pam')).toMatchObject({ enable: true, expire: 0 });
    expect(serializeUserConfig(config)).toBe('user:root@pam:1:0::::::\n\n\n\n\n');
  });

  it('skips invalid lines with PVE’s warnings', () => {
    const { config, warnings } = parseUserConfig(
      [
        'user:no-realm:1:0::::::',
        'user:eve@pve:1:soon::::::',
        'token:ghost@pve!t1:0:1::',
        'role:Bad Role:VM.Audit:',
        'role:R1:VM.Audit,VM.Nope:',
        'acl:1:/vms:nobody@pve:Missing:',
        'acl:1:/vms:root@pam!nope:PVEAuditor:',
        'something:else',
      ].join('\n'),
    );
    expect(warnings).toEqual([
      "user config - ignore user 'no-realm' - invalid user name",
      "user config - ignore user 'eve@pve' - (illegal characters in expire 'soon')",
      "user config - ignore token 'ghost@pve!t1' - user does not exist",
      "user config - ignore role 'Bad Role' - invalid characters in role name",
      "user config - ignore invalid privilege 'VM.Nope'",
      "user config - ignore invalid acl role 'Missing'",
      "user config - ignore invalid acl token 'root@pam!nope'",
      'user config - ignore config line: something:else',
    ]);
    expect([...(config.roles.get('R1') ?? [])]).toEqual(['VM.Audit']);
  });

  it('splits lists like PVE and encodes text like encode_text', () => {
    expect(splitList(' a, b;c  d ')).toEqual(['a', 'b', 'c', 'd']);
    expect(splitList('a b\0c')).toEqual(['a b', 'c']);
    expect(encodeText('50%: ü\n')).toBe('50%25%3A %C3%BC%0A');
  });

  it('round-trips free text and generated configs (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        expect(decodeText(encodeText(text))).toBe(text);
        expect(encodeText(text)).not.toMatch(/[:\n\r]/);
      }),
    );
    const name = fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/);
    const userid = fc.tuple(name, fc.constantFrom('pam', 'pve')).map(([n, r]) => `${n}@${r}`);
    // PVE trims each field, so a comment cannot keep leading or trailing spaces
    const comment = fc.option(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((c) => !/^ | $/.test(c)),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(userid, fc.boolean(), fc.nat(), comment, fc.uniqueArray(name, { maxLength: 3 })), {
          selector: (u) => u[0],
          maxLength: 5,
        }),
        (users) => {
          let text = '';
          for (const [id, enable, expire, c, tokens] of users) {
            text += `user:${id}:${enable ? 1 : 0}:${expire}::::${c ? encodeText(c) : ''}::\n`;
            for (const t of tokens) if (t.length >= 2) text += `token:${id}!${t}:0:1::\n`;
            text += `acl:${expire % 2}:/vms/${100 + (expire % 50)}:${id}:PVEVMUser:\n`;
          }
          const once = serializeUserConfig(parseUserConfig(text).config);
          const parsed = parseUserConfig(once);
          expect(parsed.warnings).toEqual([]);
          expect(serializeUserConfig(parsed.config)).toBe(once);
          for (const [id, enable, expire, c] of users) {
            expect(parsed.config.users.get(id)).toMatchObject({ enable, expire, comment: c });
          }
        },
      ),
    );
  });
});
