import type { Readable, Transform } from 'node:stream';

/**
 * Pipes a request body into a transform so that the body's failure (the client hanging up
 * mid-stream) fails the transform too, with `aborted()` as the error: `pipe` alone would leave
 * the transform waiting forever. Shared by every service that streams uploads.
 */
export function pipeRequestBody<T extends Transform>(body: Readable, through: T, aborted: () => Error): T {
  const fail = (e?: Error) => { if (!through.destroyed) through.destroy(e ?? aborted()); };
  body.once('error', (e) => fail(e));
  body.once('aborted', () => fail());
  // An HTTP request body knows whether all of it arrived (`complete`), even if not yet read.
  const complete = () => ('complete' in body ? (body as { complete: boolean }).complete : body.readableEnded);
  body.once('close', () => { if (!complete()) fail(); });
  return body.pipe(through);
}
