/** S3 errors: an XML <Error> body with a code, a message and the request id. */
import { xmlEscape } from './xml.js';

const CODES: Record<string, [number, string]> = {
  AccessDenied: [403, 'Access Denied'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidDigest: [400, 'The Content-MD5 you specified was invalid.'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what we received.'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed object size.'],
  InvalidRequest: [400, 'Invalid Request'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist.'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchUpload: [404, 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  PreconditionFailed: [412, 'At least one of the preconditions you specified did not hold.'],
  InvalidRange: [416, 'The requested range is not satisfiable.'],
  NotImplemented: [501, 'A header or query you provided implies functionality that is not implemented.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
};

export class S3Error extends Error {
  readonly status: number;
  constructor(readonly code: keyof typeof CODES | string, message?: string, readonly headers: Record<string, string> = {}) {
    const [status, text] = CODES[code] ?? [400, code];
    super(message ?? text);
    this.status = status;
    this.name = 'S3Error';
  }
}

export const s3Error = (code: string, message?: string, headers?: Record<string, string>) => new S3Error(code, message, headers);

/** The XML body of an error (HEAD answers carry none). */
export function errorXml(e: S3Error, requestId: string, resource?: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message>`
    + `${resource ? `<Resource>${xmlEscape(resource)}</Resource>` : ''}<RequestId>${requestId}</RequestId></Error>`;
}
