/**
 * No value of a cloud-init option can change the structure of the generated YAML: random
 * ciuser, cipassword, searchdomain, nameserver-free configs and URL-encoded ssh keys full of
 * `:`, `#`, quotes, `- `, `\r`, tabs and Unicode line breaks are written, then read back with
 * PyYAML (the parser cloud-init itself uses), and every value must come back as the same string
 * under the same key, with no extra keys or list items.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nocloudNetwork } from './network.js';
import { cloudinitImage } from './files.js';
import { sshKeyLines, uriUnescape, userData } from './userdata.js';

const PYTHON = '/usr/bin/python3';
const LOADER = `
import json, sys, yaml
out = []
for doc in json.load(sys.stdin):
    try:
        out.append({"ok": yaml.safe_load(doc)})
    except Exception as e:
        out.append({"error": str(e)})
print(json.dumps(out, default=str))
`;

const special = fc.constantFrom('$(touch "$MARKER")', '`touch "$MARKER"`', ';touch "$MARKER";', '$MARKER', 
  ':',
  ': ',
  ' #',
  '#',
  "'",
  '"',
  '- ',
  '-',
  ' ',
  '\r',
  '\t',
  '\u2028',
  '\u0085',
  '{',
  '[',
  '&',
  '*',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
  '\\',
  '?',
  ',',
  '~',
  'null',
  'yes',
  '0x1F',
  '1e3',
  '=',
  '<<',
);
const ascii = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const unicode = fc.integer({ min: 0xa0, max: 0xd7ff }).map((c) => String.fromCodePoint(c));
const control = fc
  .integer({ min: 0x01, max: 0x1f })
  .filter((c) => c !== 0x0a)
  .map((c) => String.fromCharCode(c));
/** A config value: anything but a newline (a config file line cannot hold one). */
const value = fc
  .array(fc.oneof({ weight: 4, arbitrary: special }, { weight: 4, arbitrary: ascii }, unicode, control), { minLength: 1, maxLength: 12 })
  .map((p) => p.join(''));
const word = value.map((v) => v.replace(/\s/g, '')).filter((v) => v.length > 0);

function parseAll(docs: string[]): { ok?: unknown; error?: string }[] {
  const out = execFileSync(PYTHON, ['-c', LOADER], { input: JSON.stringify(docs), maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString('utf8')) as { ok?: unknown; error?: string }[];
}

const host = { nameservers: [] };

describe('generated YAML keeps its structure whatever the option values', () => {
  it('user-data: ciuser, cipassword, searchdomain and ssh keys read back verbatim', () => {
    const samples = fc.sample(
      fc.record({ ciuser: value, cipassword: value, searchdomain: word, keys: fc.array(value, { minLength: 1, maxLength: 3 }) }),
      { numRuns: 300, seed: 4242 },
    );
    const docs = samples.map((s) =>
      userData(
        { ciuser: s.ciuser, cipassword: s.cipassword, searchdomain: s.searchdomain, sshkeys: encodeURIComponent(s.keys.join('\n')) },
        300,
      ),
    );
    const parsed = parseAll(docs);
    samples.forEach((s, i) => {
      const res = parsed[i] as { ok?: Record<string, unknown>; error?: string };
      expect(res.error, docs[i]).toBeUndefined();
      const doc = res.ok as Record<string, unknown>;
      const expectedKeys = [
        'hostname',
        'manage_etc_hosts',
        'fqdn',
        'user',
        'password',
        'ssh_authorized_keys',
        'chpasswd',
        'package_upgrade',
      ];
      if (s.ciuser === 'root') expectedKeys.push('disable_root');
      else expectedKeys.push('users');
      expect(Object.keys(doc).sort(), docs[i]).toEqual(expectedKeys.sort());
      expect(doc.user, docs[i]).toBe(s.ciuser);
      expect(doc.password, docs[i]).toBe(s.cipassword);
      expect(doc.fqdn, docs[i]).toBe(`VM300.${s.searchdomain}`);
      // no non-blank key line leaves `ssh_authorized_keys:` empty (null), as qemu-server writes it
      const lines = sshKeyLines(encodeURIComponent(s.keys.join('\n')));
      expect(doc.ssh_authorized_keys, docs[i]).toEqual(lines.length > 0 ? lines : null);
      expect(doc.chpasswd, docs[i]).toEqual({ expire: false });
    });
  });

  it('network-config: search domains read back verbatim as one list entry each', () => {
    const samples = fc.sample(fc.array(word, { minLength: 1, maxLength: 3 }), { numRuns: 300, seed: 77 });
    const docs = samples.map((domains) =>
      nocloudNetwork(
        { searchdomain: domains.join(' '), net0: 'virtio=BC:24:11:00:00:01', ipconfig0: 'ip=dhcp' },
        { host, warn: () => undefined },
      ),
    );
    const parsed = parseAll(docs);
    samples.forEach((domains, i) => {
      const res = parsed[i] as { ok?: { version: number; config: Record<string, unknown>[] }; error?: string };
      expect(res.error, docs[i]).toBeUndefined();
      const config = res.ok?.config ?? [];
      expect(config.map((c) => c.type)).toEqual(['physical', 'nameserver']);
      expect(config[1], docs[i]).toEqual({ type: 'nameserver', search: domains });
    });
  });
});

describe('context.sh (opennebula) keeps shell syntax inert whatever the option values', () => {
  it('sourcing the file with sh sets USERNAME, SEARCH_DOMAIN and SSH_PUBLIC_KEY to the values and runs nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cvmctl-ctx-'));
    try {
      const samples = fc.sample(
        fc.record({ ciuser: value, searchdomain: word, keys: fc.array(value, { minLength: 1, maxLength: 3 }) }),
        { numRuns: 60, seed: 9001 },
      );
      samples.forEach((s, i) => {
        const conf = { citype: 'opennebula', ciuser: s.ciuser, searchdomain: s.searchdomain, sshkeys: encodeURIComponent(s.keys.join('\n')) };
        const text = cloudinitImage(conf, 300, { host, warn: () => undefined, custom: {} }).files['/context.sh'] as string;
        const file = join(dir, `context-${i}.sh`);
        writeFileSync(file, text);
        // a command smuggled into a value would create this file
        const marker = join(dir, `ran-${i}`);
        const out = execFileSync('/bin/sh', ['-c', '. "$1"; printf "%s\\0%s\\0%s" "$USERNAME" "$SEARCH_DOMAIN" "$SSH_PUBLIC_KEY"', 'sh', file], {
          env: { PATH: '/usr/bin:/bin', MARKER: marker },
          encoding: 'utf8',
        });
        const keys = uriUnescape(conf.sshkeys).split(/\s*\n\s*/);
        while (keys.length > 0 && keys[keys.length - 1] === '') keys.pop();
        expect(out.split('\0'), text).toEqual([s.ciuser, s.searchdomain, keys.join('\n')]);
        expect(existsSync(marker)).toBe(false);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
