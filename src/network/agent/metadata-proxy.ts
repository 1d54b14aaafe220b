/**
 * The metadata agent: the haproxy proxies in DHCP and router namespaces forward guests'
 * requests for 169.254.169.254 to this unix socket, adding the client address and the network
 * or router it came through. From those (never from anything the guest says) it finds the
 * port, hence the instance, and forwards to compute's metadata API with the instance id signed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import type { Kysely } from 'kysely';
import type { MetadataSigner } from '../../core/auth/metadata-signer.js';
import type { Logger } from '../../core/logger.js';
import type { NetworkDB } from '../db/schema.js';
import { IF_OWNERS } from '../service/routers.js';


/** The instance behind a (network or router, source address) pair, or undefined. */
export async function instanceFor(db: Kysely<NetworkDB>, ip: string, via: { networkId?: string; routerId?: string }): Promise<string | undefined> {
  let networks: string[] = [];
  if (via.networkId) networks = [via.networkId];
  else if (via.routerId) {
    const legs = await db.selectFrom('port').select('network_id').where('device_id', '=', via.routerId).where('device_owner', 'in', IF_OWNERS).execute();
    networks = legs.map((l) => l.network_id);
  }
  if (networks.length === 0) return undefined;
  const row = await db.selectFrom('ip_allocation').innerJoin('port', 'port.id', 'ip_allocation.port_id')
    .select(['port.device_id', 'port.device_owner'])
    .where('ip_allocation.network_id', 'in', networks).where('ip_allocation.ip_address', '=', ip).executeTakeFirst();
  return row && row.device_owner.startsWith('compute:') ? row.device_id : undefined;
}

export class MetadataProxy {
  private server?: Server;
  constructor(
    private readonly db: Kysely<NetworkDB>,
    private readonly socketPath: string,
    private readonly signer: MetadataSigner,
    /** compute's base URL (http://host:port), known once the listeners are bound */
    private readonly computeUrl: () => string | undefined,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.log.warn({ err: e, url: req.url }, 'metadata request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('metadata service unavailable\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const header = (k: string) => { const v = req.headers[k]; return Array.isArray(v) ? v[0] : v; };
    // haproxy appends the real client last; anything before it came from the guest
    const ip = (header('x-forwarded-for') ?? '').split(',').at(-1)!.trim();
    const uuid = await instanceFor(this.db, ip, { networkId: header('x-nubo-network-id'), routerId: header('x-nubo-router-id') });
    const base = this.computeUrl();
    if (!uuid || !base) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found\n');
      return;
    }
    const path = (req.url ?? '/').replace(/^\/+/, '');
    const r = await fetch(`${base}/nubo-metadata/${this.signer.sign(uuid)}/${path}`, { headers: { 'x-instance-id': uuid } });
    const body = Buffer.from(await r.arrayBuffer());
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain', 'content-length': body.length });
    res.end(body);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.socketPath, { force: true });
  }
}
