import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError, ValidationError } from '../errors';

/**
 * A generic multipart/form-data reader (RFC 7578) for routes that take a few named parts, each
 * bounded. It is the pattern of readSignMultipart (src/http/routes/signatures.ts) made
 * declarative: the route names its parts, and every malformed body is a 4xx AppError with a
 * precise code — never an exception escaping from busboy's callbacks, never a hang.
 *
 * A file part with an empty filename and no content is what a browser sends for a file input
 * left empty; it counts as absent.
 *
 * Codes: no usable boundary, truncated or malformed body → PARSE_ERROR; an unknown, nameless,
 * duplicated or missing part, or a text field where a file is expected → VALIDATION_FAILED with
 * a field error (UNKNOWN_FIELD, DUPLICATE, REQUIRED, WRONG_TYPE) at `/<part name>`; a part over
 * its limit → PAYLOAD_TOO_LARGE with `details.limit`.
 */
export interface PartSpec {
  /**
   * `file`: a file part (Content-Disposition with a filename), as browsers and `curl -F x=@f`
   * send; `any`: a file part or a text field (e.g. PEM pasted into a form).
   */
  kind: 'file' | 'any';
  required?: boolean;
  /** Largest accepted part, bytes. */
  maxBytes: number;
}

export interface MultipartPart {
  data: Buffer;
  /** Declared media type, lower case (busboy: text/plain when the part declares none). */
  mimeType: string;
  /** Absent for a text field. */
  filename?: string;
}

/** Escapes a part name into a JSON Pointer segment (RFC 6901 §3), bounded. */
function pointer(name: string | undefined): string {
  return name === undefined ? '/' : `/${name.slice(0, 100).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function readMultipart<N extends string>(
  source: Readable,
  headers: IncomingHttpHeaders,
  parts: Record<N, PartSpec>,
): Promise<Partial<Record<N, MultipartPart>>> {
  const names = Object.keys(parts) as N[];
  const spec = (name: string | undefined): PartSpec | undefined =>
    name !== undefined && Object.prototype.hasOwnProperty.call(parts, name) ? parts[name as N] : undefined;
  const hint = `send ${names.map((n) => `\`${n}\`${parts[n].required ? '' : ' (optional)'}`).join(' and ')}`;
  const maxBytes = Math.max(...names.map((n) => parts[n].maxBytes));

  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers,
        // busboy's own limits are a backstop; each part's own limit is enforced below. One
        // more part than we name, so that an extra part is reported by name, not as "too many".
        limits: { fileSize: maxBytes, fieldSize: maxBytes, fieldNameSize: 100, parts: names.length + 1, headerPairs: 20 },
      });
    } catch (e) {
      // busboy throws on a missing or unusable boundary parameter.
      reject(new AppError('PARSE_ERROR', 'The multipart/form-data body is malformed: the Content-Type has no usable boundary', { cause: e }));
      return;
    }
    let done = false;
    const seen = new Set<string>();
    const got: Partial<Record<N, MultipartPart & { ended: boolean; chunks: Buffer[]; size: number }>> = {};

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
    const tooLarge = (name: string, limit: number) =>
      fail(new AppError('PAYLOAD_TOO_LARGE', `The \`${name}\` part exceeds the limit of ${limit} bytes`, { details: { limit } }));
    /** The checks every part goes through; false when the request has failed. */
    const admit = (name: string | undefined): name is N => {
      if (!spec(name)) {
        fail(
          new ValidationError(`The multipart body has a part this route does not take; ${hint}`, [
            { pointer: pointer(name), detail: name === undefined ? 'a part has no name' : 'is not a known part', code: 'UNKNOWN_FIELD' },
          ]),
        );
        return false;
      }
      if (seen.has(name!)) {
        fail(new ValidationError(`The multipart body has more than one \`${name}\` part`, [{ pointer: pointer(name), detail: 'is given more than once', code: 'DUPLICATE' }]));
        return false;
      }
      seen.add(name!);
      return true;
    };

    bb.on(
      'file',
      guard((name: string | undefined, stream: Readable, info: busboy.FileInfo) => {
        // A destroyed parser errors its open file stream ("Unexpected end of file"); expected after fail().
        stream.on('error', () => undefined);
        if (done || !admit(name)) return void stream.resume();
        const limit = parts[name].maxBytes;
        const current = { data: Buffer.alloc(0), chunks: [] as Buffer[], size: 0, mimeType: info.mimeType.toLowerCase(), filename: info.filename ?? '', ended: false };
        got[name] = current;
        stream.on(
          'data',
          guard((c: Buffer) => {
            if (done) return;
            current.size += c.length;
            if (current.size > limit) tooLarge(name, limit);
            else current.chunks.push(c);
          }),
        );
        stream.on('limit', guard(() => tooLarge(name, limit)));
        stream.on('end', () => (current.ended = true));
      }),
    );
    bb.on(
      'field',
      guard((name: string | undefined, value: string, info: busboy.FieldInfo) => {
        if (done || !admit(name)) return;
        const s = parts[name];
        if (s.kind === 'file') {
          return fail(
            new ValidationError(`Send \`${name}\` as a file part (Content-Disposition with a filename), not as a text field`, [
              { pointer: pointer(name), detail: 'must be a file part', code: 'WRONG_TYPE' },
            ]),
          );
        }
        const data = Buffer.from(value, 'utf8');
        if (info.valueTruncated || data.length > s.maxBytes) return tooLarge(name, s.maxBytes);
        got[name] = { data, chunks: [], size: data.length, mimeType: info.mimeType.toLowerCase(), ended: true };
      }),
    );
    bb.on('partsLimit', () => fail(new ValidationError(`The multipart body has too many parts; ${hint}`, [], 'VALIDATION_FAILED')));
    bb.on('error', (e: unknown) => fail(new AppError('PARSE_ERROR', 'The multipart/form-data body is malformed', { cause: e })));
    bb.on(
      'close',
      guard(() => {
        if (done) return;
        // A file part that never ended means busboy closed mid-part (truncated body).
        const unfinished = names.find((n) => got[n] && !got[n]!.ended);
        if (unfinished) return fail(new AppError('PARSE_ERROR', 'The multipart/form-data body is malformed: a part is cut off'));
        // An HTML form submits a file input left empty as a part with filename="" and no
        // content (HTML § 4.10.21.8, "constructing the entry list"): that part is absent.
        for (const n of names) if (got[n] && got[n]!.filename === '' && got[n]!.size === 0) delete got[n];
        const missing = names.filter((n) => parts[n].required && !got[n]);
        if (missing.length) {
          return fail(
            new ValidationError(
              `The multipart body has no ${missing.map((n) => `\`${n}\``).join(' or ')} part`,
              missing.map((n) => ({ pointer: pointer(n), detail: 'is required', code: 'REQUIRED' })),
            ),
          );
        }
        done = true;
        const out: Partial<Record<N, MultipartPart>> = {};
        for (const n of names) {
          const p = got[n];
          if (!p) continue;
          const data = p.chunks.length ? Buffer.concat(p.chunks) : p.data;
          p.chunks.length = 0;
          out[n] = p.filename !== undefined ? { data, mimeType: p.mimeType, filename: p.filename } : { data, mimeType: p.mimeType };
        }
        resolve(out);
      }),
    );
    source.on('error', (e) => fail(new AppError('VALIDATION_FAILED', 'The request body could not be read', { cause: e })));
    source.pipe(bb);
  });
}
