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
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
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

/** Renders an error body in a service's own format (Keystone, Nova, Neutron... differ). */
export type ErrorFormatter = (err: HttpError) => unknown;

/** Keystone: {"error": {"code", "title", "message"}}. */
export const keystoneErrorFormat: ErrorFormatter = (err) => ({
  error: { code: err.status, title: err.title, message: err.message },
});
