/**
 * @module config/options/cpu-memory
 * qemu-server 9.2.6's CPU, memory, NUMA and machine options: the `cpu` format
 * (`pve-vm-cpu-conf`), `machine` (`pve-qemu-machine-fmt`), `memory`, `numaN`
 * (`pve-qm-numanode`) and the plain top-level keys (sockets, cores, balloon, hugepages …).
 * Only tables here; the checks that need the CPU model list live in config/cpu.ts.
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';
import { cpuFlagAnyRe, reportedCpuModels, supportedVmCpuFlags } from '../cpu.js';

/** `pve-vm-cpu-conf` (also `pve-cpu-conf`): the value of the `cpu` key. */
export const cpuFormat: FormatSchema = {
  cputype: {
    description: "Emulated CPU type. Can be default or custom name (custom model names must be prefixed with 'custom-').",
    type: 'string',
    format_description: 'string',
    default: 'kvm64',
    default_key: true,
    optional: true,
  },
  'reported-model': {
    description:
      'CPU model and vendor to report to the guest. Must be a QEMU/KVM supported model.' +
      ' Only valid for custom CPU model definitions, default models will always report themselves to the guest OS.',
    type: 'string',
    enum: reportedCpuModels,
    default: 'kvm64',
    optional: true,
  },
  hidden: {
    description: 'Do not identify as a KVM virtual machine. Only affects vCPUs with x86-64 architecture.',
    type: 'boolean',
    optional: true,
    default: 0,
  },
  'hv-vendor-id': {
    type: 'string',
    pattern: '[a-zA-Z0-9]{1,12}',
    format_description: 'vendor-id',
    description: 'The Hyper-V vendor ID. Some drivers or programs inside Windows guests need a specific ID.',
    optional: true,
  },
  flags: {
    description:
      "List of additional CPU flags separated by ';'. Use '+FLAG' to enable," +
      " '-FLAG' to disable a flag. There is a special 'nested-virt' shorthand which" +
      " controls nested virtualization for the current CPU ('svm' for AMD and 'vmx' for" +
      ' Intel). Custom CPU models can specify any flag supported by QEMU/KVM, VM-specific' +
      ' flags must be from the following set for security reasons: ' +
      supportedVmCpuFlags.join(', '),
    format_description: '+FLAG[;-FLAG...]',
    type: 'string',
    pattern: `${cpuFlagAnyRe}(?:;${cpuFlagAnyRe})*`,
    optional: true,
  },
  'guest-phys-bits': {
    type: 'integer',
    minimum: 32,
    maximum: 64,
    description: 'Number of physical address bits available to the guest.',
    optional: true,
  },
  'phys-bits': {
    type: 'string',
    format: 'pve-phys-bits',
    format_description: '8-64|host',
    description:
      "The physical memory address bits that are reported to the guest OS. Should be smaller or equal to the host's." +
      " Set to 'host' to use value from host CPU, but note that doing so will break live migration to CPUs with other values.",
    optional: true,
  },
  level: {
    type: 'integer',
    minimum: 0,
    maximum: 4294967295,
    description:
      'Maximum input value for the basic CPUID leaves the guest can query - that is the' +
      ' vendor (leaf 0), family/model/stepping and feature bits (leaf 1), cache and' +
      ' topology info (leaves 4 and B), and so on. Higher-numbered leaves are hidden.' +
      " Setting '30' is a common workaround for Hyper-V boot failures on Windows guests" +
      ' running on recent Intel hosts. Only applies when the vCPU architecture is x86_64.',
    optional: true,
  },
};

/** `pve-qemu-machine-fmt`: the value of `machine` and `runningmachine`. */
export const machineFormat: FormatSchema = {
  type: {
    default_key: true,
    description: 'Specifies the QEMU machine type.',
    type: 'string',
    pattern:
      '(pc|pc(-i440fx)?-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|q35|pc-q35-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|virt(?:-\\d+(\\.\\d+)+)?(\\+pve\\d+)?)',
    maxLength: 40,
    format_description: 'machine type',
    optional: true,
  },
  viommu: {
    type: 'string',
    description: 'Enable and set guest vIOMMU variant (Intel vIOMMU needs q35 to be set as machine type).',
    enum: ['intel', 'virtio'],
    optional: true,
  },
  'aw-bits': {
    type: 'number',
    description: 'Specifies the vIOMMU address space bit width.',
    verbose_description:
      'Specifies the vIOMMU address space bit width.\n\n' +
      'Intel vIOMMU supports a bit width of either 39 or 48 bits and' +
      ' VirtIO vIOMMU supports any bit width between 32 and 64 bits.',
    minimum: 32,
    maximum: 64,
    optional: true,
  },
  'enable-s3': {
    type: 'boolean',
    description: 'Enables S3 power state. Defaults to false beginning with machine types 9.2+pve1, true before.',
    optional: true,
  },
  'enable-s4': {
    type: 'boolean',
    description: 'Enables S4 power state. Defaults to false beginning with machine types 9.2+pve1, true before.',
    optional: true,
  },
};

/** The memory format (anonymous in qemu-server, inline in the `memory` key; also registered as `pve-qm-memory`). */
export const memoryFormat: FormatSchema = {
  current: {
    description:
      'Current amount of online RAM for the VM in MiB. This is the maximum available memory when' + ' you use the balloon device.',
    type: 'integer',
    default_key: true,
    minimum: 16,
    default: 512,
  },
};

const numberSetPattern = '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*';

/** `pve-qm-numanode`: the value of `numa0` … `numa7`. */
export const numaFormat: FormatSchema = {
  cpus: {
    type: 'string',
    pattern: numberSetPattern,
    description: 'CPUs accessing this NUMA node.',
    format_description: 'id[-id];...',
  },
  memory: {
    type: 'number',
    description: 'Amount of memory this NUMA node provides.',
    optional: true,
  },
  hostnodes: {
    type: 'string',
    pattern: numberSetPattern,
    description: 'Host NUMA nodes to use.',
    format_description: 'id[-id];...',
    optional: true,
  },
  policy: {
    type: 'string',
    enum: ['preferred', 'bind', 'interleave'],
    description: 'NUMA allocation policy.',
    optional: true,
  },
};

export const MAX_NUMA = 8;

/** `numaN` key schema. */
export const numaDesc: PropertySchema = {
  optional: true,
  type: 'string',
  format: numaFormat,
  description: 'NUMA topology.',
};

/** The standard option `pve-qemu-machine` (used by `machine` and `runningmachine`). */
const machineOption: PropertySchema = {
  description: 'Specify the QEMU machine.',
  type: 'string',
  optional: true,
  format: machineFormat,
};

/** QEMU `-cpu` parameter as recorded for snapshots (qemu_cmdline_cpu_re, made non-backtracking). */
const qemuCmdlineCpuPattern = '[+-]?[\\w\\-.=]+(?:(?:,[+-]?|\\+)[\\w\\-.=]+)*,?';

export const cpuMemoryKeys: Readonly<Record<string, PropertySchema>> = {
  cpulimit: {
    optional: true,
    type: 'number',
    description: 'Limit of CPU usage.',
    verbose_description:
      "Limit of CPU usage.\n\nNOTE: If the computer has 2 CPUs, it has total of '2' CPU time. Value '0' indicates no CPU limit.",
    minimum: 0,
    maximum: 128,
    default: 0,
  },
  cpuunits: {
    optional: true,
    type: 'integer',
    description: 'CPU weight for a VM, will be clamped to [1, 10000] in cgroup v2.',
    verbose_description:
      'CPU weight for a VM. Argument is used in the kernel fair scheduler.' +
      ' The larger the number is, the more CPU time this VM gets. Number is relative to' +
      ' weights of all the other running VMs.',
    minimum: 1,
    maximum: 262144,
    default: 'cgroup v1: 1024, cgroup v2: 100',
  },
  memory: {
    optional: true,
    type: 'string',
    description: 'Memory properties.',
    format: memoryFormat,
  },
  balloon: {
    optional: true,
    type: 'integer',
    description:
      'Amount of target RAM for the VM in MiB. The balloon driver is enabled by default,' +
      ' unless it is explicitly disabled by setting the value to zero.',
    minimum: 0,
  },
  shares: {
    optional: true,
    type: 'integer',
    description:
      'Amount of memory shares for auto-ballooning. The larger the number is, the' +
      ' more memory this VM gets. Number is relative to weights of all other running VMs.' +
      ' Using zero disables auto-ballooning. Auto-ballooning is done by pvestatd.',
    minimum: 0,
    maximum: 50000,
    default: 1000,
  },
  smp: { optional: true, type: 'integer', description: 'The number of CPUs. Please use option -sockets instead.', minimum: 1, default: 1 },
  sockets: { optional: true, type: 'integer', description: 'The number of CPU sockets.', minimum: 1, default: 1 },
  cores: { optional: true, type: 'integer', description: 'The number of cores per socket.', minimum: 1, default: 1 },
  numa: { optional: true, type: 'boolean', description: 'Enable/disable NUMA.', default: 0 },
  hugepages: {
    optional: true,
    type: 'string',
    description:
      "Enables hugepages memory.\n\nSets the size of hugepages in MiB. If the value is set to 'any' then 1 GiB" +
      ' hugepages will be used if possible, otherwise the size will fall back to 2 MiB.',
    enum: ['any', '2', '1024'],
  },
  keephugepages: {
    optional: true,
    type: 'boolean',
    default: 0,
    description:
      'Use together with hugepages. If enabled, hugepages will not not be deleted' +
      ' after VM shutdown and can be used for subsequent starts.',
  },
  // qemu-server documents default 0 although the minimum is 1; kept as is.
  vcpus: { optional: true, type: 'integer', description: 'Number of hotplugged vcpus.', minimum: 1, default: 0 },
  cpu: { optional: true, description: 'Emulated CPU type.', type: 'string', format: 'pve-vm-cpu-conf' },
  affinity: {
    type: 'string',
    format: 'pve-cpuset',
    description: 'List of host cores used to execute guest processes, for example: 0,5,8-11',
    optional: true,
  },
  'allow-ksm': {
    type: 'boolean',
    description: 'Allow memory pages of this guest to be merged via KSM (Kernel Samepage Merging).',
    optional: true,
    default: 1,
  },
  machine: machineOption,
  runningmachine: {
    ...machineOption,
    description: 'Specifies the QEMU machine type of the running vm. This is used internally for snapshots.',
  },
  runningcpu: {
    description: "Specifies the QEMU '-cpu' parameter of the running vm. This is used internally for snapshots.",
    optional: true,
    type: 'string',
    pattern: qemuCmdlineCpuPattern,
    format_description: 'QEMU -cpu parameter',
  },
  arch: {
    description: 'Virtual processor architecture. Defaults to the host architecture.',
    type: 'string',
    enum: ['x86_64', 'aarch64'],
    optional: true,
  },
};

export const cpuMemoryFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-vm-cpu-conf': cpuFormat,
  'pve-cpu-conf': cpuFormat,
  'pve-qemu-machine-fmt': machineFormat,
  'pve-qm-memory': memoryFormat,
  'pve-qm-numanode': numaFormat,
};
