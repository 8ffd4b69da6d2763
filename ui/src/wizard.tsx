/**
 * @module ui/wizard
 * The create-VM wizard: General (id from `/cluster/nextid`, name), Hardware (memory, cores,
 * firmware), Confidential computing (the panel's type and options, the policy word from the
 * server, the firmware the type needs), Confirm. `POST /nodes/{node}/qemu` checks everything
 * with the option table; its per-parameter messages are shown next to their fields, on the step
 * that has the field, and the wizard goes back to the first such step.
 */

import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api';
import { conflictsOf, CvmFields, type CvmForm, formFromConfig, type HostCaps, PolicyView, valuesOf } from './cvm-panel';
import { useLoad } from './hooks';
import { nodeName } from './node';
import { TaskLog } from './task';

const STEPS = ['General', 'Hardware', 'Confidential computing', 'Confirm'] as const;
const FIELDS_OF_STEP: string[][] = [['vmid', 'name'], ['memory', 'cores', 'bios'], ['amd-sev', 'intel-tdx'], []];

function Field(props: { id: string; label: string; error?: string | undefined; children: preact.ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.error && (
        <span id={`${props.id}-error`} class="error field-error">
          {props.error}
        </span>
      )}
    </div>
  );
}

export function Wizard() {
  const node = useLoad(nodeName);
  const caps = useLoad(async () =>
    api.get<HostCaps>(`/nodes/${await nodeName()}/capabilities/qemu/cvm`).catch((err: Error): HostCaps => ({ error: err.message })),
  );
  const [step, setStep] = useState(0);
  const [vmid, setVmid] = useState('');
  const [name, setName] = useState('');
  const [memory, setMemory] = useState('2048');
  const [cores, setCores] = useState('2');
  const [bios, setBios] = useState('ovmf');
  const [cvm, setCvm] = useState<CvmForm>(formFromConfig({}));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState('');
  const [upid, setUpid] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  useEffect(() => {
    api.get<string | number>('/cluster/nextid').then((id) => setVmid((v) => v || String(id)), () => {});
  }, []);

  const values = valuesOf(cvm);
  const params: Record<string, string> = { vmid, memory, cores, bios, ...values };
  if (name) params.name = name;
  const conflicts = conflictsOf(cvm.type, { bios });
  const err = (key: string) => errors[key];
  const described = (key: string) => (errors[key] ? { 'aria-describedby': `wiz-${key}-error`, 'aria-invalid': true } : {});

  const create = async () => {
    setErrors({});
    setFailure('');
    try {
      setUpid(await api.post<string>(`/nodes/${node.data}/qemu`, params));
    } catch (e) {
      const fieldErrors = e instanceof ApiError ? e.errors : {};
      setErrors(fieldErrors);
      setFailure((e as Error).message);
      const first = FIELDS_OF_STEP.findIndex((keys) => keys.some((k) => fieldErrors[k]));
      if (first !== -1) setStep(first);
    }
  };

  if (upid && node.data) {
    return (
      <section class="card" aria-labelledby="wiz-title">
        <h1 id="wiz-title">Create VM {vmid}</h1>
        <TaskLog node={node.data} upid={upid} onDone={setDone} />
        {done && (
          <p>
            <a href={`#/vm/${vmid}`}>Open VM {vmid}</a>
          </p>
        )}
      </section>
    );
  }

  return (
    <section class="card wizard" aria-labelledby="wiz-title">
      <h1 id="wiz-title">Create VM</h1>
      <ol class="steps">
        {STEPS.map((s, i) => (
          <li key={s} aria-current={i === step ? 'step' : undefined} class={FIELDS_OF_STEP[i]?.some((k) => errors[k]) ? 'has-error' : undefined}>
            {s}
          </li>
        ))}
      </ol>
      <h2>{STEPS[step]}</h2>
      {step === 0 && (
        <>
          <Field id="wiz-vmid" label="VM ID" error={err('vmid')}>
            <input id="wiz-vmid" inputMode="numeric" value={vmid} onInput={(e) => setVmid(e.currentTarget.value)} {...described('vmid')} />
          </Field>
          <Field id="wiz-name" label="Name" error={err('name')}>
            <input id="wiz-name" value={name} onInput={(e) => setName(e.currentTarget.value)} {...described('name')} />
          </Field>
        </>
      )}
      {step === 1 && (
        <>
          <Field id="wiz-memory" label="Memory (MiB)" error={err('memory')}>
            <input id="wiz-memory" inputMode="numeric" value={memory} onInput={(e) => setMemory(e.currentTarget.value)} {...described('memory')} />
          </Field>
          <Field id="wiz-cores" label="Cores" error={err('cores')}>
            <input id="wiz-cores" inputMode="numeric" value={cores} onInput={(e) => setCores(e.currentTarget.value)} {...described('cores')} />
          </Field>
          <Field id="wiz-bios" label="Firmware (bios)" error={err('bios')}>
            <select id="wiz-bios" value={bios} onChange={(e) => setBios(e.currentTarget.value)}>
              <option value="ovmf">OVMF (UEFI)</option>
              <option value="seabios">SeaBIOS</option>
            </select>
          </Field>
        </>
      )}
      {step === 2 && (
        <div class="cvm-grid">
          <div>
            <CvmFields form={cvm} set={setCvm} caps={caps.data} error={err('amd-sev') ?? err('intel-tdx')} idp="wiz" />
            {conflicts.length > 0 && (
              <div class="conflicts" role="alert">
                <ul>
                  {conflicts.map((c) => (
                    <li key={c}>{c}</li>
                  ))}
                </ul>
                <button type="button" onClick={() => setBios('ovmf')}>
                  Use OVMF
                </button>
              </div>
            )}
          </div>
          {node.data && <PolicyView node={node.data} amdSev={values['amd-sev']} />}
        </div>
      )}
      {step === 3 && (
        <dl class="facts">
          {Object.entries(params).map(([k, v]) => [<dt key={`${k}-k`}>{k}</dt>, <dd key={`${k}-v`}>{v}</dd>])}
        </dl>
      )}
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
      <div class="actions">
        <button type="button" disabled={step === 0} onClick={() => setStep(step - 1)}>
          Back
        </button>
        {step < STEPS.length - 1 ? (
          <button type="button" class="primary" onClick={() => setStep(step + 1)}>
            Next
          </button>
        ) : (
          <button type="button" class="primary" onClick={create} disabled={!node.data}>
            Create
          </button>
        )}
      </div>
    </section>
  );
}
