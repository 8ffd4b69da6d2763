import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CvmError } from '../../errors.js';
import { parseVmConfig } from './parse.js';

const FN = '/etc/pve/qemu-server/123.conf';
const parse = (raw: string | Uint8Array, strict = false) => {
  const warnings: string[] = [];
  const config = parseVmConfig(FN, raw, { strict, warn: (m) => warnings.push(m) });
  return { config, warnings };
};
const strictError = (raw: string): string => {
  try {
    parseVmConfig(FN, raw, { strict: true });
  } catch (err) {
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).code).toBe('CONFIG_PARSE');
    return (err as Error).message;
  }
  throw new Error('expected a strict parse error');
};

describe('parseVmConfig', () => {
  it('takes the vmid from the file name and rejects strange names', () => {
    expect(parse('cores: 1\n').config.vmid).toBe(123);
    expect(() => parseVmConfig('/etc/pve/qemu/123.conf', '', { strict: false })).toThrow("got strange filename '/etc/pve/qemu/123.conf'");
    expect(() => parseVmConfig('qemu-server/123.conf', '', { strict: false })).toThrow(/got strange filename/);
  });

  it('digests the whole raw file with SHA-1, string or bytes alike', () => {
    const raw = 'cores: 1\n\n[snap]\n# café\ncores: 2\n';
    const sha = createHash('sha1').update(Buffer.from(raw, 'utf8')).digest('hex');
    expect(parse(raw).config.digest).toBe(sha);
    expect(parse(Buffer.from(raw, 'utf8')).config.digest).toBe(sha);
    expect(parse(Buffer.from(raw, 'utf8')).config.snapshots.snap?.description).toBe(' café');
  });

  it('accepts CRLF line ends and trims values like qemu-server', () => {
    const { config, warnings } = parse('cores: 2 \r\nname: web\r\n\r\n');
    expect(warnings).toEqual([]);
    expect(config.conf).toEqual({ cores: '2', name: 'web' });
  });

  it('rejects a CR inside a value (check_type line feed rule)', () => {
    expect(strictError('name: a\rb\n')).toBe("vm 123 - unable to parse value of 'name' - property contains a line feed");
  });

  it('joins comments anywhere in a section into one description and keeps leading spaces', () => {
    const { config } = parse('# first\ncores: 1\n#  second  \n');
    expect(config.conf.description).toBe(' first\n  second');
  });

  it('keeps snapstate in snapshots but never at the top level', () => {
    const { config } = parse('snapstate: prepare\ncores: 1\n\n[s1]\nsnapstate: delete\ncores: 1\n');
    expect(config.conf).toEqual({ cores: '1' });
    expect(config.snapshots.s1).toEqual({ snapstate: 'delete', cores: '1' });
  });

  it('stores args verbatim and special:cloudinit values unvalidated', () => {
    const { config, warnings } = parse('args: -cpu "host" \n\n[special:cloudinit]\ncores: lots\n');
    expect(warnings).toEqual([]);
    expect(config.conf.args).toBe('-cpu "host"');
    expect(config.special.cloudinit).toEqual({ cores: 'lots' });
  });

  it('matches section headers case-insensitively, but an odd-case special name has no schema', () => {
    const { config, warnings } = parse('[pending]\ncores: 2\n\n[Special:Fleecing]\nfleecing-images: a:b\n');
    expect(config.pending).toEqual({ cores: '2' });
    expect(config.special.Fleecing).toEqual({});
    expect(warnings).toEqual(["vm 123 - unable to parse value of 'fleecing-images' - check_type: no schema defined"]);
  });

  it('validates [special:fleecing] against its own one-key schema', () => {
    const { config, warnings } = parse('[special:fleecing]\nfleecing-images: local:vm-123-fleece-0\ncores: 1\n');
    expect(config.special.fleecing).toEqual({ 'fleecing-images': 'local:vm-123-fleece-0' });
    expect(warnings).toEqual(["vm 123 - unable to parse value of 'cores' - unknown setting 'cores'"]);
  });

  it('reports unknown keys, never resolving Object.prototype members', () => {
    expect(strictError('foo: 1\n')).toBe("vm 123 - unable to parse value of 'foo' - unknown setting 'foo'");
    expect(strictError('constructor: x\n')).toBe("vm 123 - unable to parse value of 'constructor' - unknown setting 'constructor'");
  });

  it('reports lines that are no key/value pair', () => {
    expect(strictError('Cores: 1\n')).toBe('vm 123 - unable to parse config: Cores: 1');
    expect(strictError('description:\n')).toBe('vm 123 - unable to parse config: description:');
  });

  it('renames cdrom to ide2', () => {
    expect(parse('cdrom: local:iso/x.iso,media=cdrom\n').config.conf).toEqual({ ide2: 'local:iso/x.iso,media=cdrom' });
  });

  it('always returns a pending section', () => {
    expect(parse('').config).toMatchObject({ conf: {}, pending: {}, special: {}, snapshots: {} });
  });
});

// The key/value split is written out instead of qemu-server's regex; these pin the regex's corners.
describe("parseVmConfig key/value lines: the corners of qemu-server's `key: value` regex", () => {
  it('a value of only whitespace is its last character (the regex backtracks to give .+? one)', () => {
    expect(strictError('cores:  \t')).toBe("vm 123 - unable to parse value of 'cores' - type check ('integer') failed - got '\t'");
    expect(strictError('cores: \f')).toBe("vm 123 - unable to parse value of 'cores' - type check ('integer') failed - got '\f'");
  });

  it('an empty value, a bad key or no colon is no key/value line', () => {
    expect(strictError('cores:')).toBe('vm 123 - unable to parse config: cores:');
    expect(strictError('net0x1: a')).toBe('vm 123 - unable to parse config: net0x1: a');
    expect(strictError('_cores: 1')).toBe('vm 123 - unable to parse config: _cores: 1');
    expect(strictError('cores 1')).toBe('vm 123 - unable to parse config: cores 1');
  });

  it('splits at the first colon and trims ASCII whitespace only', () => {
    expect(parse('name:\u00a0web').warnings).toEqual([
      "vm 123 - unable to parse value of 'name' - value does not look like a valid DNS name",
    ]);
    expect(parse('cores:\v\t 4 \f\r').config.conf).toEqual({ cores: '4' });
    expect(parse('args: a:b:c ').config.conf).toEqual({ args: 'a:b:c' });
  });
});
