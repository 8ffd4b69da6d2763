/**
 * @module schema/typetext.test
 * generate_typetext / schema_get_type_text against the spec's amd-sev and intel-tdx lines, and the
 * short describeAllowed phrases.
 */
import { describe, expect, it } from 'vitest';
import { describeAllowed, generateTypetext, registerFormat, schemaTypeText, typetext } from './index.js';
import { driveFormat, netFormat, sevFormat, tdxFormat } from './test-support/formats.js';

describe('typetext (generate_typetext)', () => {
  it('amd-sev (spec §1.1)', () => {
    expect(typetext(sevFormat)).toBe(
      '[type=]<sev-type> [,allow-smt=<1|0>] [,kernel-hashes=<1|0>] [,no-debug=<1|0>] [,no-key-sharing=<1|0>]',
    );
  });

  it('intel-tdx (spec §1.3): required keys without brackets, right after the default key', () => {
    expect(typetext(tdxFormat)).toBe('[type=]<tdx-type> ,attestation=<1|0> [,vsock-cid=<integer>] [,vsock-port=<integer>]');
  });

  it('hides aliases, lists small enums, appends keyAlias pairs', () => {
    expect(typetext(netFormat)).toBe(
      '[model=]<enum> [,bridge=<bridge>] [,firewall=<1|0>] [,macaddr=<XX:XX:XX:XX:XX:XX>] [,rate=<number>] ' +
        '[,tag=<integer>] [,trunks=<vlanid[;vlanid...]>] [,<model>=<macaddr>]',
    );
    expect(typetext(driveFormat)).toContain('[file=]<volume> [,aio=<native|threads|io_uring>] [,cache=<enum>]');
    expect(generateTypetext(driveFormat, true)).toContain('[,cache=<none|writethrough|writeback|unsafe|directsync>]');
  });

  it('of a single option (schema_get_type_text)', () => {
    expect(typetext({ type: 'string', format: sevFormat })).toBe(typetext(sevFormat));
    registerFormat('test-tdx-named', tdxFormat);
    expect(typetext({ type: 'string', format: 'test-tdx-named' })).toBe(typetext(tdxFormat));
    expect(typetext({ type: 'integer', minimum: 16 })).toBe('<integer> (16 - N)');
    expect(typetext({ type: 'integer', minimum: 1, maximum: 512 })).toBe('<integer> (1 - 512)');
    expect(typetext({ type: 'number', maximum: 8 })).toBe('<number> (-N - 8)');
    expect(typetext({ type: 'string', enum: ['snp', 'es', 'std'] })).toBe('<es | snp | std>');
    expect(typetext({ type: 'string', pattern: '[acdn]{1,4}' })).toBe('[acdn]{1,4}');
    expect(typetext({ type: 'boolean' })).toBe('<boolean>');
    expect(schemaTypeText({ type: 'string', format: 'pve-volume-id' })).toBe('<string>');
    expect(typetext({ type: 'string', typetext: '<custom>' })).toBe('<custom>');
  });
});

describe('describeAllowed', () => {
  it('gives a short phrase per kind of schema', () => {
    expect(describeAllowed({ type: 'string', enum: ['std', 'es', 'snp'] })).toBe('one of std, es, snp');
    expect(describeAllowed({ type: 'integer', minimum: 16 })).toBe('integer >= 16');
    expect(describeAllowed({ type: 'integer', maximum: 4 })).toBe('integer <= 4');
    expect(describeAllowed({ type: 'integer', minimum: 1, maximum: 4 })).toBe('integer between 1 and 4');
    expect(describeAllowed({ type: 'number' })).toBe('number');
    expect(describeAllowed({ type: 'boolean' })).toBe('boolean (1|0|on|off|yes|no|true|false)');
    expect(describeAllowed({ type: 'string', format: sevFormat })).toBe(`property string: ${typetext(sevFormat)}`);
    expect(describeAllowed({ type: 'string', format: 'mac-addr', format_description: 'XX:XX:XX:XX:XX:XX' })).toBe(
      'mac-addr (XX:XX:XX:XX:XX:XX)',
    );
    expect(describeAllowed({ type: 'string', pattern: '\\d+', maxLength: 8 })).toBe('string matching /^\\d+$/ of at most 8 characters');
    expect(describeAllowed({ type: 'string' })).toBe('string');
  });
});
