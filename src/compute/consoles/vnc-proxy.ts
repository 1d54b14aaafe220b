import { existsSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../core/logger.js';
import { fromJson, type ComputeContext } from '../service/context.js';
import type { ConsoleTokens } from './tokens.js';

export const PROXY_PATH = '/vnc-proxy';
/** Debian's noVNC (package novnc), served under /novnc/ when installed. */
export const NOVNC_DIR = '/usr/share/novnc';
export const novncInstalled = () => existsSync(`${NOVNC_DIR}/vnc_lite.html`);

/**
 * The websocket proxy noVNC talks to (nova-novncproxy): GET /vnc-proxy?token=... upgraded to a
 * websocket whose binary frames are the guest's VNC (RFB) stream. The token names the server;
 * its VNC server is the unix socket the driver reports (QEMU's, on the guest's host).
 */
export function attachVncProxy(server: Server, c: ComputeContext, tokens: ConsoleTokens, logger: Logger, localHosts: ReadonlySet<string>): void {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false) });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== PROXY_PATH) return socket.destroy();
    const t = tokens.check(url.searchParams.get('token') ?? '');
    const refuse = (code: number, why: string) => {
      socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!t) return refuse(401, 'Invalid Token');
    void (async () => {
      const row = await c.db.selectFrom('instance').select(['host', 'driver_info', 'deleted']).where('uuid', '=', t.instanceUuid).executeTakeFirst();
      const path = fromJson<{ vnc_socket?: string }>(row?.driver_info, {}).vnc_socket;
      if (!row || row.deleted || !path) return refuse(404, 'Console Not Available');
      // QEMU serves VNC on a unix socket of its host: only guests of this process's agents are reachable
      if (!localHosts.has(row.host ?? '')) return refuse(503, 'Console Proxy Not On This Host');
      wss.handleUpgrade(req, socket, head, (ws) => {
        const vnc = connect(path);
        vnc.on('data', (d) => ws.send(d));
        vnc.on('close', () => ws.close());
        vnc.on('error', (e) => { logger.warn({ err: e, instance: t.instanceUuid }, 'vnc connection failed'); ws.close(); });
        ws.on('message', (d) => vnc.write(d as Buffer));
        ws.on('close', () => vnc.destroy());
        ws.on('error', () => vnc.destroy());
      });
    })().catch(() => refuse(500, 'Internal Server Error'));
  });
}
