/**
 * @module ui/overview
 * The overview: the node's facts (CPU vendor, SEV/SEV-ES/SEV-SNP/TDX capability, QEMU version,
 * firmware found) and the VM list (id, name, status, CVM type badge, memory, cores, uptime),
 * polled every few seconds, sortable by any column and filtered by a text field; plain table
 * rows, which stay quick with thousands of VMs.
 */

import { useMemo, useState } from 'preact/hooks';
import { api } from './api';
import { bytes, cvmTypeName, duration } from './format';
import { useLoad, usePoll } from './hooks';
import { nodeName, onlineNodes } from './node';

interface VmRow {
  vmid: number;
  node: string;
  name: string;
  status: string;
  maxmem: number;
  cpus: number;
  uptime: number;
  type: string | null;
}

type Flag = boolean | number | string | undefined;
const yes = (f: Flag) => f === true || (typeof f === 'number' && f !== 0) || (typeof f === 'string' && f !== '' && f !== '0');

interface NodeFacts {
  node: string;
  host: {
    cpuVendor: string;
    arch: string;
    qemuVersion: string;
    kvm: number;
    kvmProbe?: { usable: number; cpu: string; reason?: string };
    firmware: { name: string; features: string[] }[];
  };
  caps: { capabilities: Record<string, Record<string, Flag>>; vendor: string | null; notes: string[] } | { error: string };
  status: { cpuinfo: { model: string; cpus: number }; memory: { total: number } };
}

async function loadNode(): Promise<NodeFacts> {
  const node = await nodeName();
  const [host, caps, status] = await Promise.all([
    api.get<NodeFacts['host']>(`/nodes/${node}/cvm/host`),
    api.get<NodeFacts['caps']>(`/nodes/${node}/capabilities/qemu/cvm`).catch((err: Error) => ({ error: err.message })),
    api.get<NodeFacts['status']>(`/nodes/${node}/status`),
  ]);
  return { node, host, caps, status };
}

async function loadNodeVms(node: string): Promise<VmRow[]> {
  const [rows, types] = await Promise.all([
    api.get<Omit<VmRow, 'type' | 'node'>[]>(`/nodes/${node}/qemu`),
    api.get<{ vmid: number; type: string | null }[]>(`/nodes/${node}/cvm/vms`),
  ]);
  const typeOf = new Map(types.map((t) => [t.vmid, t.type]));
  return rows.map((r) => ({ ...r, node, type: typeOf.get(r.vmid) ?? null }));
}

/** The VMs of every online node (in a cluster this server forwards the other nodes' requests). */
async function loadVms(): Promise<VmRow[]> {
  const [local, ...others] = await onlineNodes();
  const lists = await Promise.all([loadNodeVms(local as string), ...others.map((n) => loadNodeVms(n).catch(() => []))]);
  return lists.flat();
}

function Capability(props: { label: string; on: boolean }) {
  return (
    <li class={props.on ? 'cap on' : 'cap off'}>
      <span aria-hidden="true">{props.on ? '✓' : '✗'}</span> {props.label}
      <span class="sr-only">{props.on ? ' supported' : ' not supported'}</span>
    </li>
  );
}

/** KVM as it is: no device, a device that runs VMs, or a device that cannot run a default VM (and why). */
function Kvm(props: { host: NodeFacts['host'] }) {
  const { kvm, kvmProbe } = props.host;
  if (!kvm) return <span class="kvm">(no KVM: TCG only)</span>;
  if (!kvmProbe || kvmProbe.usable) return <span class="kvm">(KVM)</span>;
  return (
    <>
      <span class="kvm">(KVM device present, not usable: {kvmProbe.reason ?? 'unknown reason'})</span>
      <p class="muted small">Probed with the default CPU {kvmProbe.cpu}; VMs with kvm: 0 run under TCG.</p>
    </>
  );
}

function NodePanel() {
  const { data, error } = useLoad(loadNode);
  if (error) return <p class="error">Node facts: {error}</p>;
  if (!data) return <p aria-busy="true">Loading node facts…</p>;
  const caps = 'capabilities' in data.caps ? data.caps.capabilities : {};
  const sev = caps['amd-sev'] ?? {};
  const tdx = caps['intel-tdx'] ?? {};
  const withFeature = (feature: string) => data.host.firmware.filter((f) => f.features.includes(feature)).map((f) => f.name);
  const sevFw = withFeature('amd-sev');
  const snpFw = withFeature('amd-sev-snp');
  return (
    <section class="card" aria-labelledby="node-title">
      <h2 id="node-title">Node {data.node}</h2>
      <dl class="facts">
        <dt>CPU</dt>
        <dd>
          {data.status.cpuinfo.model} ({data.status.cpuinfo.cpus} threads, {data.host.cpuVendor})
        </dd>
        <dt>Memory</dt>
        <dd>{bytes(data.status.memory.total)}</dd>
        <dt>QEMU</dt>
        <dd>
          {data.host.qemuVersion} <Kvm host={data.host} />
        </dd>
        <dt>Confidential computing</dt>
        <dd>
          <ul class="caps">
            <Capability label="SEV" on={yes(sev['sev-support'])} />
            <Capability label="SEV-ES" on={yes(sev['sev-support-es'])} />
            <Capability label="SEV-SNP" on={yes(sev['sev-support-snp'])} />
            <Capability label="TDX" on={yes(tdx['tdx-support'])} />
          </ul>
          {'error' in data.caps && <p class="muted">{data.caps.error}</p>}
          {'notes' in data.caps && data.caps.notes.length > 0 && (
            <ul class="notes muted small">
              {data.caps.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Firmware</dt>
        <dd>
          {data.host.firmware.length} found; for SEV/SEV-ES: {sevFw.join(', ') || 'none'}; for SEV-SNP: {snpFw.join(', ') || 'none'}
        </dd>
      </dl>
    </section>
  );
}

type SortKey = 'vmid' | 'name' | 'status' | 'type' | 'maxmem' | 'cpus' | 'uptime';
const COLUMNS: { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'vmid', label: 'ID', numeric: true },
  { key: 'name', label: 'Name' },
  { key: 'status', label: 'Status' },
  { key: 'type', label: 'CVM type' },
  { key: 'maxmem', label: 'Memory', numeric: true },
  { key: 'cpus', label: 'Cores', numeric: true },
  { key: 'uptime', label: 'Uptime', numeric: true },
];

function VmTable() {
  const { data, error } = usePoll(loadVms, 3000);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; asc: boolean }>({ key: 'vmid', asc: true });
  const manyNodes = new Set((data ?? []).map((r) => r.node)).size > 1;
  const rows = useMemo(() => {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
    const text = (r: VmRow) => `${r.vmid} ${r.name} ${r.status} ${cvmTypeName(r.type)} ${r.node}`.toLowerCase();
    const out = (data ?? []).filter((r) => words.every((w) => text(r).includes(w)));
    const val = (r: VmRow) => (sort.key === 'type' ? cvmTypeName(r.type) : r[sort.key]);
    out.sort((a, b) => {
      const x = val(a);
      const y = val(b);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return (sort.asc ? c : -c) || a.vmid - b.vmid;
    });
    return out;
  }, [data, filter, sort]);

  return (
    <section class="card" aria-labelledby="vms-title">
      <div class="card-head">
        <h2 id="vms-title">Virtual machines</h2>
        <span class="muted" aria-live="polite">
          {data ? `${rows.length} of ${data.length}` : ''}
        </span>
        <label for="vm-filter" class="inline">
          Filter
        </label>
        <input id="vm-filter" type="search" placeholder="id, name, status, type" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </div>
      {error && <p class="error">VM list: {error}</p>}
      <div class="table-wrap">
        <table class="vms">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  class={c.numeric ? 'num' : undefined}
                  aria-sort={sort.key === c.key ? (sort.asc ? 'ascending' : 'descending') : undefined}
                >
                  <button type="button" class="sort" onClick={() => setSort({ key: c.key, asc: sort.key === c.key ? !sort.asc : true })}>
                    {c.label}
                    <span aria-hidden="true">{sort.key === c.key ? (sort.asc ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.vmid}>
                <td class="num">
                  <a href={`#/vm/${r.vmid}`}>{r.vmid}</a>
                </td>
                <td>
                  <a href={`#/vm/${r.vmid}`}>{r.name}</a>
                  {manyNodes && <span class="muted"> on {r.node}</span>}
                </td>
                <td>
                  <span class={`status ${r.status}`}>{r.status}</span>
                </td>
                <td>
                  <span class={`badge t-${r.type ?? 'none'}`}>{cvmTypeName(r.type)}</span>
                </td>
                <td class="num">{bytes(r.maxmem)}</td>
                <td class="num">{r.cpus}</td>
                <td class="num">{duration(r.uptime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data && data.length === 0 && <p class="muted">No VMs yet.</p>}
        {!data && !error && <p aria-busy="true">Loading VMs…</p>}
      </div>
    </section>
  );
}

export function Overview() {
  return (
    <>
      <h1 class="sr-only">Overview</h1>
      <NodePanel />
      <VmTable />
    </>
  );
}
