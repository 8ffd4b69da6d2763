/**
 * @module ui/console
 * The serial console of a VM with a `serialN: socket` port: a WebSocket to the same server
 * (the ticket cookie goes along), output shown as text with terminal control sequences removed,
 * and keys typed into the console area sent to the guest (Enter as CR, as a terminal does).
 */

import { useEffect, useRef, useState } from 'preact/hooks';

const CONTROL = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>c]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;
const MAX_TEXT = 200_000;

const KEYS: Record<string, string> = { Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: '\x1b', ArrowUp: '\x1b[A', ArrowDown: '\x1b[B', ArrowRight: '\x1b[C', ArrowLeft: '\x1b[D' };

export function SerialConsole(props: { node: string; vmid: string; serial: number }) {
  const [text, setText] = useState('');
  const [state, setState] = useState('connecting');
  const ws = useRef<WebSocket | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const sock = new WebSocket(`wss://${location.host}/api2/json/nodes/${props.node}/qemu/${props.vmid}/serial/ws?serial=${props.serial}`);
    sock.binaryType = 'arraybuffer';
    const decoder = new TextDecoder();
    sock.onopen = () => setState('connected');
    sock.onclose = (e) => setState(`closed${e.reason ? `: ${e.reason}` : ''}`);
    sock.onerror = () => setState('connection failed');
    sock.onmessage = (e) => {
      const chunk = typeof e.data === 'string' ? e.data : decoder.decode(e.data as ArrayBuffer, { stream: true });
      // a control sequence split across two messages leaves a lone ESC: dropped too
      setText((t) => (t + chunk.replace(CONTROL, '').replace(/\x1b/g, '').replace(/\r\n?/g, '\n')).slice(-MAX_TEXT));
    };
    ws.current = sock;
    return () => sock.close();
  }, [props.node, props.vmid, props.serial]);
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text]);
  const onKey = (e: KeyboardEvent) => {
    const data = KEYS[e.key] ?? (e.key.length === 1 && !e.altKey && !e.metaKey ? (e.ctrlKey ? String.fromCharCode(e.key.toUpperCase().charCodeAt(0) - 64) : e.key) : '');
    if (!data || ws.current?.readyState !== WebSocket.OPEN) return;
    e.preventDefault();
    ws.current.send(data);
  };
  return (
    <section class="card" aria-labelledby="console-title">
      <div class="card-head">
        <h2 id="console-title">Serial console (serial{props.serial})</h2>
        <span class="muted" role="status">
          {state}
        </span>
      </div>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: the console takes keyboard input when focused */}
      <pre ref={pre} class="console" role="log" tabIndex={0} onKeyDown={onKey} aria-label={`Serial console of VM ${props.vmid}; type to send keys`} data-testid="console">
        {text}
      </pre>
    </section>
  );
}
