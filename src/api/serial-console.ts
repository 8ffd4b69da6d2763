/**
 * @module api/serial-console
 * The browser's serial console: a WebSocket at
 * `/api2/json/nodes/{node}/qemu/{vmid}/serial/ws?serial=N` on the API's own HTTPS server, joined
 * to the VM's `serialN: socket` chardev (the unix socket `<run dir>/<vmid>.serialN` QEMU
 * listens on). The upgrade is authenticated like any API call (ticket cookie) and needs
 * VM.Console on the VM; a WebSocket from another origin is refused (the cookie would go along).
 * Bytes pass through both ways unchanged; either side closing closes the other. On a cluster
 * member a console of another node's VM is tunnelled to that node (api/proxy.ts).
 */

import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:https';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { reasonPhrase } from './errors.js';
import { PROXY_HEADER, ProxyError } from './proxy.js';
import type { ServerContext } from './types.js';

const PATH = /^\/api2\/json\/nodes\/([a-zA-Z0-9.-]+)\/qemu\/(\d+)\/serial\/ws(?:\?serial=([0-3]))?$/;

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function attachSerialConsole(server: Server, context: ServerContext, log: (line: string) => void): void {
  let wss: import('ws').WebSocketServer | undefined;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handle(req, socket, head).catch((err: Error) => {
      log(`serial console: ${err.message}`);
      refuse(socket, 500, 'Internal Server Error');
    });
  });

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const m = PATH.exec(req.url ?? '');
    if (!m) return refuse(socket, 404, 'Not Found');
    const target = m[1] === context.node ? undefined : await context.proxy?.targetOf(m[1] as string).catch((err: unknown) => err as ProxyError);
    if (target instanceof ProxyError) return refuse(socket, target.status, reasonPhrase(target.message));
    if (m[1] !== context.node && !target) return refuse(socket, 404, 'Not Found');
    const origin = req.headers.origin;
    if (origin !== undefined && new URL(origin).host !== req.headers.host) return refuse(socket, 403, 'Forbidden');
    const vmid = Number(m[2]);
    const serial = Number(m[3] ?? 0);
    try {
      const identity = await context.access.authenticate({ method: 'GET', ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}) });
      await context.access.check(identity, `/vms/${vmid}`, ['VM.Console']);
    } catch {
      return refuse(socket, 401, 'Unauthorized');
    }
    if (target) {
      // another node's VM: tunnelled there (it checks the credential again), like pveproxy
      if (req.headers[PROXY_HEADER] !== undefined) return refuse(socket, 500, 'proxy loop detected');
      return context.proxy?.forwardUpgrade(req, socket, head, m[1] as string, target).catch((err: Error) =>
        refuse(socket, err instanceof ProxyError ? err.status : 500, reasonPhrase(err.message)),
      );
    }
    const path = join((await context.facts()).paths.runDir, `${vmid}.serial${serial}`);
    const { WebSocketServer } = await import('ws');
    wss ??= new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    wss.handleUpgrade(req, socket, head, (ws) => {
      const chardev = connect(path);
      chardev.on('data', (data) => ws.send(data, { binary: true }));
      chardev.on('error', (err) => ws.close(1011, `serial${serial}: ${err.message}`.slice(0, 120)));
      chardev.on('close', () => ws.close(1000, 'serial port closed'));
      ws.on('message', (data) => chardev.write(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)));
      ws.on('close', () => chardev.destroy());
    });
  }
}
