import type { MetadataSigner } from '../../../core/auth/metadata-signer.js';
import { notFound, HttpError } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { metadataDocuments } from '../../agent/metadata.js';
import { injectedFiles } from '../../service/personality.js';
import type { ComputeContext } from '../../service/context.js';
import { fromJson } from '../../service/context.js';
import type { NetworkInfoItem } from '../../network/network-api.js';

/**
 * The metadata service guests reach at 169.254.169.254. The host side forwards each guest
 * request here as /nubo-metadata/<signature>/<path> with `X-Instance-ID`; the signature is an
 * HMAC of the instance id under a secret only the cloud knows (as Nova's
 * X-Instance-ID-Signature), so a guest can only ever read its own documents.
 */

const OPENSTACK_VERSIONS = ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27', '2020-10-14', 'latest'];
const EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04', 'latest'];

export function metadataRoutes(c: ComputeContext, signer: MetadataSigner): Route[] {
  const handler = async (ctx: RequestCtx) => {
    const id = ctx.req.headers['x-instance-id'];
    if (typeof id !== 'string' || !signer.verify(id, ctx.params.sig)) throw new HttpError(403, 'Invalid proxy request signature.');
    const row = await c.db.selectFrom('instance').selectAll().where('uuid', '=', id).where('deleted', '=', 0).executeTakeFirst();
    if (!row) throw notFound('Instance not found');
    const meta = Object.fromEntries((await c.db.selectFrom('instance_metadata').selectAll().where('instance_uuid', '=', id).execute()).map((m) => [m.key, m.value]));
    const docs = metadataDocuments(row, meta, await injectedFiles(c.db, id));
    const path = (ctx.params['*'] ?? '').replace(/\/+$/, '');
    const text = (s: string) => ctx.reply.type('text/plain; charset=utf-8').send(s);
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'openstack') {
      if (parts.length === 1) return text(OPENSTACK_VERSIONS.join('\n'));
      // personality files, as Nova serves them: openstack/content/<key> (the content_path of meta_data.json's files)
      if (parts[1] === 'content') {
        if (parts.length === 2) return text([...docs.content.keys()].join('\n'));
        const bytes = parts.length === 3 ? docs.content.get(parts[2]) : undefined;
        if (!bytes) throw notFound('The resource could not be found.');
        return ctx.reply.type('application/octet-stream').send(bytes);
      }
      if (!OPENSTACK_VERSIONS.includes(parts[1])) throw notFound('The resource could not be found.');
      if (parts.length === 2) return text(['meta_data.json', ...(docs.userData ? ['user_data'] : []), 'network_data.json', 'vendor_data.json', 'vendor_data2.json'].join('\n'));
      switch (parts[2]) {
        case 'meta_data.json': return docs.metaData;
        case 'network_data.json': return docs.networkData;
        case 'vendor_data.json': return {};
        case 'vendor_data2.json': return docs.vendorData;
        case 'user_data':
          if (!docs.userData) throw notFound('The resource could not be found.');
          return ctx.reply.type('application/octet-stream').send(docs.userData);
        default: throw notFound('The resource could not be found.');
      }
    }
    if (parts.length === 0) return text(EC2_VERSIONS.join('\n'));
    if (!EC2_VERSIONS.includes(parts[0])) throw notFound('The resource could not be found.');
    if (parts.length === 1) return text(['meta-data/', ...(docs.userData ? ['user-data'] : [])].join('\n'));
    if (parts[1] === 'user-data') {
      if (!docs.userData) throw notFound('The resource could not be found.');
      return ctx.reply.type('application/octet-stream').send(docs.userData);
    }
    if (parts[1] !== 'meta-data') throw notFound('The resource could not be found.');
    const ip = fromJson<NetworkInfoItem[]>(row.network_info, [])[0]?.ips.find((x) => x.version === 4)?.address ?? '';
    const keys = row.key_name && row.key_data ? [[row.key_name, row.key_data]] : [];
    const tree: Record<string, unknown> = {
      'ami-id': 'ami-00000001', 'ami-launch-index': String(row.launch_index), 'ami-manifest-path': 'FIXME', hostname: row.hostname,
      'instance-action': 'none', 'instance-id': `i-${row.uuid.slice(0, 8)}`, 'instance-type': fromJson<{ name: string }>(row.flavor, { name: '' }).name,
      'local-hostname': row.hostname, 'local-ipv4': ip, 'public-hostname': row.hostname, 'public-ipv4': '', 'reservation-id': row.reservation_id,
      placement: { 'availability-zone': row.availability_zone ?? '' }, 'security-groups': fromJson<string[]>(row.security_groups, []).join('\n'),
      'public-keys': Object.fromEntries(keys.map(([name, key], i) => [`${i}=${name}`, { 'openssh-key': key }])),
    };
    let node: unknown = tree;
    for (const p of parts.slice(2)) {
      if (typeof node !== 'object' || node === null) throw notFound('The resource could not be found.');
      const obj = node as Record<string, unknown>;
      // public-keys/0 is listed as "0=name"
      const key = p in obj ? p : Object.keys(obj).find((k) => k.split('=')[0] === p);
      if (key === undefined) throw notFound('The resource could not be found.');
      node = obj[key];
    }
    if (typeof node === 'object' && node !== null) {
      return text(Object.entries(node).map(([k, v]) => (typeof v === 'object' && v !== null && !k.includes('=') ? `${k}/` : k)).join('\n'));
    }
    return text(String(node));
  };
  return [{ method: 'GET', url: '/nubo-metadata/:sig/*', policy: 'public', handler }];
}
