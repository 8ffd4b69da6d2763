/**
 * @module schema/perl-oracle.test
 * Differential test against the real PVE::JSONSchema (pve-common checkout, run with the system
 * perl and tiny stand-ins for the CPAN modules it imports but these code paths never use).
 * Skipped when perl, its JSON module or the checkout (PVE_COMMON_SRC, default
 * /work/upstream/pve-common/src) is not available.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isCvmError } from '../errors.js';
import { checkFormat, generateTypetext, parsePropertyString, printPropertyString } from './index.js';
import { netFormat, sevFormat, tdxFormat } from './test-support/formats.js';
import type { FormatSchema } from './types.js';

const PVE_COMMON = process.env.PVE_COMMON_SRC ?? '/work/upstream/pve-common/src';
const perlOk = spawnSync('perl', ['-MJSON', '-e', '1']).status === 0;
const available = perlOk && existsSync(join(PVE_COMMON, 'PVE/JSONSchema.pm'));

const STUBS: Record<string, string> = {
  'Encode/Locale.pm': 'package Encode::Locale; 1;\n',
  'Devel/Cycle.pm': "package Devel::Cycle; sub import { no strict 'refs'; *{caller().'::find_cycle'} = sub {}; } 1;\n",
  'HTTP/Status.pm': `package HTTP::Status; use base 'Exporter';
use constant { HTTP_BAD_REQUEST => 400, HTTP_FORBIDDEN => 403, HTTP_INTERNAL_SERVER_ERROR => 500,
  HTTP_NOT_IMPLEMENTED => 501, HTTP_UNAUTHORIZED => 401, HTTP_OK => 200, HTTP_NOT_FOUND => 404 };
our @EXPORT_OK = qw(HTTP_BAD_REQUEST HTTP_FORBIDDEN HTTP_INTERNAL_SERVER_ERROR HTTP_NOT_IMPLEMENTED
  HTTP_UNAUTHORIZED HTTP_OK HTTP_NOT_FOUND);
our %EXPORT_TAGS = (constants => \\@EXPORT_OK); 1;
`,
  'Net/IP.pm': "package Net::IP; use base 'Exporter'; our @EXPORT_OK = (); our %EXPORT_TAGS = (PROC => []); 1;\n",
  'URI/Escape.pm': `package URI::Escape; use base 'Exporter'; our @EXPORT = qw(uri_escape uri_unescape);
sub uri_escape { my ($s, $u) = @_; $s =~ s/([$u])/sprintf('%%%02X', ord($1))/ge; $s }
sub uri_unescape { my $s = shift; $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; $s } 1;
`,
};

const DRIVER = `use strict; use warnings; use JSON; use PVE::JSONSchema;
local $SIG{__WARN__} = sub {};
my $json = JSON->new->canonical->allow_nonref;
while (my $line = <STDIN>) {
  my $req = $json->decode($line); my $out;
  if ($req->{op} eq 'parse') {
    my $r = eval { PVE::JSONSchema::parse_property_string($req->{format}, $req->{value}) };
    if (my $err = $@) { $out = (ref($err) && $err->{errors}) ? { errors => $err->{errors} } : { die => "$err" } }
    else { $out = { ok => { map { $_ => "$r->{$_}" } keys %$r } } }
  } elsif ($req->{op} eq 'format') {
    eval { PVE::JSONSchema::check_format($req->{format}, $req->{value}) };
    $out = $@ ? { die => "$@" } : { ok => 1 };
  } elsif ($req->{op} eq 'print') {
    my $r = eval { PVE::JSONSchema::print_property_string($req->{values}, $req->{format}) };
    $out = $@ ? { die => "$@" } : { ok => $r };
  } else { $out = { ok => PVE::JSONSchema::generate_typetext($req->{format}) } }
  print $json->encode($out), "\\n";
}
`;

let workDir: string | undefined;
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

type Answer = { ok?: unknown; errors?: Record<string, string>; die?: string };

function askPerl(requests: object[]): Answer[] {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), 'cvmctl-pve-oracle-'));
    for (const [path, text] of Object.entries(STUBS)) {
      mkdirSync(join(workDir, path, '..'), { recursive: true });
      writeFileSync(join(workDir, path), text);
    }
    writeFileSync(join(workDir, 'driver.pl'), DRIVER);
  }
  const proc = spawnSync('perl', ['-I', workDir, '-I', PVE_COMMON, join(workDir, 'driver.pl')], {
    input: `${requests.map((r) => JSON.stringify(r)).join('\n')}\n`,
    maxBuffer: 1 << 28,
  });
  const lines = proc.stdout.toString().trim().split('\n');
  expect(lines.length, proc.stderr.toString().slice(0, 500)).toBe(requests.length);
  return lines.map((l) => JSON.parse(l) as Answer);
}

/** Our answer in the oracle's shape. */
function ours(fn: () => unknown, collectErrors: boolean): Answer {
  try {
    return { ok: fn() };
  } catch (err) {
    if (!isCvmError(err)) return { die: `NOT A CvmError: ${String(err)}` };
    const errors = err.details?.errors as Record<string, string> | undefined;
    if (collectErrors && errors) return { errors };
    return { die: err.message };
  }
}

function sameAnswer(perl: Answer, mine: Answer, typed: boolean): boolean {
  if (perl.ok !== undefined && mine.ok !== undefined) {
    if (!typed) return true;
    const want = perl.ok as Record<string, string>;
    const got = mine.ok as Record<string, string | number>;
    const keys = Object.keys(want).sort();
    if (JSON.stringify(keys) !== JSON.stringify(Object.keys(got).sort())) return false;
    return keys.every((k) => (typeof got[k] === 'number' ? Number(want[k]) === got[k] : want[k] === got[k]));
  }
  if (perl.errors && mine.errors) {
    const sorted = (e: Record<string, string>) => JSON.stringify(Object.entries(e).sort());
    return sorted(perl.errors) === sorted(mine.errors);
  }
  if (perl.die !== undefined && mine.die !== undefined) return perl.die.replace(/\n$/, '') === mine.die;
  return false;
}

const miscFormat: FormatSchema = {
  file: { type: 'string', format: 'pve-tag-list', default_key: true, optional: true },
  volume: { type: 'string', alias: 'file' },
  size: { type: 'string', format: 'disk-size', optional: true },
  ip: { type: 'string', format: 'CIDR', optional: true, requires: 'gw' },
  gw: { type: 'string', format: 'ipv4', optional: true },
  gw6: { type: 'string', format: 'ipv6', optional: true },
  name: { type: 'string', format: 'dns-name', optional: true, maxLength: 10 },
  id: { type: 'string', format: 'pve-configid', optional: true, minLength: 3 },
  st: { type: 'string', format: 'pve-storage-id', optional: true },
  up: { type: 'string', format: 'pve-startup-order', optional: true },
  v: { type: 'string', format: 'pve-vlan-id-or-range', optional: true },
  u: { type: 'string', format: 'urlencoded', optional: true },
  addr: { type: 'string', format: 'address', optional: true },
  mail: { type: 'string', format: 'email', optional: true },
  mask: { type: 'string', format: 'ipv4mask', optional: true },
  vm: { type: 'string', format: 'pve-vmid', optional: true },
  sp: { type: 'string', format: 'storage-pair', optional: true },
  num: { type: 'number', optional: true, maximum: 10 },
};

const vocabulary: [string, FormatSchema, string[]][] = [
  ['sev', sevFormat, ['std', 'es', 'snp', 'STD', ' std', 'yes', 'On', 'FALSE', '2', '0', '1', 'foo', '']],
  ['tdx', tdxFormat, ['tdx', '1', '0', '+5', '-3', '1.', '007', 'x', '2', '']],
  ['net', netFormat, ['BC:24:11:00:00:01', '01:00:00:00:00:00', 'vmbr0', 'vm br0', '1;2-4', '5000', '1e3', 'on', '']],
  [
    'misc',
    miscFormat,
    [
      'a b',
      'a;b',
      'x:y',
      'local-lvm',
      '10.0.0.1/24',
      '10.0.0.1',
      '::1',
      'fe80::1/64',
      '1.2.3.4/7',
      'a.b',
      '32G',
      '1.5T',
      'order=1',
      '2-4094',
      '5-3',
      '%41',
      'a@b.c',
      '255.255.0.0',
      '100',
      '0',
      '1e1',
      '',
    ],
  ],
];

function requestsFor(format: FormatSchema, extra: string[], seed: number, count: number): string[] {
  const words = [...Object.keys(format), ...extra];
  const word = fc.constantFrom(...words);
  const part = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(word, word).map(([k, v]) => `${k}=${v}`) },
    { weight: 3, arbitrary: word },
    { weight: 1, arbitrary: word.map((k) => `${k}=`) },
  );
  return fc.sample(
    fc.array(part, { minLength: 1, maxLength: 4 }).map((p) => p.join(',')),
    { seed, numRuns: count },
  );
}

describe.skipIf(!available)('differential against PVE::JSONSchema (perl)', () => {
  it('parse_property_string: same values, same collected errors, same dies', () => {
    const cases = vocabulary.flatMap(([, format, extra], i) =>
      requestsFor(format, extra, 4242 + i, 600).map((value) => ({ format, value })),
    );
    const answers = askPerl(cases.map((c) => ({ op: 'parse', format: c.format, value: c.value })));
    const mismatches = cases
      .map((c, i) => ({ value: c.value, perl: answers[i] as Answer, ours: ours(() => parsePropertyString(c.format, c.value), true) }))
      .filter((r) => !sameAnswer(r.perl, r.ours, true));
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('check_format for every common named format', () => {
    const names = [
      'mac-addr',
      'ipv4',
      'ipv6',
      'ip',
      'CIDR',
      'CIDRv4',
      'CIDRv6',
      'ipv4mask',
      'dns-name',
      'address',
      'pve-bridge-id',
      'pve-iface',
      'pve-vlan-id-or-range',
      'pve-configid',
      'pve-storage-id',
      'pve-vmid',
      'pve-node',
      'pve-tag',
      'pve-tag-list',
      'pve-startup-order',
      'disk-size',
      'urlencoded',
      'email',
      'email-or-username',
      'pve-ipv4-config',
      'pve-ipv6-config',
      'storage-pair',
      'storage-pair-list',
      'bridge-pair',
      'pve-configid-list',
      'pve-storage-id-opt',
    ];
    const samples = [
      '',
      '0',
      '1',
      'a',
      'ab',
      'a-',
      'A.b-c',
      '1a',
      'vmbr0',
      'eth0:1',
      'ab:cd',
      'x:y z:w',
      '1 a:b',
      'a:b a:c',
      'a;b,c',
      ' a',
      '::',
      '::1',
      '1::',
      '1:2:3:4:5:6:7::',
      '::ffff:1.2.3.4',
      '2001:db8::/7',
      '10.0.0.0/8',
      '10.0.0.0/33',
      '256.1.1.1',
      '01.1.1.1',
      '255.255.255.254',
      '255.255.254.255',
      'AA:BB:CC:DD:EE:FF',
      'a1:bb:cc:dd:ee:ff',
      '99',
      '999999999',
      'order=1,up=2,down=3',
      'up=x',
      ',',
      '1.5',
      '3KiB',
      '4Mi',
      '2-4094',
      '5-5',
      '2-0',
      '%2F',
      'a@b.c',
      'dhcp',
      'auto',
      '-foo',
      'a..b',
      'ab\n',
      'a\nb',
      'x'.repeat(25),
    ];
    const cases = names.flatMap((format) => samples.map((value) => ({ format, value })));
    const answers = askPerl(cases.map((c) => ({ op: 'format', ...c })));
    const mismatches = cases
      .map((c, i) => ({
        ...c,
        perl: answers[i] as Answer,
        ours: ours(() => {
          checkFormat(c.format, c.value);
          return 1;
        }, false),
      }))
      .filter((r) => !sameAnswer(r.perl, r.ours, false));
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('print_property_string and generate_typetext', () => {
    const prints: [FormatSchema, Record<string, string | number>][] = [
      [netFormat, { model: 'virtio', macaddr: 'BC:24:11:00:00:01', bridge: 'vmbr0', firewall: 1 }],
      [netFormat, { model: 'e1000', bridge: 'vmbr0', tag: 5, rate: 1.5 }],
      [sevFormat, { type: 'snp', 'no-debug': 1, 'allow-smt': 0, 'kernel-hashes': 1 }],
      [tdxFormat, { 'vsock-port': 4050, type: 'tdx', attestation: 1 }],
      // sizes as numbers: for a string PVE prints int("1.5G") = 1, we print its parsed size (documented)
      [miscFormat, { volume: 'a b', size: 1610612736, num: 3 }],
    ];
    // misc has plain string keys without format_description, for which PVE's typetext dies
    const typetextFormats = [sevFormat, tdxFormat, netFormat];
    const answers = askPerl([
      ...prints.map(([format, values]) => ({
        op: 'print',
        format,
        values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)])),
      })),
      ...typetextFormats.map((format) => ({ op: 'typetext', format })),
    ]);
    prints.forEach(([format, values], i) => {
      expect(printPropertyString(format, values)).toBe((answers[i] as Answer).ok);
    });
    typetextFormats.forEach((format, i) => {
      expect(generateTypetext(format)).toBe((answers[prints.length + i] as Answer).ok);
    });
  });
});
