/**
 * @module ui/vm-config
 * A VM's hardware and options as `GET …/pending` lists them: current value, pending value
 * (highlighted; a pending deletion struck through), and a Revert button per pending row that
 * sends `PUT …/config revert=<key>` with the digest, as PVE's GUI does.
 */

import { useState } from 'preact/hooks';
import { api } from './api';

export interface PendingRow {
  key: string;
  value?: string | number;
  pending?: string | number;
  delete?: number;
}

const HARDWARE = /^(memory|balloon|cores|sockets|vcpus|cpu|numa|bios|machine|efidisk0|tpmstate0|vga|scsihw|(ide|sata|scsi|virtio|net|serial|usb|hostpci|unused)\d+)$/;

export function ConfigTable(props: { node: string; vmid: string; rows: PendingRow[]; onChange: () => void }) {
  const [error, setError] = useState('');
  const digest = String(props.rows.find((r) => r.key === 'digest')?.value ?? '');
  const rows = props.rows.filter((r) => r.key !== 'digest');
  const revert = async (key: string) => {
    setError('');
    try {
      await api.put(`/nodes/${props.node}/qemu/${props.vmid}/config`, { revert: key, digest });
      props.onChange();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const table = (title: string, list: PendingRow[]) => (
    <section class="card" aria-labelledby={`cfg-${title}`}>
      <h2 id={`cfg-${title}`}>{title}</h2>
      <div class="hscroll">
        <table class="config">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              <th scope="col">Pending</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((r) => {
              const isPending = r.pending !== undefined || r.delete !== undefined;
              return (
                <tr key={r.key} class={isPending ? 'pending' : undefined}>
                  <th scope="row">{r.key}</th>
                  <td class={r.delete ? 'deleted' : undefined}>{r.value ?? ''}</td>
                  <td>{r.delete ? 'delete' : (r.pending ?? '')}</td>
                  <td>
                    {isPending && (
                      <button type="button" onClick={() => revert(r.key)} aria-label={`Revert ${r.key}`}>
                        Revert
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {table(
        'Hardware',
        rows.filter((r) => HARDWARE.test(r.key)),
      )}
      {table(
        'Options',
        rows.filter((r) => !HARDWARE.test(r.key)),
      )}
    </>
  );
}
