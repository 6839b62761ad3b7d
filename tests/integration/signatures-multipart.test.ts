import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { AppError } from '../../src/errors';
import { MAX_DOCUMENT_BYTES, readSignMultipart } from '../../src/http/routes/signatures';
import { tmpDir } from '../helpers/stores';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * POST /v1/signatures with multipart/form-data: a `file` part and an optional `options` part
 * (JSON) instead of a raw body and query fields. Every malformed request is a 4xx problem with a
 * precise code, never a 500.
 */
const A = '11330105002500287C';
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

let t: TestApp;
let work: string;
let sealId: string;
let signer: string;
const pdf = buildPdf({ pages: 2 });

beforeAll(async () => {
  t = await startTestApp();
  work = tmpDir('eseal-multipart-');
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  sealId = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201)).body.id;
  signer = await t.key(A, ['signer']);
}, 60_000);
afterAll(async () => {
  await t.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const post = (query = '') => t.request.post(`/v1/signatures${query}`).set(auth(signer));

function pdfsig(bytes: Buffer, name: string): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, bytes);
  try {
    return execFileSync('pdfsig', ['-nocert', file], { encoding: 'utf8' });
  } catch (e) {
    // pdfsig exits non-zero for some warnings; its report is what matters.
    return String((e as { stdout?: string }).stdout ?? '');
  }
}

function expectProblem(res: { status: number; headers: Record<string, string>; body: { code?: string } }, status: number, code: string) {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

describe('POST /v1/signatures as multipart/form-data', () => {
  it('signs a PDF given as the file part, options in the options part: pdfsig says the signature is valid', async () => {
    const options = { sealId, format: 'pades', level: 'B-T', page: 1, x: 400, y: 80, width: 120, reason: '行政许可', location: '杭州' };
    const res = await post()
      .field('options', JSON.stringify(options))
      .attach('file', pdf, { filename: 'in.pdf', contentType: 'application/pdf' })
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/pdf/);
    expect(Number(res.headers['x-log-index'])).toBeGreaterThan(0);
    const signed = res.body as Buffer;
    expect(signed.subarray(0, pdf.length).equals(pdf)).toBe(true);
    const out = pdfsig(signed, 'multipart.pdf');
    expect(out).toMatch(/Signature #1:[\s\S]*Signature Type: ETSI\.CAdES\.detached[\s\S]*Signature is Valid\./);
    expect(out).toContain('Total document signed');
  }, 60_000);

  it('takes the options from the query instead, and the options part after a file part', async () => {
    const res = await post(`?sealId=${sealId}&format=cades`)
      .attach('file', Buffer.from('any document'), { filename: 'note.txt', contentType: 'text/plain' })
      .field('options', JSON.stringify({ level: 'B-B' }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/pkcs7-signature/);
  });

  it('accepts the options part as a JSON file part (curl -F options=@opts.json)', async () => {
    const res = await post()
      .attach('options', Buffer.from(JSON.stringify({ sealId, format: 'cades', level: 'B-B' })), { filename: 'opts.json', contentType: 'application/json' })
      .attach('file', Buffer.from('any document'), { filename: 'doc.bin', contentType: 'application/octet-stream' });
    expect(res.status).toBe(200);
  });

  it('malformed multipart bodies are PARSE_ERROR (400)', async () => {
    const garbage = await post().set('Content-Type', 'multipart/form-data; boundary=XYZ').send(Buffer.from('this is not multipart at all'));
    expectProblem(garbage, 400, 'PARSE_ERROR');
    const truncated = await post()
      .set('Content-Type', 'multipart/form-data; boundary=XYZ')
      .send(Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 cut off'));
    expectProblem(truncated, 400, 'PARSE_ERROR');
    const noBoundary = await post().set('Content-Type', 'multipart/form-data').send(Buffer.from('--XYZ\r\n'));
    expectProblem(noBoundary, 400, 'PARSE_ERROR');
    const badHeader = await post()
      .set('Content-Type', 'multipart/form-data; boundary=XYZ')
      .send(Buffer.from(`--XYZ\r\n${'X'.repeat(20000)}\r\n\r\nbody\r\n--XYZ--\r\n`));
    expectProblem(badHeader, 400, 'PARSE_ERROR');
    const empty = await post().set('Content-Type', 'multipart/form-data; boundary=XYZ').send(Buffer.alloc(0));
    expectProblem(empty, 400, 'PARSE_ERROR');
  });

  it('a body without a file part is VALIDATION_FAILED at /file', async () => {
    const res = await post().field('options', JSON.stringify({ sealId, format: 'pades' }));
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors).toEqual([{ pointer: '/file', detail: 'is required', code: 'REQUIRED' }]);
    const asField = await post().field('options', JSON.stringify({ sealId, format: 'cades' })).field('file', 'text, not a file part');
    expectProblem(asField, 400, 'VALIDATION_FAILED');
    expect(asField.body.errors[0]).toMatchObject({ pointer: '/file', code: 'WRONG_TYPE' });
  });

  it('two file parts, two options parts or an unknown part are VALIDATION_FAILED', async () => {
    const two = await post(`?sealId=${sealId}&format=pades`)
      .attach('file', pdf, { filename: 'a.pdf', contentType: 'application/pdf' })
      .attach('file', pdf, { filename: 'b.pdf', contentType: 'application/pdf' });
    expectProblem(two, 400, 'VALIDATION_FAILED');
    expect(two.body.errors).toEqual([{ pointer: '/file', detail: 'is given more than once', code: 'DUPLICATE' }]);
    const twoOptions = await post()
      .field('options', JSON.stringify({ sealId }))
      .field('options', JSON.stringify({ format: 'pades' }))
      .attach('file', pdf, { filename: 'a.pdf', contentType: 'application/pdf' });
    expectProblem(twoOptions, 400, 'VALIDATION_FAILED');
    expect(twoOptions.body.errors[0]).toMatchObject({ pointer: '/options', code: 'DUPLICATE' });
    const other = await post(`?sealId=${sealId}&format=pades`)
      .attach('file', pdf, { filename: 'a.pdf', contentType: 'application/pdf' })
      .attach('attachment', pdf, { filename: 'b.pdf', contentType: 'application/pdf' });
    expectProblem(other, 400, 'VALIDATION_FAILED');
    expect(other.body.errors).toEqual([{ pointer: '/attachment', detail: 'is not a known part', code: 'UNKNOWN_FIELD' }]);
  });

  it('options that are not JSON are MALFORMED_JSON; options that fail the schema are VALIDATION_FAILED under /options', async () => {
    const file = (r: ReturnType<typeof post>) => r.attach('file', pdf, { filename: 'a.pdf', contentType: 'application/pdf' });
    expectProblem(await file(post().field('options', '{"sealId": ')), 400, 'MALFORMED_JSON');
    const wrong = await file(post().field('options', JSON.stringify({ sealId, format: 'pades', page: '1', colour: 'red' })));
    expectProblem(wrong, 400, 'VALIDATION_FAILED');
    expect(wrong.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: '/options/page', code: 'WRONG_TYPE' }),
        expect.objectContaining({ pointer: '/options/colour', code: 'UNKNOWN_FIELD' }),
      ]),
    );
    const notObject = await file(post().field('options', '[1, 2]'));
    expectProblem(notObject, 400, 'VALIDATION_FAILED');
    const missing = await file(post().field('options', JSON.stringify({ format: 'pades' })));
    expectProblem(missing, 400, 'VALIDATION_FAILED');
    expect(missing.body.errors).toEqual([expect.objectContaining({ pointer: '/options/sealId', code: 'REQUIRED' })]);
    const twice = await file(post(`?sealId=${sealId}`).field('options', JSON.stringify({ sealId, format: 'pades' })));
    expectProblem(twice, 400, 'VALIDATION_FAILED');
    expect(twice.body.errors).toEqual([expect.objectContaining({ pointer: '/options/sealId', code: 'DUPLICATE' })]);
    const badQuery = await file(post('?format=xml'));
    expectProblem(badQuery, 400, 'INVALID_QUERY');
  });

  it('PAdES of a file part not declared application/pdf is UNSUPPORTED_MEDIA_TYPE (declared types, never sniffed)', async () => {
    const res = await post(`?sealId=${sealId}&format=pades`).attach('file', pdf, { filename: 'a.bin', contentType: 'application/octet-stream' });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const empty = await post(`?sealId=${sealId}&format=cades`).attach('file', Buffer.alloc(0), { filename: 'a.bin', contentType: 'application/octet-stream' });
    expectProblem(empty, 400, 'VALIDATION_FAILED');
  });

  it('a file part above MAX_DOCUMENT_BYTES is PAYLOAD_TOO_LARGE (413), as is the same document sent raw', async () => {
    const big = Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x41);
    const res = await post(`?sealId=${sealId}&format=cades`).attach('file', big, { filename: 'big.bin', contentType: 'application/octet-stream' });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.details).toEqual({ limit: MAX_DOCUMENT_BYTES });
    const raw = await post(`?sealId=${sealId}&format=cades`).set('Content-Type', 'application/octet-stream').send(big);
    expectProblem(raw, 413, 'PAYLOAD_TOO_LARGE');
  }, 60_000);

  it('the raw body still works, and still needs sealId and format in the query', async () => {
    const res = await post(`?sealId=${sealId}&format=pades&level=B-B`).set('Content-Type', 'application/pdf').send(pdf);
    expect(res.status).toBe(200);
    const missing = await post('?format=pades').set('Content-Type', 'application/pdf').send(pdf);
    expectProblem(missing, 400, 'INVALID_QUERY');
    expect(missing.body.errors).toEqual([expect.objectContaining({ pointer: '/sealId', code: 'REQUIRED' })]);
  });
});

describe('readSignMultipart on mutated input', () => {
  const boundary = 'b0undary';
  const valid = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n{"format":"cades","level":"B-B"}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 body\r\n` +
      `--${boundary}--\r\n`,
  );
  const headers = { 'content-type': `multipart/form-data; boundary=${boundary}` };

  it('only ever resolves or rejects with a 4xx AppError: no crash, no hang', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(valid.length),
        fc.integer({ min: 1, max: 64 }),
        async (edits, cut, chunk) => {
          const body = Buffer.from(valid.subarray(0, cut === 0 ? valid.length : cut));
          for (const [at, byte] of edits) if (at < body.length) body[at] = byte;
          const chunks: Buffer[] = [];
          for (let i = 0; i < body.length; i += chunk) chunks.push(body.subarray(i, i + chunk));
          try {
            const r = await readSignMultipart(Readable.from(chunks), headers);
            expect(Buffer.isBuffer(r.document)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(AppError);
            expect((e as AppError).status).toBeGreaterThanOrEqual(400);
            expect((e as AppError).status).toBeLessThan(500);
          }
        },
      ),
      // timeout: a case that neither resolves nor rejects (a hang) fails the property.
      { numRuns: 500, timeout: 5000 },
    );
  });

  it('regression: a part without a name parameter is UNKNOWN_FIELD, not an uncaught TypeError and a hung request', async () => {
    const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; filename="a.pdf"\r\n\r\nx\r\n--${boundary}--\r\n`);
    await expect(readSignMultipart(Readable.from([body]), headers)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ pointer: '/', code: 'UNKNOWN_FIELD' }] });
    const res = await t.request.post('/v1/signatures').set(auth(signer)).set('Content-Type', headers['content-type']).send(body);
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('parses the unmutated body', async () => {
    const r = await readSignMultipart(Readable.from([valid]), headers);
    expect(r).toEqual({ document: Buffer.from('%PDF-1.4 body'), mimeType: 'application/pdf', options: { format: 'cades', level: 'B-B' } });
  });
});
