/**
 * @module ui/attest
 * Measurement and attestation of an SEV-SNP VM: the expected launch measurement computed by the
 * server (`POST …/cvm/measure`, the `cvmctl measure` code path) with its inputs, and a report
 * from the guest (pasted as hex/base64 or read from a file; optionally the VCEK PEM and a nonce)
 * checked by `POST …/cvm/attest`: every verification step with pass, fail or skip.
 */

import { useState } from 'preact/hooks';
import { type ApiError, api } from './api';

interface Check {
  id: string;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
}
interface AttestResult {
  ok: boolean;
  failed: string[];
  measurement: string;
  expectedMeasurement: string | null;
  checks: Check[];
  notes?: string[];
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function AttestPanel(props: { node: string; vmid: string }) {
  const base = `/nodes/${props.node}/qemu/${props.vmid}/cvm`;
  const [measure, setMeasure] = useState<{ measurement: string; notes?: string[] } | null>(null);
  const [measureError, setMeasureError] = useState('');
  const [report, setReport] = useState('');
  const [vcek, setVcek] = useState('');
  const [nonce, setNonce] = useState('');
  const [result, setResult] = useState<AttestResult | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const computeMeasurement = async () => {
    setMeasureError('');
    try {
      setMeasure(await api.post(`${base}/measure`));
    } catch (err) {
      setMeasure(null);
      setMeasureError((err as Error).message);
    }
  };
  const readFile = async (e: Event, set: (v: string) => void, binary: boolean) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    set(binary ? hexOf(new Uint8Array(await file.arrayBuffer())) : await file.text());
  };
  const verify = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    setResult(null);
    try {
      const params: Record<string, string> = { report };
      if (vcek.trim()) params.vcek = vcek;
      if (nonce.trim()) params.nonce = nonce.trim();
      setResult(await api.post<AttestResult>(`${base}/attest`, params));
    } catch (err) {
      const x = err as ApiError;
      setError(Object.entries(x.errors ?? {}).map(([k, v]) => `${k}: ${v}`).join('; ') || x.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="attest-title">
      <h2 id="attest-title">Measurement and attestation</h2>
      <div class="actions">
        <button type="button" onClick={computeMeasurement}>
          Compute expected measurement
        </button>
      </div>
      {measure && (
        <p>
          Expected launch measurement: <code data-testid="measurement">{measure.measurement}</code>
        </p>
      )}
      {measureError && <p class="error">{measureError}</p>}
      <form class="attest" onSubmit={verify}>
        <label for="attest-report">Attestation report (hex or base64)</label>
        <textarea id="attest-report" rows={4} value={report} onInput={(e) => setReport(e.currentTarget.value)} required />
        <label for="attest-report-file">…or the report file (binary)</label>
        <input id="attest-report-file" type="file" onChange={(e) => readFile(e, setReport, true)} />
        <label for="attest-vcek">VCEK certificate (PEM, optional)</label>
        <textarea id="attest-vcek" rows={3} value={vcek} onInput={(e) => setVcek(e.currentTarget.value)} />
        <label for="attest-nonce">Nonce: REPORT_DATA must start with these bytes (hex, optional)</label>
        <input id="attest-nonce" value={nonce} onInput={(e) => setNonce(e.currentTarget.value)} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy || !report.trim()}>
            {busy ? 'Verifying…' : 'Verify report'}
          </button>
        </div>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div aria-live="polite">
          <p class={result.ok ? 'ok' : 'error'} role="status">
            {result.ok ? 'Report verified: every check passed.' : `Report refused: ${result.failed.join(', ')} failed.`}
          </p>
          <table class="checks">
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Result</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {result.checks.map((c, i) => (
                <tr key={`${c.id}-${i}`} data-check={c.id}>
                  <td>
                    <code>{c.id}</code>
                  </td>
                  <td>
                    <span class={`sev ${c.status === 'pass' ? 'ok-pass' : c.status === 'fail' ? 'critical' : 'info'}`}>{c.status}</span>
                  </td>
                  <td class="meaning">{c.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
