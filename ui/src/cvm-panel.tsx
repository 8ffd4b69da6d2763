/**
 * @module ui/cvm-panel
 * The confidential-computing panel of a VM: the type (disabled, SEV, SEV-ES, SEV-SNP, TDX) with
 * the host's fit for each, the advanced options with PVE's SevEdit/TdxEdit write rules (default
 * key first, unticked "Allow …" boxes written as `no-debug=1` / `no-key-sharing=1` /
 * `allow-smt=0`, Disabled deletes the key), the guest-policy word of the value being edited,
 * bit by bit, computed by the server's codec (`POST /nodes/{node}/cvm/policy`), the OVMF and
 * EFI-disk conflicts with a one-click fix, the VM's lint findings and its QEMU command line.
 */

import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api';
import { cvmTypeName } from './format';

type Flag = boolean | number | string | undefined;
const yes = (f: Flag) => f === true || (typeof f === 'number' && f !== 0) || (typeof f === 'string' && f !== '' && f !== '0');

export type CvmKind = '' | 'std' | 'es' | 'snp' | 'tdx';

export interface CvmForm {
  type: CvmKind;
  allowDebug: boolean;
  allowKeySharing: boolean;
  allowSmt: boolean;
  kernelHashes: boolean;
  attestation: boolean;
  vsockCid: string;
  vsockPort: string;
}

interface PolicyBit {
  bit: string;
  name: string;
  value: number;
  meaning: string;
  severity: string;
}
interface Policy {
  policy: string | null;
  severity: string | null;
  bits: PolicyBit[];
}
interface Finding {
  code: string;
  severity: string;
  key: string;
  message: string;
}

/** A property string as `key=value` pairs; the first bare word is the default key `type`. */
function props(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (value ?? '').split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq === -1) out.type = part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function formFromConfig(conf: Record<string, string | number | undefined>): CvmForm {
  const sev = props(conf['amd-sev'] as string | undefined);
  const tdx = props(conf['intel-tdx'] as string | undefined);
  return {
    type: (tdx.type ? 'tdx' : (sev.type ?? '')) as CvmKind,
    allowDebug: sev['no-debug'] !== '1',
    allowKeySharing: sev['no-key-sharing'] !== '1',
    allowSmt: sev['allow-smt'] !== '0',
    kernelHashes: sev['kernel-hashes'] === '1',
    attestation: tdx.attestation !== '0',
    vsockCid: tdx['vsock-cid'] ?? '',
    vsockPort: tdx['vsock-port'] ?? '',
  };
}

/** The `amd-sev` / `intel-tdx` values PVE's editors would write for the form. */
export function valuesOf(f: CvmForm): { 'amd-sev'?: string; 'intel-tdx'?: string } {
  if (f.type === 'tdx') {
    const parts = ['tdx', `attestation=${f.attestation ? 1 : 0}`];
    if (f.attestation && f.vsockCid) parts.push(`vsock-cid=${f.vsockCid}`);
    if (f.attestation && f.vsockPort) parts.push(`vsock-port=${f.vsockPort}`);
    return { 'intel-tdx': parts.join(',') };
  }
  if (!f.type) return {};
  const parts: string[] = [f.type];
  if (!f.allowDebug) parts.push('no-debug=1');
  if (f.type !== 'snp' && !f.allowKeySharing) parts.push('no-key-sharing=1');
  if (f.type === 'snp' && !f.allowSmt) parts.push('allow-smt=0');
  if (f.kernelHashes) parts.push('kernel-hashes=1');
  return { 'amd-sev': parts.join(',') };
}

const TYPES: { kind: CvmKind; label: string; cap?: [string, string] }[] = [
  { kind: '', label: 'Disabled' },
  { kind: 'std', label: 'AMD SEV', cap: ['amd-sev', 'sev-support'] },
  { kind: 'es', label: 'AMD SEV-ES', cap: ['amd-sev', 'sev-support-es'] },
  { kind: 'snp', label: 'AMD SEV-SNP', cap: ['amd-sev', 'sev-support-snp'] },
  { kind: 'tdx', label: 'Intel TDX', cap: ['intel-tdx', 'tdx-support'] },
];

export type HostCaps = { capabilities: Record<string, Record<string, Flag>>; notes: string[] } | { error: string };

export function hostMisfit(caps: HostCaps | undefined, kind: CvmKind): string | null {
  const t = TYPES.find((x) => x.kind === kind);
  if (!t?.cap || !caps) return null;
  if ('error' in caps) return caps.error;
  const [section, flag] = t.cap;
  return yes(caps.capabilities[section]?.[flag]) ? null : `${flag} is off`;
}

/** The policy word of the form's amd-sev value, from the server, re-read as the form changes. */
function usePolicy(node: string, value: string | undefined): { policy: Policy | null; error: string } {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    if (!value) {
      setPolicy(null);
      setError('');
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      api.post<Policy>(`/nodes/${node}/cvm/policy`, { 'amd-sev': value }).then(
        (p) => {
          if (stale) return;
          setPolicy(p);
          setError('');
        },
        (err: Error) => {
          if (!stale) setError(err instanceof ApiError ? (err.errors['amd-sev'] ?? err.message) : err.message);
        },
      );
    }, 150);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [node, value]);
  return { policy, error };
}

export function PolicyView(props: { node: string; amdSev: string | undefined }) {
  const { policy, error } = usePolicy(props.node, props.amdSev);
  if (!props.amdSev) return null;
  return (
    <div class="policy" aria-live="polite">
      <h3>
        Guest policy <code data-testid="policy-word">{policy?.policy ?? '…'}</code>
        {policy?.severity && <span class={`sev ${policy.severity}`}> overall: {policy.severity}</span>}
      </h3>
      {error && <p class="error">{error}</p>}
      {policy && (
        <table class="bits">
          <thead>
            <tr>
              <th scope="col">Bit</th>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">Meaning</th>
              <th scope="col">Severity</th>
            </tr>
          </thead>
          <tbody>
            {policy.bits.map((b) => (
              <tr key={b.bit} data-bit={b.bit}>
                <td class="num">{b.bit}</td>
                <td>{b.name}</td>
                <td class="num">{b.value}</td>
                <td class="meaning">{b.meaning}</td>
                <td>
                  <span class={`sev ${b.severity}`}>{b.severity}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The type choice and the advanced options; `idp` keeps ids unique when two forms are on a page. */
export function CvmFields(props: { form: CvmForm; set: (f: CvmForm) => void; caps: HostCaps | undefined; error?: string; idp: string }) {
  const { form, set, idp } = props;
  const sev = form.type === 'std' || form.type === 'es' || form.type === 'snp';
  const check = (key: keyof CvmForm, label: string, hidden = false) =>
    hidden ? null : (
      <div class="check">
        <input id={`${idp}-${key}`} type="checkbox" checked={form[key] as boolean} onChange={(e) => set({ ...form, [key]: e.currentTarget.checked })} />
        <label for={`${idp}-${key}`}>{label}</label>
      </div>
    );
  return (
    <>
      <fieldset class="types">
        <legend>Confidential computing type</legend>
        {TYPES.map((t) => {
          const misfit = hostMisfit(props.caps, t.kind);
          return (
            <div key={t.kind} class={misfit ? 'type misfit' : 'type'}>
              <input
                id={`${idp}-type-${t.kind || 'none'}`}
                type="radio"
                name={`${idp}-type`}
                checked={form.type === t.kind}
                onChange={() => set({ ...form, type: t.kind })}
                aria-describedby={misfit ? `${idp}-misfit-${t.kind}` : undefined}
              />
              <label for={`${idp}-type-${t.kind || 'none'}`}>{t.label}</label>
              {misfit && (
                <span id={`${idp}-misfit-${t.kind}`} class="muted small">
                  — not on this host: {misfit}
                </span>
              )}
            </div>
          );
        })}
        {props.error && (
          <p class="error field-error" role="alert">
            {props.error}
          </p>
        )}
      </fieldset>
      {sev && (
        <fieldset class="advanced">
          <legend>Advanced</legend>
          {check('allowDebug', 'Allow debugging')}
          {check('allowKeySharing', 'Allow key sharing', form.type === 'snp')}
          {check('allowSmt', 'Allow SMT', form.type !== 'snp')}
          {check('kernelHashes', 'Enable kernel hashes')}
          {form.type === 'snp' && <p class="muted small">When using SEV-SNP no EFI disk is loaded as pflash. SEV-SNP needs host kernel 6.11 or newer.</p>}
        </fieldset>
      )}
      {form.type === 'tdx' && (
        <fieldset class="advanced">
          <legend>Advanced</legend>
          {check('attestation', 'Enable attestation')}
          <label for={`${idp}-cid`}>vsock CID</label>
          <input
            id={`${idp}-cid`}
            type="number"
            min={2}
            placeholder="2"
            disabled={!form.attestation}
            value={form.vsockCid}
            onInput={(e) => set({ ...form, vsockCid: e.currentTarget.value })}
          />
          <label for={`${idp}-port`}>vsock port</label>
          <input
            id={`${idp}-port`}
            type="number"
            min={0}
            placeholder="4050"
            disabled={!form.attestation}
            value={form.vsockPort}
            onInput={(e) => set({ ...form, vsockPort: e.currentTarget.value })}
          />
          <p class="muted small">When using Intel TDX no EFI disk is loaded as pflash. TDX needs host kernel 6.16 or newer.</p>
        </fieldset>
      )}
    </>
  );
}

/** Conflicts of the chosen type with the VM's firmware settings, before saving. */
export function conflictsOf(type: CvmKind, conf: Record<string, string | number | undefined>): string[] {
  const out: string[] = [];
  if (!type) return out;
  if (conf.bios !== 'ovmf') out.push(`${cvmTypeName(type)} needs OVMF firmware: bios is ${conf.bios ?? 'seabios (default)'}`);
  if ((type === 'snp' || type === 'tdx') && conf.efidisk0 !== undefined)
    out.push(`${cvmTypeName(type)} loads no EFI disk as pflash: efidisk0 (${conf.efidisk0}) would be ignored`);
  return out;
}

/** How a refused command line starts: the generator's reason follows, shown as a notice, not as a command. */
const REFUSED = 'No command line: ';

export function CvmPanel(props: {
  node: string;
  vmid: string;
  conf: Record<string, string | number | undefined>;
  digest: string;
  caps: HostCaps | undefined;
  onSaved: () => void;
  /** The last save's outcome; kept by the page, as a save re-creates this panel with the new config. */
  notice: string;
  setNotice: (m: string) => void;
}) {
  const initial = formFromConfig(props.conf);
  const [form, setForm] = useState<CvmForm>(initial);
  const [saving, setSaving] = useState(false);
  const message = props.notice;
  const setMessage = props.setNotice;
  const [fieldError, setFieldError] = useState('');
  const [lint, setLint] = useState<Finding[] | null>(null);
  const [showcmd, setShowcmd] = useState<string>('');
  const values = valuesOf(form);
  const base = `/nodes/${props.node}/qemu/${props.vmid}`;
  const changed = JSON.stringify(values) !== JSON.stringify(valuesOf(initial));
  const conflicts = conflictsOf(form.type, props.conf);

  useEffect(() => {
    api.get<{ lint: Finding[] }>(`${base}/cvm`).then(
      (c) => setLint(c.lint),
      (err: Error) => setLint([{ code: 'error', severity: 'error', key: '', message: err.message }]),
    );
    api.get<string>(`${base}/showcmd`, { pretty: 1 }).then(setShowcmd, (err: Error) => setShowcmd(`${REFUSED}${err.message}`));
  }, [base, props.digest]);

  const save = async () => {
    setSaving(true);
    setMessage('');
    setFieldError('');
    try {
      const del = [!values['amd-sev'] && props.conf['amd-sev'] !== undefined ? 'amd-sev' : '', !values['intel-tdx'] && props.conf['intel-tdx'] !== undefined ? 'intel-tdx' : ''].filter(Boolean);
      await api.put(`${base}/config`, { ...values, ...(del.length ? { delete: del.join(',') } : {}), digest: props.digest });
      setMessage('Saved.');
      props.onSaved();
    } catch (err) {
      const e = err as ApiError;
      setFieldError(Object.entries(e.errors ?? {}).map(([k, v]) => `${k}: ${v}`).join('; ') || e.message);
    } finally {
      setSaving(false);
    }
  };

  const fix = async () => {
    setMessage('');
    try {
      const params: Record<string, string> = { bios: 'ovmf', digest: props.digest };
      if ((form.type === 'snp' || form.type === 'tdx') && props.conf.efidisk0 !== undefined) params.delete = 'efidisk0';
      await api.put(`${base}/config`, params);
      setMessage(`Fixed: bios set to OVMF${params.delete ? ', efidisk0 removed.' : '.'}`);
      props.onSaved();
    } catch (err) {
      setFieldError((err as Error).message);
    }
  };

  return (
    <section class="card cvm" aria-labelledby="cvm-title">
      <h2 id="cvm-title">Confidential computing</h2>
      <div class="cvm-grid">
        <div>
          <CvmFields form={form} set={setForm} caps={props.caps} error={fieldError} idp="cvm" />
          <p class="muted small">
            Will write: <code>{values['amd-sev'] ? `amd-sev: ${values['amd-sev']}` : values['intel-tdx'] ? `intel-tdx: ${values['intel-tdx']}` : 'no CVM key'}</code>
          </p>
          {conflicts.length > 0 && (
            <div class="conflicts" role="alert">
              <h3>Conflicts</h3>
              <ul>
                {conflicts.map((c) => (
                  <li key={c}>{c}</li>
                ))}
              </ul>
              <button type="button" onClick={fix}>
                Fix firmware settings
              </button>
            </div>
          )}
          <div class="actions">
            <button type="button" class="primary" disabled={!changed || saving} onClick={save}>
              {saving ? 'Saving…' : 'Save'}
            </button>
            <button type="button" disabled={!changed || saving} onClick={() => setForm(initial)}>
              Discard changes
            </button>
            {message && <span role="status">{message}</span>}
          </div>
        </div>
        <PolicyView node={props.node} amdSev={values['amd-sev']} />
      </div>
      <h3>Lint of the saved config</h3>
      {lint === null ? (
        <p aria-busy="true">Checking…</p>
      ) : lint.length === 0 ? (
        <p class="ok">No findings.</p>
      ) : (
        <ul class="lint">
          {lint.map((f) => (
            <li key={`${f.code}-${f.key}`}>
              <span class={`sev ${f.severity}`}>{f.severity}</span> <code>{f.code}</code> {f.message}
            </li>
          ))}
        </ul>
      )}
      <h3>QEMU command line</h3>
      {showcmd.startsWith(REFUSED) ? (
        <p class="notice" data-testid="showcmd">
          {showcmd}
        </p>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (axe: scrollable-region-focusable)
        <pre class="showcmd" tabIndex={0} data-testid="showcmd">
          {showcmd || '…'}
        </pre>
      )}
    </section>
  );
}
