/**
 * @module ui/console
 * The serial console of a VM with a `serialN: socket` port: a WebSocket to the same server
 * (the ticket cookie goes along), the bytes fed to a small VT100 terminal (ui/terminal) so
 * firmware and boot loader screens (clear screen, cursor positioning, colours) look as they do
 * in a terminal, redrawn at most once per animation frame; keys typed or text pasted into the
 * console area are sent to the guest (Enter as CR, arrows as VT100 sequences).
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import { type Run, Terminal } from './terminal';

const KEYS: Record<string, string> = {
  Enter: '\r',
  Backspace: '\x7f',
  Tab: '\t',
  Escape: '\x1b',
  ArrowUp: '\x1b[A',
  ArrowDown: '\x1b[B',
  ArrowRight: '\x1b[C',
  ArrowLeft: '\x1b[D',
  Home: '\x1b[H',
  End: '\x1b[F',
  Delete: '\x1b[3~',
  PageUp: '\x1b[5~',
  PageDown: '\x1b[6~',
  F1: '\x1bOP',
  F2: '\x1bOQ',
  F10: '\x1b[21~',
  F12: '\x1b[24~',
};

/** The bytes a key sends to the guest, or '' for keys the browser keeps (shortcuts with Alt/Meta). */
export function keyData(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'altKey' | 'metaKey'>): string {
  if (e.altKey || e.metaKey) return '';
  if (KEYS[e.key]) return KEYS[e.key] as string;
  if (e.key.length !== 1) return '';
  if (!e.ctrlKey) return e.key;
  const c = e.key.toUpperCase().charCodeAt(0);
  return c >= 0x40 && c <= 0x5f ? String.fromCharCode(c - 0x40) : '';
}

function Line(props: { runs: Run[]; cursor: number | null }) {
  const { runs, cursor } = props;
  if (cursor === null) return <>{runs.map((r, i) => (r.cls ? <span key={i} class={r.cls}>{r.text}</span> : r.text))}</>;
  // the cursor's cell in a span of its own, splitting the run it falls in
  const out = [];
  let at = 0;
  let placed = false;
  for (const [i, r] of runs.entries()) {
    if (!placed && cursor < at + r.text.length) {
      const k = cursor - at;
      if (k > 0) out.push(<span key={`${i}a`} class={r.cls}>{r.text.slice(0, k)}</span>);
      out.push(<span key={`${i}c`} class={`${r.cls} cursor`}>{r.text[k]}</span>);
      if (k + 1 < r.text.length) out.push(<span key={`${i}b`} class={r.cls}>{r.text.slice(k + 1)}</span>);
      placed = true;
    } else out.push(r.cls ? <span key={i} class={r.cls}>{r.text}</span> : r.text);
    at += r.text.length;
  }
  if (!placed) out.push(<span key="pad">{' '.repeat(cursor - at)}</span>, <span key="c" class="cursor"> </span>);
  return <>{out}</>;
}

export function SerialConsole(props: { node: string; vmid: string; serial: number }) {
  const [, setVersion] = useState(0);
  const [state, setState] = useState('connecting');
  const ws = useRef<WebSocket | null>(null);
  const term = useRef<Terminal | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  const follow = useRef(true);
  term.current ??= new Terminal((data) => ws.current?.readyState === WebSocket.OPEN && ws.current.send(data));

  useEffect(() => {
    const sock = new WebSocket(`wss://${location.host}/api2/json/nodes/${props.node}/qemu/${props.vmid}/serial/ws?serial=${props.serial}`);
    sock.binaryType = 'arraybuffer';
    const decoder = new TextDecoder();
    let frame = 0;
    sock.onopen = () => setState('connected');
    sock.onclose = (e) => setState(`closed${e.reason ? `: ${e.reason}` : ''}`);
    sock.onerror = () => setState('connection failed');
    sock.onmessage = (e) => {
      term.current?.write(typeof e.data === 'string' ? e.data : decoder.decode(e.data as ArrayBuffer, { stream: true }));
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        setVersion(term.current?.version ?? 0);
      });
    };
    ws.current = sock;
    return () => {
      cancelAnimationFrame(frame);
      sock.close();
    };
  }, [props.node, props.vmid, props.serial]);

  // stay at the newest output unless the user scrolled up to read
  useEffect(() => {
    if (pre.current && follow.current) pre.current.scrollTop = pre.current.scrollHeight;
  });
  const onScroll = () => {
    const el = pre.current;
    if (el) follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
  };
  const send = (data: string) => {
    if (!data || ws.current?.readyState !== WebSocket.OPEN) return false;
    ws.current.send(data);
    return true;
  };
  const onKey = (e: KeyboardEvent) => {
    if (send(keyData(e))) {
      e.preventDefault();
      follow.current = true;
    }
  };
  const onPaste = (e: ClipboardEvent) => {
    if (send((e.clipboardData?.getData('text') ?? '').replace(/\r?\n/g, '\r'))) e.preventDefault();
  };

  const t = term.current;
  const cursor = t.cursorVisible ? t.cursor() : null;
  const lines = t.lines();
  return (
    <section class="card" aria-labelledby="console-title">
      <div class="card-head">
        <h2 id="console-title">Serial console (serial{props.serial})</h2>
        <span class="muted" role="status">
          {state}
        </span>
      </div>
      <pre
        ref={pre}
        class="console"
        role="log"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the console takes keyboard input when focused
        tabIndex={0}
        onKeyDown={onKey}
        onPaste={onPaste}
        onScroll={onScroll}
        aria-label={`Serial console of VM ${props.vmid}; type to send keys`}
        data-testid="console"
      >
        {/* a terminal line's key is its row number */}
        {lines.map((runs, i) => (
          <span key={i} class="ln">
            <Line runs={runs} cursor={cursor && cursor.line === i ? cursor.col : null} />
            {'\n'}
          </span>
        ))}
      </pre>
    </section>
  );
}
