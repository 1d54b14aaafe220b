import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The metadata service (169.254.169.254:80) for guests on QEMU user-mode networking.
 *
 * slirp only forwards guest connections ("guestfwd") to addresses inside its own virtual
 * network, so user-mode NICs use net=169.254.169.0/24 and a guestfwd for
 * 169.254.169.254:80 whose `cmd:` QEMU forks per connection, with the connection as
 * stdin/stdout. That command is this small node script: it adds `X-Instance-ID: <uuid>`
 * (the guest has no distinctive source address here) and the URL's path prefix to the
 * request, and relays the bytes to the metadata URL (plain http). Without a URL it answers
 * 404 at once, so the guest falls back to its config drive instead of waiting on timeouts,
 * and no guest request ever reaches a real 169.254.169.254 next to the host.
 */

export const SLIRP_NET = { net: '169.254.169.0/24', host: '169.254.169.2', dns: '169.254.169.3', dhcpstart: '169.254.169.15' };
export const METADATA_ADDR = '169.254.169.254';

const SCRIPT = `'use strict';
// Written by nubo's qemu driver: one guest connection (stdin/stdout) -> the metadata URL.
const net = require('net');
const [url, uuid] = process.argv.slice(2);
const input = new net.Socket({ fd: 0, readable: true, writable: false });
const output = new net.Socket({ fd: 1, readable: false, writable: true });
let head = Buffer.alloc(0);
let upstream = null;
function notFound() {
  output.end('HTTP/1.0 404 Not Found\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n', () => process.exit(0));
}
input.on('data', (d) => {
  if (upstream) return upstream.write(d);
  head = Buffer.concat([head, d]);
  const eol = head.indexOf('\\r\\n');
  if (eol < 0) return;
  if (!url || url === '-') return notFound();
  const u = new URL(url);
  const prefix = u.pathname.replace(/\\/+$/, '');
  const line = head.subarray(0, eol).toString('latin1').replace(/^(\\S+) (\\S+)/, (_, m, p) => m + ' ' + prefix + p);
  upstream = net.connect(Number(u.port) || 80, u.hostname);
  upstream.write(line + '\\r\\nX-Instance-ID: ' + uuid);
  upstream.write(head.subarray(eol));
  upstream.pipe(output);
  upstream.on('error', () => { output.destroy(); process.exit(0); });
  upstream.on('close', () => process.exit(0));
});
input.on('end', () => { if (upstream) upstream.end(); else process.exit(0); });
input.on('error', () => process.exit(0));
setTimeout(() => process.exit(0), 60000).unref();
`;

/** Writes the forwarder into `dir` (once per driver) and returns its path. */
export function installForwarder(dir: string): string {
  const path = join(dir, '.nubo-metadata-forward.cjs');
  writeFileSync(path, SCRIPT, { mode: 0o644 });
  return path;
}

/** The -netdev user guestfwd= value (commas doubled for QEMU's option parser). */
export function guestfwdOption(script: string, uuid: string, metadataUrl?: string): string {
  const cmd = [process.execPath, script, metadataUrl || '-', uuid].join(' ');
  return `guestfwd=tcp:${METADATA_ADDR}:80-cmd:${cmd.replace(/,/g, ',,')}`;
}
