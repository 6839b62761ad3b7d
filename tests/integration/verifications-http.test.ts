import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import supertest from 'supertest';
import { AppError } from '../../src/errors';
import { createApp } from '../../src/http/app';
import { withCreditCodeCheck } from '../../src/identifiers';
import { readMultipart } from '../../src/http/multipart';
import { MAX_VERIFY_DOCUMENT_BYTES, MAX_VERIFY_SIGNATURE_BYTES, TokenBuckets } from '../../src/http/routes/verifications';
import { esc, REPORT_CSP, renderReportHtml } from '../../src/verify/html';
import type { VerificationReport } from '../../src/verify/report';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * POST /v1/verifications (any API key), GET /verify (the public page) and POST /verify (anonymous,
 * rate-limited) on the real services: documents signed through POST /v1/signatures are verified
 * end to end. A failed verification is a 200 report; only requests that cannot be a verification
 * are 4xx problems with a precise code.
 */
const A = '11330105002500287C';
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

let t: TestApp;
let signer: string;
let otherAgency: string;
let signedPdf: Buffer;
let tamperedPdf: Buffer;
let note: Buffer;
let noteP7s: Buffer;
const pdf = buildPdf({ pages: 2 });


const agencyB = withCreditCodeCheck('91330106MA2CFXXX0');

beforeAll(async () => {
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: agencyB, name: '杭州市上城区人力资源和社会保障局' }).expect(201);
  const sealId = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201)).body.id;
  signer = await t.key(A, ['signer']);
  otherAgency = await t.key(agencyB, ['verifier']);
  signedPdf = (
    await t.request.post(`/v1/signatures?sealId=${sealId}&format=pades&level=B-T`).set(auth(signer)).set('Content-Type', 'application/pdf').send(pdf).buffer(true).responseType('blob').expect(200)
  ).body as Buffer;
  // Change one character of the page text inside the signed byte range.
  const at = signedPdf.indexOf('(Page 1)');
  expect(at).toBeGreaterThan(0);
  tamperedPdf = Buffer.from(signedPdf);
  tamperedPdf.write('(Page 7)', at, 'latin1');
  note = Buffer.from('申请书：一份不是 PDF 的文件\n', 'utf8');
  noteP7s = (
    await t.request.post(`/v1/signatures?sealId=${sealId}&format=cades&level=B-T`).set(auth(signer)).set('Content-Type', 'application/octet-stream').send(note).buffer(true).responseType('blob').expect(200)
  ).body as Buffer;
}, 120_000);
afterAll(async () => {
  await t?.close();
});

function expectProblem(res: { status: number; headers: Record<string, string>; body: { code?: string } }, status: number, code: string) {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

const verify = (key = otherAgency) => t.request.post('/v1/verifications').set(auth(key));

describe('POST /v1/verifications', () => {
  it('a PDF signed through POST /v1/signatures is TOTAL_PASSED, verified with a key of another agency', async () => {
    const res = await verify().set('Content-Type', 'application/pdf').send(signedPdf);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-verification-indication']).toBe('TOTAL_PASSED');
    const r = res.body as VerificationReport;
    expect(r).toMatchObject({ indication: 'TOTAL_PASSED', document: { kind: 'pdf', size: signedPdf.length } });
    expect(r.signatures).toHaveLength(1);
    expect(r.signatures[0]).toMatchObject({ format: 'PAdES', indication: 'TOTAL_PASSED', modifiedAfterSigning: false, coverage: 'WHOLE_DOCUMENT' });
    expect(r.signatures[0].timestamp?.valid).toBe(true);
    expect(r.signatures[0].signer?.agency?.creditCode).toBe(A);
  }, 60_000);

  it('any role verifies: the signer itself and the platform admin get the same verdict', async () => {
    for (const key of [signer, ADMIN_KEY]) {
      const res = await verify(key).set('Content-Type', 'application/pdf').send(signedPdf);
      expect({ status: res.status, indication: res.body.indication }).toEqual({ status: 200, indication: 'TOTAL_PASSED' });
    }
  }, 60_000);

  it('a PDF changed inside the signed bytes is a 200 report TOTAL_FAILED, not an error', async () => {
    const res = await verify().set('Content-Type', 'application/pdf').send(tamperedPdf);
    expect(res.status).toBe(200);
    expect(res.body.indication).toBe('TOTAL_FAILED');
    expect(res.body.signatures[0].indication).toBe('TOTAL_FAILED');
    expect(res.headers['x-verification-indication']).toBe('TOTAL_FAILED');
  }, 60_000);

  it('garbage declared as a PDF is a 200 report TOTAL_FAILED / FORMAT_FAILURE; an unsigned PDF too', async () => {
    const garbage = await verify().set('Content-Type', 'application/pdf').send(Buffer.from('this is not a PDF at all'));
    expect(garbage.status).toBe(200);
    expect(garbage.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', signatures: [] });
    const unsigned = await verify().set('Content-Type', 'application/pdf').send(pdf);
    expect(unsigned.status).toBe(200);
    expect(unsigned.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', signatures: [] });
  });

  it('multipart document + detached CAdES signature: TOTAL_PASSED; other content TOTAL_FAILED; PEM as a text field works', async () => {
    const ok = await verify()
      .attach('document', note, { filename: 'note.txt', contentType: 'text/plain' })
      .attach('signature', noteP7s, { filename: 'note.p7s', contentType: 'application/pkcs7-signature' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ indication: 'TOTAL_PASSED', document: { kind: 'cades-detached', size: note.length } });
    expect(ok.body.signatures[0]).toMatchObject({ format: 'CAdES', indication: 'TOTAL_PASSED' });

    const changed = await verify()
      .attach('document', Buffer.from('申请书：另一份文件\n'), { filename: 'note.txt', contentType: 'text/plain' })
      .attach('signature', noteP7s, { filename: 'note.p7s', contentType: 'application/pkcs7-signature' });
    expect(changed.status).toBe(200);
    expect(changed.body.indication).toBe('TOTAL_FAILED');

    const pem = `-----BEGIN PKCS7-----\n${noteP7s.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PKCS7-----\n`;
    const asText = await verify().attach('document', note, { filename: 'note.txt', contentType: 'text/plain' }).field('signature', pem);
    expect(asText.status).toBe(200);
    expect(asText.body.indication).toBe('TOTAL_PASSED');

    const garbageSig = await verify().attach('document', note, 'note.txt').attach('signature', Buffer.from('not CMS'), 'x.p7s');
    expect(garbageSig.status).toBe(200);
    expect(garbageSig.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
  }, 60_000);

  it('regression: the empty signature input of a plain HTML form (filename="", no content) counts as absent, not as an empty signature', async () => {
    const boundary = 'formBoundary7MA4YWxkTrZu0gW';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="document"; filename="signed.pdf"\r\nContent-Type: application/pdf\r\n\r\n`),
      signedPdf,
      Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="signature"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--${boundary}--\r\n`),
    ]);
    const res = await t.request.post('/verify').set('Accept', 'application/json').set('Content-Type', `multipart/form-data; boundary=${boundary}`).send(body);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ indication: 'TOTAL_PASSED', document: { kind: 'pdf' } });
  }, 60_000);

  it('multipart with only a document verifies it as a PDF', async () => {
    const res = await verify().attach('document', signedPdf, { filename: 'signed.pdf', contentType: 'application/pdf' });
    expect(res.status).toBe(200);
    expect(res.body.indication).toBe('TOTAL_PASSED');
  }, 60_000);

  it('Accept: text/html gives the report as a self-contained page under a strict CSP', async () => {
    const res = await verify().set('Accept', 'text/html').set('Content-Type', 'application/pdf').send(signedPdf);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(res.headers['content-security-policy']).toBe(REPORT_CSP);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).not.toContain('script-src');
    expect(res.headers.vary).toContain('Accept');
    expect(res.text).toMatch(/^<!doctype html>/);
    expect(res.text).toContain('<html lang="zh-CN">');
    expect(res.text).toContain('TOTAL_PASSED');
    expect(res.text).toContain(A);
    expect(res.text).not.toMatch(/<script|<link|<iframe|<object/);
    // Our seal: its name and the image URL the engine reports.
    expect(res.text).toContain('行政许可专用章');
    expect(res.text).toMatch(/<img src="\/verify\/seals\/seal_[0-9a-f]+\/image"/);

    const failed = await verify().set('Accept', 'text/html').set('Content-Type', 'application/pdf').send(tamperedPdf);
    expect(failed.status).toBe(200);
    expect(failed.text).toContain('TOTAL_FAILED');

    const neither = await verify().set('Accept', 'image/png').set('Content-Type', 'application/pdf').send(signedPdf);
    expectProblem(neither, 406, 'NOT_ACCEPTABLE');
  }, 60_000);

  it('requests that cannot be a verification are 4xx problems with precise codes', async () => {
    expectProblem(await verify().set('Content-Type', 'application/pdf').send(Buffer.alloc(0)), 400, 'VALIDATION_FAILED');
    expectProblem(await verify().set('Content-Type', 'text/plain').send('hello'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await verify().set('Content-Type', 'application/octet-stream').send(signedPdf), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await verify().set('Content-Type', 'application/json').send('{}'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await verify(), 415, 'UNSUPPORTED_MEDIA_TYPE');

    // A .p7s alone cannot be verified: there is nothing for it to sign.
    const p7s = await verify().set('Content-Type', 'application/pkcs7-signature').send(noteP7s);
    expectProblem(p7s, 400, 'VALIDATION_FAILED');
    expect(p7s.body.errors).toEqual([expect.objectContaining({ pointer: '/document', code: 'REQUIRED' })]);

    const noDoc = await verify().attach('signature', noteP7s, 'note.p7s');
    expectProblem(noDoc, 400, 'VALIDATION_FAILED');
    expect(noDoc.body.errors).toEqual([{ pointer: '/document', detail: 'is required', code: 'REQUIRED' }]);
    const emptyDoc = await verify().attach('document', Buffer.alloc(0), 'empty.pdf');
    expectProblem(emptyDoc, 400, 'VALIDATION_FAILED');
    expect(emptyDoc.body.errors).toEqual([expect.objectContaining({ pointer: '/document', code: 'EMPTY' })]);
    const emptySig = await verify().attach('document', note, 'note.txt').attach('signature', Buffer.alloc(0), 'x.p7s');
    expect(emptySig.body.errors).toEqual([expect.objectContaining({ pointer: '/signature', code: 'EMPTY' })]);
    const docAsText = await verify().field('document', 'text');
    expectProblem(docAsText, 400, 'VALIDATION_FAILED');
    expect(docAsText.body.errors).toEqual([expect.objectContaining({ pointer: '/document', code: 'WRONG_TYPE' })]);
    const twice = await verify().attach('document', pdf, 'a.pdf').attach('document', pdf, 'b.pdf');
    expect(twice.body.errors).toEqual([{ pointer: '/document', detail: 'is given more than once', code: 'DUPLICATE' }]);
    const unknown = await verify().attach('document', pdf, 'a.pdf').attach('file', pdf, 'b.pdf');
    expect(unknown.body.errors).toEqual([{ pointer: '/file', detail: 'is not a known part', code: 'UNKNOWN_FIELD' }]);
    const many = await verify().attach('document', pdf, 'a.pdf').attach('signature', pdf, 'b.p7s').attach('x', pdf, 'c').attach('y', pdf, 'd');
    expectProblem(many, 400, 'VALIDATION_FAILED');

    expectProblem(await verify().set('Content-Type', 'multipart/form-data; boundary=XYZ').send(Buffer.from('not multipart')), 400, 'PARSE_ERROR');
    expectProblem(await verify().set('Content-Type', 'multipart/form-data').send(Buffer.from('--XYZ\r\n')), 400, 'PARSE_ERROR');
    const truncated = await verify()
      .set('Content-Type', 'multipart/form-data; boundary=XYZ')
      .send(Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 cut off'));
    expectProblem(truncated, 400, 'PARSE_ERROR');
    expectProblem(await verify().query({ x: '1' }).set('Content-Type', 'application/pdf').send(signedPdf), 400, 'INVALID_QUERY');
  });

  it(`a document above ${MAX_VERIFY_DOCUMENT_BYTES} bytes is 413 PAYLOAD_TOO_LARGE, raw or multipart; so is a signature above ${MAX_VERIFY_SIGNATURE_BYTES}`, async () => {
    const big = Buffer.alloc(MAX_VERIFY_DOCUMENT_BYTES + 1, 0x41);
    const raw = await verify().set('Content-Type', 'application/pdf').send(big);
    expectProblem(raw, 413, 'PAYLOAD_TOO_LARGE');
    expect(raw.body.details).toEqual({ limit: MAX_VERIFY_DOCUMENT_BYTES });
    const part = await verify().attach('document', big, { filename: 'big.pdf', contentType: 'application/pdf' });
    expectProblem(part, 413, 'PAYLOAD_TOO_LARGE');
    expect(part.body.details).toEqual({ limit: MAX_VERIFY_DOCUMENT_BYTES });
    const sig = await verify().attach('document', note, 'note.txt').attach('signature', Buffer.alloc(MAX_VERIFY_SIGNATURE_BYTES + 1, 0x30), 'big.p7s');
    expectProblem(sig, 413, 'PAYLOAD_TOO_LARGE');
    expect(sig.body.details).toEqual({ limit: MAX_VERIFY_SIGNATURE_BYTES });
    // Far above any limit: refused by the body reader, before the route sees it.
    const huge = await verify().set('Content-Type', 'application/pdf').send(Buffer.alloc(MAX_VERIFY_DOCUMENT_BYTES + MAX_VERIFY_SIGNATURE_BYTES + 128 * 1024));
    expectProblem(huge, 413, 'PAYLOAD_TOO_LARGE');
  }, 60_000);

  it('needs an API key: none, malformed or unknown is 401', async () => {
    expectProblem(await t.request.post('/v1/verifications').set('Content-Type', 'application/pdf').send(signedPdf), 401, 'UNAUTHENTICATED');
    expectProblem(await t.request.post('/v1/verifications').set(auth('es_' + 'x'.repeat(40))).set('Content-Type', 'application/pdf').send(signedPdf), 401, 'UNAUTHENTICATED');
  });

  it('logs who asked: API key id, agency, document hash and the verdict', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const app = createApp({ ...t.services, stores: t.stores, logger: pino({ level: 'info' }, sink), publicUrl: 'http://127.0.0.1:8080', version: 'test', jsonBodyLimit: 1 << 20 });
    const res = await supertest(app.express).post('/v1/verifications').set(auth(otherAgency)).set('Content-Type', 'application/pdf').send(tamperedPdf);
    expect(res.status).toBe(200);
    const line = lines.find((l) => l.msg === 'document verified');
    expect(line).toMatchObject({ agencyCode: agencyB, kind: 'pdf', size: tamperedPdf.length, sha256: res.body.document.sha256, indication: 'TOTAL_FAILED', signatures: 1 });
    expect(line!.apiKeyId).toMatch(/\S/);
    expect(line!.requestId).toBe(res.headers['x-request-id']);
  }, 60_000);

  it('is in the OpenAPI document with its request media types and report schema', async () => {
    const doc = (await t.request.get('/openapi.json').expect(200)).body;
    const op = doc.paths['/v1/verifications'].post;
    expect(op.operationId).toBe('verify');
    expect(Object.keys(op.requestBody.content)).toEqual(expect.arrayContaining(['application/pdf', 'multipart/form-data']));
    expect(op.responses['200'].content['application/json'].schema.properties.indication.enum).toEqual(['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE']);
    expect(op.responses['413']).toBeDefined();
    expect(op.security).toEqual([{ apiKey: [] }]);
    expect(doc.paths['/verify'].get.operationId).toBe('verifyPage');
    expect(doc.paths['/verify'].post.security).toBeUndefined();
  });
});

describe('GET /verify and anonymous POST /verify', () => {
  it('GET /verify is a public page with a drop zone, a file input and a CSP that allows only its own script', async () => {
    const res = await t.request.get('/verify');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<input type="file" id="document" name="document"');
    expect(res.text).toContain('id="drop"');
    expect(res.text).toContain('action="/verify"');
    const csp = res.headers['content-security-policy'];
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("connect-src 'self'");
  });

  it('POST /verify without a key answers the HTML report (JSON on request)', async () => {
    const html = await t.request.post('/verify').attach('document', signedPdf, { filename: 'signed.pdf', contentType: 'application/pdf' });
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toBe(REPORT_CSP);
    expect(html.text).toContain('TOTAL_PASSED');
    expect(html.text).toContain('href="/verify"');
    const json = await t.request.post('/verify').set('Accept', 'application/json').attach('document', tamperedPdf, 'tampered.pdf');
    expect(json.status).toBe(200);
    expect(json.body.indication).toBe('TOTAL_FAILED');
    const detached = await t.request.post('/verify').set('Accept', 'application/json').attach('document', note, 'note.txt').attach('signature', noteP7s, 'note.p7s');
    expect(detached.body.indication).toBe('TOTAL_PASSED');
    expectProblem(await t.request.post('/verify').set('Content-Type', 'text/plain').send('x'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  }, 60_000);

  it('is rate-limited per client address: 429 RATE_LIMITED with Retry-After once the burst is spent', async () => {
    // A fresh app: its own buckets. Tiny garbage bodies cost nothing to verify.
    const app = createApp({ ...t.services, stores: t.stores, logger: pino({ level: 'silent' }), publicUrl: 'http://127.0.0.1:8080', version: 'test', jsonBodyLimit: 1 << 20 });
    const r = supertest(app.express);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 12; i++) {
      last = await r.post('/verify').set('Accept', 'application/json').set('Content-Type', 'application/pdf').send(Buffer.from('x'));
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expectProblem(last!, 429, 'RATE_LIMITED');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The authenticated API is not limited by the anonymous buckets.
    const keyed = await r.post('/v1/verifications').set(auth(otherAgency)).set('Content-Type', 'application/pdf').send(Buffer.from('x'));
    expect(keyed.status).toBe(200);
  }, 60_000);

  it('token buckets refill with time and track a bounded number of addresses', () => {
    let now = 0;
    const b = new TokenBuckets({ capacity: 2, refillPerSecond: 0.5, maxKeys: 3 }, () => now);
    expect([b.take('a').ok, b.take('a').ok, b.take('a').ok]).toEqual([true, true, false]);
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 2 });
    now += 2000;
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
    for (const k of ['b', 'c', 'd']) b.take(k);
    // 'a' was evicted (least recently seen): it starts again with a full bucket.
    expect((b as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(3);
    expect(b.take('a').ok).toBe(true);
  });
});

describe('renderReportHtml', () => {
  const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'`&\u202Egpj.exe\u0000';
  const report: VerificationReport = {
    indication: 'INDETERMINATE',
    subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
    validationTime: '2026-01-01T00:00:00.000Z',
    document: { kind: 'pdf', size: 10, sha256: 'ab'.repeat(32), revisions: 2 },
    signatures: [
      {
        id: `Sig${evil}`,
        type: 'signature',
        format: 'PAdES',
        subFilter: evil,
        indication: 'INDETERMINATE',
        subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
        signer: {
          subject: `CN=${evil}`,
          issuer: evil,
          serialNumber: '01',
          notBefore: '2025-01-01T00:00:00Z',
          notAfter: '2027-01-01T00:00:00Z',
          agency: { name: evil, creditCode: evil },
          seal: { id: 'seal_1', name: evil, agencyCode: A, imageUrl: 'javascript:alert(3)' },
        },
        signingTime: '2025-06-01T00:00:00Z',
        level: 'B-B',
        coverage: 'REVISION',
        revision: 1,
        modifiedAfterSigning: true,
        changes: [
          { revision: 2, kind: 'form-field-filled', object: '7 0 R', allowed: true, description: evil },
          { revision: 2, kind: 'page-content-changed', page: 1, allowed: false, description: 'page 1 content replaced' },
        ],
        bestSignatureTime: '2026-01-01T00:00:00.000Z',
        checks: [
          { group: 'trust', name: 'certificate-path', result: 'indeterminate', reason: evil, code: 'NO_PATH' },
          { group: 'integrity', name: 'message-digest', result: 'passed' },
        ],
      },
    ],
    checks: [{ group: 'format', name: evil, result: 'warning' }],
    policy: { revocation: 'offline', trustAnchors: [evil] },
  };

  it('escapes every string from the report and shows the verdict, signer, times, changes and grouped checks', () => {
    const html = renderReportHtml(report);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toMatch(/(src|href)="javascript:/i);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('\u202E');
    expect(html).not.toContain('\u0000');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('\\u202E');
    expect(html).toContain('INDETERMINATE');
    expect(html).toContain('NO_CERTIFICATE_CHAIN_FOUND');
    expect(html).toContain('Claimed signing time');
    expect(html).toContain('Proven time (time-stamp)');
    expect(html).toMatch(/class="allowed">allowed</);
    expect(html).toMatch(/class="disallowed">disallowed</);
    expect(html.indexOf('data-group="integrity"')).toBeLessThan(html.indexOf('data-group="trust"'));
    expect(html).toMatch(/<style>[\s\S]*<\/style>/);
  });

  it('renders a same-origin seal image URL, never another scheme', () => {
    const withImage = structuredClone(report);
    withImage.signatures[0].signer!.seal!.imageUrl = '/v1/seals/seal_1/image';
    expect(renderReportHtml(withImage)).toContain('<img src="/v1/seals/seal_1/image"');
    withImage.signatures[0].signer!.seal!.imageUrl = '//evil.example/x.png';
    expect(renderReportHtml(withImage)).not.toContain('<img');
  });

  it('esc() bounds long values', () => {
    expect(esc('x'.repeat(5000)).length).toBeLessThan(2100);
  });
});

describe('readMultipart on mutated input', () => {
  const boundary = 'b0undary';
  const valid = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="document"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\ncontent\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\n\r\n-----BEGIN PKCS7-----\r\n` +
      `--${boundary}--\r\n`,
  );
  const headers = { 'content-type': `multipart/form-data; boundary=${boundary}` };
  const parts = { document: { kind: 'file' as const, required: true, maxBytes: 64 }, signature: { kind: 'any' as const, maxBytes: 64 } };

  it('parses the unmutated body', async () => {
    const r = await readMultipart(Readable.from([valid]), headers, parts);
    expect(r.document).toEqual({ data: Buffer.from('content'), mimeType: 'text/plain', filename: 'a.txt' });
    expect(r.signature).toEqual({ data: Buffer.from('-----BEGIN PKCS7-----'), mimeType: 'text/plain' });
  });

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
            const r = await readMultipart(Readable.from(chunks), headers, parts);
            expect(Buffer.isBuffer(r.document!.data)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(AppError);
            expect((e as AppError).status).toBeGreaterThanOrEqual(400);
            expect((e as AppError).status).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 400, timeout: 5000 },
    );
  });

  it('a part without a name is UNKNOWN_FIELD at /', async () => {
    const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; filename="a.pdf"\r\n\r\nx\r\n--${boundary}--\r\n`);
    await expect(readMultipart(Readable.from([body]), headers, parts)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ pointer: '/', code: 'UNKNOWN_FIELD' }] });
  });
});
