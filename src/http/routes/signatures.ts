import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';
import busboy from 'busboy';
import { AppError, ValidationError, type FieldError } from '../../errors';
import type { SigningService } from '../../signing/service';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';
import { validateBody, validateQuery } from '../validation';

/** Everything a signing request says besides the document: in the query, or in a multipart `options` part. */
const SignOptions = Type.Object(
  {
    sealId: Type.String({ pattern: '^seal_[0-9a-f]{28}$', description: 'Required: here or in the multipart options part' }),
    format: Type.Union([Type.Literal('pades'), Type.Literal('cades'), Type.Literal('ses')], {
      description: 'Required: here or in the multipart options part. ses: a GB/T 38540 SES_Signature (DER) over SM3(document), SM2 seals only',
    }),
    propertyInfo: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x20-\\x7e]+$', description: 'SES: what was signed (TBS_Sign.propertyInfo), printable ASCII' }),
    ),
    level: Type.Optional(Type.Union([Type.Literal('B-B'), Type.Literal('B-T'), Type.Literal('B-LT'), Type.Literal('B-LTA')], { default: 'B-T' })),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'PAdES: page of the visible seal (1-based)' })),
    x: Type.Optional(Type.Number({ minimum: 0, maximum: 14400, description: 'PAdES: left edge of the visible seal, PDF points from the bottom-left' })),
    y: Type.Optional(Type.Number({ minimum: 0, maximum: 14400 })),
    width: Type.Optional(Type.Number({ minimum: 20, maximum: 600, description: 'PAdES: diameter of the visible seal in points (default 120)' })),
    reason: Type.Optional(Type.String({ maxLength: 200 })),
    location: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
type SignOptions = Static<typeof SignOptions>;

/**
 * The route's query: the same fields, all optional, because a multipart request may carry them
 * in its `options` part instead. The complete set is checked against SignOptions in the handler.
 */
const SignQuery = Type.Partial(SignOptions);
type SignQuery = Static<typeof SignQuery>;

/** Largest document accepted (documented in the README). */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** Room for multipart boundaries, part headers and the options part around a document of MAX_DOCUMENT_BYTES. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** The `options` part is a small JSON object. */
const MAX_OPTIONS_BYTES = 8 * 1024;

const RAW_TYPES = ['application/pdf', 'application/octet-stream'];
const MULTIPART = 'multipart/form-data';

const tooLarge = () =>
  new AppError('PAYLOAD_TOO_LARGE', `The document exceeds the limit of ${MAX_DOCUMENT_BYTES} bytes`, { details: { limit: MAX_DOCUMENT_BYTES } });

export interface MultipartSignRequest {
  document: Buffer;
  /** The `file` part's declared media type (busboy: text/plain when the part declares none). */
  mimeType: string;
  /** The `options` part, parsed as JSON but not yet validated; undefined when absent. */
  options: unknown;
}

/**
 * Reads a multipart/form-data signing request (RFC 7578): exactly one `file` part (a file part,
 * i.e. with a filename, at most MAX_DOCUMENT_BYTES) and at most one `options` part (JSON, as a
 * field or as a file part). Any other part, a second `file` or `options`, a malformed body or a
 * missing boundary is a 4xx AppError; parsing stops at the first problem.
 *
 * Takes a stream so that it can read the request itself; today the route registry buffers the
 * body first (express.raw), so the route passes that buffer as a stream.
 */
export function readSignMultipart(source: Readable, headers: IncomingHttpHeaders): Promise<MultipartSignRequest> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers,
        limits: { fileSize: MAX_DOCUMENT_BYTES, fieldSize: MAX_OPTIONS_BYTES, fieldNameSize: 100, parts: 4, headerPairs: 20 },
      });
    } catch (e) {
      // busboy throws on a missing or unusable boundary parameter.
      reject(new AppError('PARSE_ERROR', 'The multipart/form-data body is malformed: the Content-Type has no usable boundary', { cause: e }));
      return;
    }
    let done = false;
    let file: { chunks: Buffer[]; mimeType: string; ended: boolean } | undefined;
    let optionsText: string | undefined;
    let optionsPending = false;

    const fail = (err: Error) => {
      if (done) return;
      done = true;
      reject(err);
      // Stop feeding the parser and drain the rest of the input. The parser is destroyed on the
      // next turn: destroying it from inside its own callbacks leaves busboy in a broken state.
      source.unpipe(bb);
      source.resume();
      setImmediate(() => bb.destroy());
    };
    // busboy calls these from inside its write path: an exception there would escape into the
    // request stream (an uncaught error), so every handler goes through guard().
    const guard =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A) => {
        try {
          fn(...args);
        } catch (e) {
          fail(e as Error);
        }
      };
    // A part may have no name parameter at all (busboy then passes undefined).
    const unknownPart = (name: string | undefined) =>
      fail(
        new ValidationError('The multipart body has a part this route does not take; send `file` and optionally `options`', [
          {
            pointer: name === undefined ? '/' : `/${name.slice(0, 100).replace(/~/g, '~0').replace(/\//g, '~1')}`,
            detail: name === undefined ? 'a part has no name' : 'is not a known part',
            code: 'UNKNOWN_FIELD',
          },
        ]),
      );
    const duplicate = (name: string) =>
      fail(new ValidationError(`The multipart body has more than one \`${name}\` part`, [{ pointer: `/${name}`, detail: 'is given more than once', code: 'DUPLICATE' }]));
    const optionsTooLarge = () =>
      fail(new AppError('PAYLOAD_TOO_LARGE', `The options part exceeds ${MAX_OPTIONS_BYTES} bytes`, { details: { limit: MAX_OPTIONS_BYTES } }));

    bb.on(
      'file',
      guard((name: string | undefined, stream: Readable, info: busboy.FileInfo) => {
        // A destroyed parser errors its open file stream ("Unexpected end of file"); expected after fail().
        stream.on('error', () => undefined);
        if (done) return void stream.resume();
        if (name === 'options') {
          // Also accept `-F options=@opts.json`: small, read as UTF-8 text.
          if (optionsPending || optionsText !== undefined) return duplicate('options');
          optionsPending = true;
          const parts: Buffer[] = [];
          let size = 0;
          stream.on(
            'data',
            guard((c: Buffer) => {
              size += c.length;
              if (size > MAX_OPTIONS_BYTES) optionsTooLarge();
              else parts.push(c);
            }),
          );
          stream.on(
            'end',
            guard(() => {
              optionsPending = false;
              optionsText = Buffer.concat(parts).toString('utf8');
            }),
          );
          return;
        }
        if (name !== 'file') {
          stream.resume();
          return unknownPart(name);
        }
        if (file) {
          stream.resume();
          return duplicate('file');
        }
        const current = { chunks: [] as Buffer[], mimeType: info.mimeType.toLowerCase(), ended: false };
        file = current;
        stream.on('data', (c: Buffer) => current.chunks.push(c));
        stream.on('limit', guard(() => fail(tooLarge())));
        stream.on('end', () => (current.ended = true));
      }),
    );
    bb.on(
      'field',
      guard((name: string | undefined, value: string, info: busboy.FieldInfo) => {
        if (done) return;
        if (name === 'options') {
          if (info.valueTruncated) return optionsTooLarge();
          if (optionsPending || optionsText !== undefined) return duplicate('options');
          optionsText = value;
          return;
        }
        if (name === 'file') {
          return fail(
            new ValidationError('Send the document as a file part (Content-Disposition with a filename), not as a text field', [
              { pointer: '/file', detail: 'must be a file part', code: 'WRONG_TYPE' },
            ]),
          );
        }
        unknownPart(name);
      }),
    );
    bb.on('partsLimit', () => fail(new ValidationError('The multipart body has too many parts; send `file` and optionally `options`', [], 'VALIDATION_FAILED')));
    bb.on('error', (e: unknown) => fail(new AppError('PARSE_ERROR', 'The multipart/form-data body is malformed', { cause: e })));
    bb.on(
      'close',
      guard(() => {
        if (done) return;
        if (!file || !file.ended) {
          return fail(new ValidationError('The multipart body has no `file` part', [{ pointer: '/file', detail: 'is required', code: 'REQUIRED' }]));
        }
        let options: unknown;
        if (optionsText !== undefined) {
          try {
            options = JSON.parse(optionsText);
          } catch (e) {
            return fail(new AppError('MALFORMED_JSON', 'The options part is not valid JSON', { cause: e }));
          }
        }
        done = true;
        const document = Buffer.concat(file.chunks);
        file.chunks.length = 0;
        resolve({ document, mimeType: file.mimeType, options });
      }),
    );
    source.on('error', (e) => fail(new AppError('VALIDATION_FAILED', 'The request body could not be read', { cause: e })));
    source.pipe(bb);
  });
}

/**
 * The options of a multipart request: the `options` part (JSON types, not coerced) merged with
 * the query. A field may be given in one place only, so a request never means two things.
 */
function multipartOptions(options: unknown, query: SignQuery, rawQuery: Record<string, unknown>): SignOptions {
  let fromPart: SignQuery = {};
  if (options !== undefined) {
    try {
      fromPart = validateBody<SignQuery>(SignQuery, options);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      const errors = (e.errors ?? []).map((fe) => ({ ...fe, pointer: `/options${fe.pointer === '/' ? '' : fe.pointer}` }));
      throw new ValidationError('The options part did not pass validation', errors);
    }
  }
  const twice = Object.keys(fromPart).filter((k) => k in rawQuery);
  if (twice.length) {
    throw new ValidationError(
      'A signing option is given both in the query and in the options part',
      twice.map((k) => ({ pointer: `/options/${k}`, detail: 'is also given in the query', code: 'DUPLICATE' })),
    );
  }
  const merged = { ...query, ...fromPart };
  const missing: FieldError[] = (['sealId', 'format'] as const)
    .filter((k) => merged[k] === undefined)
    .map((k) => ({ pointer: `/options/${k}`, detail: 'is required (in the options part or the query)', code: 'REQUIRED' }));
  if (missing.length) throw new ValidationError('The signing options are incomplete', missing);
  return merged as SignOptions;
}

export function signatureRoutes(signing: SigningService): RouteSpec[] {
  return [
    route<Buffer, SignQuery>({
      method: 'post',
      path: '/v1/signatures',
      operationId: 'sign',
      summary:
        'Sign a document with a seal: PAdES (signed PDF back), CAdES detached (.p7s back) or, with an SM2 seal, a GB/T 38540 ' +
        'SES_Signature (format=ses, DER back; B-T adds an RFC 3161 time-stamp over the signature value); the log index is in X-Log-Index. ' +
        'The document is the body (application/pdf, application/octet-stream) or the `file` part of multipart/form-data, whose ' +
        'optional `options` part (JSON) may carry the query fields instead.',
      tags: ['signatures'],
      access: ['signer', 'counter'],
      query: SignQuery,
      // The registry buffers the body (express.raw) before the handler, multipart included; the
      // limit leaves room for the multipart framing, and the document itself is held to
      // MAX_DOCUMENT_BYTES below (raw) or by busboy (multipart).
      raw: { contentTypes: [...RAW_TYPES, MULTIPART], limit: MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD_BYTES },
      responses: {
        200: { description: 'The signed PDF (application/pdf) or the detached signature (application/pkcs7-signature)', contentType: 'application/pdf' },
        400: { description: 'Bad query, options or multipart body, or a malformed document', schema: Problem },
        403: { description: "Another agency's seal, or a key without signer/counter", schema: Problem },
        409: { description: 'The seal is suspended or revoked', schema: Problem },
        413: { description: 'Document too large', schema: Problem },
        415: { description: 'PAdES of a document not declared application/pdf', schema: Problem },
        422: { description: 'Encrypted or unsupported PDF', schema: Problem },
      },
      async handler({ principal, query, body, req, res }) {
        let options: SignOptions;
        let document: Buffer;
        let isPdf: boolean;
        if (req.is(MULTIPART)) {
          const m = await readSignMultipart(Readable.from([body]), req.headers);
          options = multipartOptions(m.options, query, req.query as Record<string, unknown>);
          document = m.document;
          isPdf = m.mimeType === 'application/pdf';
        } else {
          options = validateQuery<SignOptions>(SignOptions, query);
          if (body.length > MAX_DOCUMENT_BYTES) throw tooLarge();
          document = body;
          isPdf = Boolean(req.is('application/pdf'));
        }
        if (document.length === 0) throw new AppError('VALIDATION_FAILED', 'The document is empty');
        if (options.format === 'pades' && !isPdf) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'PAdES signs PDFs: send the document as application/pdf');
        }
        const r = await signing.sign(principal!, {
          sealId: options.sealId,
          format: options.format,
          level: options.level ?? 'B-T',
          document,
          propertyInfo: options.propertyInfo,
          pades: { page: options.page, x: options.x, y: options.y, width: options.width, reason: options.reason, location: options.location },
        });
        res.setHeader('X-Log-Index', String(r.logIndex));
        const file = options.format === 'cades' ? 'signature.p7s' : options.format === 'ses' ? 'SignedValue.dat' : 'signed.pdf';
        res.setHeader('Content-Disposition', `attachment; filename="${file}"`);
        res.type(r.contentType).send(r.bytes);
      },
    }),
  ];
}
