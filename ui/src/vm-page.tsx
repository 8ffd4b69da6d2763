/**
 * @module ui/vm-page
 * One VM: the summary (status, uptime, CPUs, memory, PID, QMP status; polled), the actions
 * (start, shutdown, stop, reboot, reset, suspend, resume) each starting a PVE task whose
 * progress and log are shown, the confidential-computing panel, and hardware and options with
 * pending changes.
 */

import { useState } from 'preact/hooks';
import { ApiError, api } from './api';
import { AttestPanel } from './attest';
import { SerialConsole } from './console';
import { CvmPanel, type HostCaps } from './cvm-panel';
import { bytes, duration } from './format';
import { useLoad, usePoll } from './hooks';
import { vmNode } from './node';
import { TaskLog } from './task';
import { ConfigTable, type PendingRow } from './vm-config';

interface Current {
  vmid: number;
  name: string;
  status: string;
  qmpstatus?: string;
  uptime: number;
  cpus: number;
  /** Load as a fraction of `cpus` (qemu-server's vmstatus; 0 until a second sample). */
  cpu?: number;
  maxmem: number;
  /** Host memory of the QEMU process. */
  mem?: number;
  pid?: number;
  lock?: string;
}

const ACTIONS: { name: string; label: string; when: (c: Current) => boolean }[] = [
  { name: 'start', label: 'Start', when: (c) => c.status === 'stopped' },
  { name: 'shutdown', label: 'Shutdown', when: (c) => c.status === 'running' },
  { name: 'stop', label: 'Stop', when: (c) => c.status === 'running' },
  { name: 'reboot', label: 'Reboot', when: (c) => c.status === 'running' && c.qmpstatus !== 'paused' },
  { name: 'reset', label: 'Reset', when: (c) => c.status === 'running' },
  { name: 'suspend', label: 'Suspend', when: (c) => c.status === 'running' && c.qmpstatus !== 'paused' },
  { name: 'resume', label: 'Resume', when: (c) => c.status === 'running' && c.qmpstatus === 'paused' },
];

/** A VM whose config does not exist (never did, or destroyed meanwhile): polling it again is pointless. */
const NOT_FOUND = /does not exist/;
const gone = (err: unknown) => err instanceof ApiError && NOT_FOUND.test(err.message);

export function VmPage(props: { vmid: string }) {
  const { vmid } = props;
  const [task, setTask] = useState<string | null>(null);
  const [actionError, setActionError] = useState('');
  const [version, setVersion] = useState(0);
  const [notice, setNotice] = useState('');
  const node = useLoad(() => vmNode(vmid), vmid);
  const current = usePoll(async () => api.get<Current>(`/nodes/${await vmNode(vmid)}/qemu/${vmid}/status/current`), 3000, vmid, gone);
  const pending = usePoll(async () => api.get<PendingRow[]>(`/nodes/${await vmNode(vmid)}/qemu/${vmid}/pending`), 5000, `${vmid}/${version}`);
  const config = useLoad(async () => api.get<Record<string, string | number>>(`/nodes/${await vmNode(vmid)}/qemu/${vmid}/config`), `${vmid}/${version}`);
  const caps = useLoad(async () =>
    api.get<HostCaps>(`/nodes/${await vmNode(vmid)}/capabilities/qemu/cvm`).catch((err: Error): HostCaps => ({ error: err.message })),
  );
  const reload = () => {
    setVersion((v) => v + 1);
    current.reload();
  };

  const act = async (action: string) => {
    setActionError('');
    try {
      setTask(await api.post<string>(`/nodes/${node.data}/qemu/${vmid}/status/${action}`));
    } catch (err) {
      setActionError((err as Error).message);
    }
  };

  const c = current.data;
  if (current.error && !c)
    return (
      <section class="card" aria-labelledby="vm-error-title">
        <h1 id="vm-error-title">VM {vmid}</h1>
        <p class="error" role="alert">
          {NOT_FOUND.test(current.error) ? `There is no VM ${vmid} on this node.` : `VM ${vmid} could not be read.`} The server said:{' '}
          {current.error}
        </p>
        <div class="actions">
          <a href="#/">Back to the overview</a>
          <button type="button" onClick={current.reload}>
            Try again
          </button>
        </div>
      </section>
    );
  if (!c || !node.data) return <p aria-busy="true">Loading VM {vmid}…</p>;
  return (
    <>
      <h1>
        VM {c.vmid}: {c.name}
      </h1>
      <section class="card" aria-labelledby="summary-title">
        <div class="card-head">
          <h2 id="summary-title">Summary</h2>
          <div class="actions">
            {ACTIONS.map((a) => (
              <button type="button" key={a.name} disabled={!a.when(c) || Boolean(c.lock)} onClick={() => act(a.name)}>
                {a.label}
              </button>
            ))}
          </div>
        </div>
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <span class={`status ${c.status}`} data-testid="vm-status">
              {c.status}
            </span>
            {c.qmpstatus && c.qmpstatus !== c.status ? ` (QMP: ${c.qmpstatus})` : ''}
            {c.lock ? ` — locked: ${c.lock}` : ''}
          </dd>
          <dt>Uptime</dt>
          <dd>{duration(c.uptime)}</dd>
          <dt>CPUs</dt>
          <dd>
            {c.cpus}
            {c.status === 'running' && c.cpu !== undefined ? ` — ${(c.cpu * 100).toFixed(1)}% used` : ''}
          </dd>
          <dt>Memory</dt>
          <dd>
            {bytes(c.maxmem)}
            {c.status === 'running' && c.mem ? ` — ${bytes(c.mem)} on the host` : ''}
          </dd>
          <dt>PID</dt>
          <dd>{c.pid ?? '-'}</dd>
        </dl>
        {actionError && (
          <p class="error" role="alert">
            {actionError}
          </p>
        )}
        {task && (
          <TaskLog
            key={task}
            node={node.data}
            upid={task}
            onDone={() => {
              current.reload();
            }}
          />
        )}
      </section>
      {config.data && (
        <CvmPanel
          key={String(config.data.digest)}
          node={node.data}
          vmid={vmid}
          conf={config.data}
          digest={String(config.data.digest ?? '')}
          caps={caps.data}
          onSaved={reload}
          notice={notice}
          setNotice={setNotice}
        />
      )}
      {config.error && <p class="error">Config: {config.error}</p>}
      {c.status === 'running' && config.data?.serial0 === 'socket' && <SerialConsole node={node.data} vmid={vmid} serial={0} />}
      {config.data?.['amd-sev'] !== undefined && String(config.data['amd-sev']).includes('snp') && <AttestPanel node={node.data} vmid={vmid} />}
      {pending.data && <ConfigTable node={node.data} vmid={vmid} rows={pending.data} onChange={reload} />}
    </>
  );
}
