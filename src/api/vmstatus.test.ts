/**
 * @module api/vmstatus.test
 * qemu-server's `cpus` of a VM status: sockets × cores capped at the host's CPUs, `vcpus` taking
 * precedence even above the host's count (vmstatus assigns it after the cap).
 */

import { describe, expect, it } from 'vitest';
import { cpuCount } from './vmstatus.js';

describe('cpuCount', () => {
  it('caps sockets × cores at the host, lets vcpus win uncapped', () => {
    expect(cpuCount({}, 4)).toBe(1);
    expect(cpuCount({ sockets: '2', cores: '3' }, 4)).toBe(4);
    expect(cpuCount({ sockets: '2', cores: '3' }, 16)).toBe(6);
    expect(cpuCount({ sockets: '2', cores: '4', vcpus: '6' }, 4)).toBe(6);
    expect(cpuCount({ cores: '2', vcpus: '0' }, 4)).toBe(2);
  });
});
