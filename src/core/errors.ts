/** An error that maps to an HTTP status; each service renders it in its own error format. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly title: string = statusTitle(status),
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

export const badRequest = (msg: string) => new HttpError(400, msg);
export const unauthorized = (msg = 'The request you have made requires authentication.') =>
  new HttpError(401, msg, 'Unauthorized', { 'WWW-Authenticate': 'Keystone uri="http://127.0.0.1:5000"' });
export const forbidden = (msg = 'You are not authorized to perform the requested action.') => new HttpError(403, msg);
export const notFound = (msg: string) => new HttpError(404, msg);
export const conflict = (msg: string) => new HttpError(409, msg);

/** An error body already rendered as text, with its own content type (Glance's HTML/plain answers). */
export interface RenderedError {
  contentType: string;
  text: string;
}

export const isRenderedError = (x: unknown): x is RenderedError =>
  typeof x === 'object' && x !== null && typeof (x as RenderedError).contentType === 'string' && typeof (x as RenderedError).text === 'string';

/**
 * Renders an error body in a service's own format (Keystone, Nova, Neutron... differ): a JSON
 * value, or a RenderedError when the format depends on the request's Accept header.
 */
export type ErrorFormatter = (err: HttpError, request?: { accept?: string; requestId?: string }) => unknown;

/** Keystone: {"error": {"code", "title", "message"}}. */
export const keystoneErrorFormat: ErrorFormatter = (err) => ({
  error: { code: err.status, title: err.title, message: err.message },
});

const escapeHtml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#x27;');

/** The first of text/html and application/json the Accept header allows, as WebOb picks (none: text/html). */
function webobOffer(accept: string | undefined): 'text/html' | 'application/json' | 'text/plain' {
  if (!accept || accept.trim() === '') return 'text/html';
  const ranges = accept.split(',').map((part) => {
    const [type, ...params] = part.trim().split(';').map((x) => x.trim());
    const q = params.find((p) => p.startsWith('q='));
    return { type: type.toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
  });
  const quality = (offer: string) => {
    const [major] = offer.split('/');
    let best: { q: number; exact: number } | undefined;
    for (const r of ranges) {
      const exact = r.type === offer ? 3 : r.type === `${major}/*` ? 2 : r.type === '*/*' ? 1 : 0;
      if (exact && (!best || exact > best.exact)) best = { q: r.q, exact };
    }
    return best?.q ?? 0;
  };
  const html = quality('text/html');
  const json = quality('application/json');
  if (html <= 0 && json <= 0) return 'text/plain';
  return json > html ? 'application/json' : 'text/html';
}

/**
 * Glance (WebOb): HTML, JSON {"message", "code": "404 Not Found", "title"} or plain text, as the
 * Accept header asks; a 401 from the token check keeps keystonemiddleware's JSON body.
 */
export const glanceErrorFormat: ErrorFormatter = (err, request) => {
  if (err.status === 401) return keystoneErrorFormat(err);
  const status = `${err.status} ${err.title}`;
  switch (webobOffer(request?.accept)) {
    case 'application/json':
      return { message: `${err.message}<br /><br />\n\n\n`, code: status, title: err.title };
    case 'text/html':
      return {
        contentType: 'text/html; charset=UTF-8',
        text: `<html>\n <head>\n  <title>${status}</title>\n </head>\n <body>\n  <h1>${status}</h1>\n  ${escapeHtml(err.message)}<br /><br />\n\n\n\n </body>\n</html>`,
      } satisfies RenderedError;
    default:
      // WebOb strips the tags: newlines become spaces, each <br /> a newline.
      return { contentType: 'text/plain; charset=UTF-8', text: `${status}\n\n${err.message.replaceAll('\n', ' ')}\n\n   ` } satisfies RenderedError;
  }
};

/**
 * Placement: {"errors": [{"status", "title", "detail", "request_id", "code"}]}. An error may
 * carry Placement's machine-readable code (`placement.concurrent_update`, ...) as `code`.
 */
export const placementErrorFormat: ErrorFormatter = (err, request) => {
  if (err.status === 401) return keystoneErrorFormat(err);
  const code = (err as HttpError & { code?: string }).code ?? 'placement.undefined_code';
  return {
    errors: [{ status: err.status, title: err.title, detail: err.message, request_id: request?.requestId ?? '', code }],
  };
};

const NOVA_FAULT_NAMES: Record<number, string> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'badMethod',
  409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 429: 'overLimit', 501: 'notImplemented', 503: 'serviceUnavailable',
};

/** Nova (and Cinder): {"<faultName>": {"code", "message"}}; a 401 from the token check keeps keystonemiddleware's body. */
export const novaErrorFormat: ErrorFormatter = (err) => {
  if (err.status === 401) return keystoneErrorFormat(err);
  return { [NOVA_FAULT_NAMES[err.status] ?? 'computeFault']: { code: err.status, message: err.message } };
};

const NEUTRON_TYPES: Record<number, string> = {
  400: 'HTTPBadRequest', 403: 'HTTPForbidden', 404: 'HTTPNotFound', 405: 'HTTPMethodNotAllowed', 409: 'HTTPConflict',
  413: 'HTTPRequestEntityTooLarge', 415: 'HTTPUnsupportedMediaType', 500: 'HTTPInternalServerError', 501: 'HTTPNotImplemented', 503: 'HTTPServiceUnavailable',
};

/**
 * Neutron: {"NeutronError": {"type", "message", "detail"}}; `type` is the exception's class name
 * (NetworkNotFound, IpAddressInUse...) when the error carries one; a 401 keeps keystonemiddleware's body.
 */
export const neutronErrorFormat: ErrorFormatter = (err) => {
  if (err.status === 401) return keystoneErrorFormat(err);
  const type = (err as HttpError & { type?: string }).type ?? NEUTRON_TYPES[err.status] ?? 'HTTPError';
  return { NeutronError: { type, message: err.message, detail: '' } };
};
