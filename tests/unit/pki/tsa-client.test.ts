import { createHash } from 'node:crypto';
import { AppError } from '../../../src/errors';
import {
  buildTimeStampRejection,
  buildTimeStampReq,
  buildTimeStampResp,
  parseTimeStampReq,
  requestTimestamp,
  type FetchLike,
  type FetchResponseLike,
  type ParsedTimeStampReq,
  type RequestTimestampInput,
} from '../../../src/pki';
import { createTestPki, FIXED_NOW, type TestPki } from '../../helpers/test-pki';

const DIGEST = createHash('sha256').update('signature value').digest();
const NONCE = Buffer.from('0102030405060708', 'hex');
const POLICY = '2.999.3161.1';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});

function reply(body: Buffer, status = 200, contentType = 'application/timestamp-reply'): FetchResponseLike {
  return {
    status,
    headers: new Headers({ 'content-type': contentType, 'content-length': String(body.length) }),
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer,
  };
}

/** A TSA built from our own responder; `tamper` may change the request it answers. */
function tsa(tamper: (r: ParsedTimeStampReq) => ParsedTimeStampReq = (r) => r): (body: Uint8Array) => Promise<FetchResponseLike> {
  return async (body) => {
    const req = tamper(parseTimeStampReq(Buffer.from(body)));
    const res = await buildTimeStampResp({
      request: req,
      tsaCertificate: pki.tsa.der,
      chain: [pki.issuing.der],
      signer: pki.tsa.signer,
      serial: 99n,
      genTime: FIXED_NOW,
      policy: { defaultPolicy: POLICY },
    });
    return reply(res.der);
  };
}

function routes(table: Record<string, (body: Uint8Array, signal: AbortSignal) => Promise<FetchResponseLike>>): FetchLike & { calls: string[] } {
  const calls: string[] = [];
  const f = (async (url, init) => {
    calls.push(url);
    expect(init.method).toBe('POST');
    expect(init.headers['content-type']).toBe('application/timestamp-query');
    const handler = table[url];
    if (!handler) throw new TypeError('fetch failed');
    return handler(init.body, init.signal);
  }) as FetchLike & { calls: string[] };
  f.calls = calls;
  return f;
}

const base = (fetch: FetchLike, urls: string[]): RequestTimestampInput => ({
  urls,
  digest: DIGEST,
  hashAlg: 'sha256',
  nonce: NONCE,
  certReq: true,
  timeoutMs: 1000,
  fetch,
});

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a failure');
}

describe('requestTimestamp', () => {
  it('posts a timestamp-query and returns the verified token', async () => {
    let sent: Buffer | undefined;
    const fetch = routes({
      'http://tsa.test/': async (body) => {
        sent = Buffer.from(body);
        return tsa()(body);
      },
    });
    const r = await requestTimestamp(base(fetch, ['http://tsa.test/']));
    const req = parseTimeStampReq(sent!);
    expect(req.messageImprint.hashedMessage).toEqual(DIGEST);
    expect(req.nonce).toEqual(NONCE);
    expect(req.certReq).toBe(true);
    expect(r.url).toBe('http://tsa.test/');
    expect(r.tstInfo.nonce).toEqual(NONCE);
    expect(r.tstInfo.policy).toBe(POLICY);
    expect(r.signerCertificate.der).toEqual(pki.tsa.der);
  });

  it('fails over past unreachable and failing TSAs, in order', async () => {
    const fetch = routes({
      'http://b.test/': async () => reply(Buffer.from('busy'), 503, 'text/plain'),
      'http://c.test/': tsa(),
    });
    const r = await requestTimestamp(base(fetch, ['http://a.test/', 'http://b.test/', 'http://c.test/']));
    expect(r.url).toBe('http://c.test/');
    expect(fetch.calls).toEqual(['http://a.test/', 'http://b.test/', 'http://c.test/']);
  });

  it('fails over past a TSA that answers badly', async () => {
    const fetch = routes({
      'http://a.test/': async () => reply(buildTimeStampRejection('systemFailure', 'down')),
      'http://b.test/': tsa(),
    });
    expect((await requestTimestamp(base(fetch, ['http://a.test/', 'http://b.test/']))).url).toBe('http://b.test/');
  });

  it('reports TSA_UNAVAILABLE when nothing answers, without credentials or queries in the details', async () => {
    const e = await failure(requestTimestamp(base(routes({}), ['http://user:secret@a.test/ts?key=1', 'http://b.test/'])));
    expect(e.code).toBe('TSA_UNAVAILABLE');
    expect(e.details).toEqual({
      attempts: [
        { url: 'http://a.test/ts', outcome: 'unavailable: request failed' },
        { url: 'http://b.test/', outcome: 'unavailable: request failed' },
      ],
    });
    expect(e.cause).toBeInstanceOf(AggregateError);
  });

  it('times out a TSA that does not answer', async () => {
    const fetch = routes({
      'http://slow.test/': (_b, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    const e = await failure(requestTimestamp({ ...base(fetch, ['http://slow.test/']), timeoutMs: 20 }));
    expect(e.code).toBe('TSA_UNAVAILABLE');
    expect(e.details).toEqual({ attempts: [{ url: 'http://slow.test/', outcome: 'unavailable: timed out' }] });
  });

  it.each<[string, () => (body: Uint8Array) => Promise<FetchResponseLike>, RegExp]>([
    ['a rejection', () => async () => reply(buildTimeStampRejection('badAlg', 'no')), /rejection \(badAlg\)/],
    ['a token for another nonce', () => tsa((r) => ({ ...r, nonce: Buffer.from('09', 'hex') })), /TSP_TOKEN_INVALID/],
    [
      'a token for another digest',
      () => tsa(() => parseTimeStampReq(buildTimeStampReq({ hashAlg: 'sha256', digest: Buffer.alloc(32, 7), nonce: NONCE, certReq: true }))),
      /TSP_TOKEN_INVALID/,
    ],
    ['a token without the requested certificate', () => tsa((r) => ({ ...r, certReq: false })), /TSP_TOKEN_NOT_ACCEPTED/],
    ['a wrong content type', () => async (b) => ({ ...(await tsa()(b)), headers: new Headers({ 'content-type': 'text/html' }) }), /content type/],
    ['garbage', () => async () => reply(Buffer.from('<html>')), /TSP_MALFORMED_RESPONSE/],
    ['HTTP 400', () => async () => reply(Buffer.alloc(0), 400), /HTTP 400/],
    ['a reply over the size limit', () => async () => reply(Buffer.alloc(300 * 1024)), /too large/],
  ])('reports TSA_BAD_RESPONSE for %s', async (_n, handler, outcome) => {
    const e = await failure(requestTimestamp(base(routes({ 'http://a.test/': handler() }), ['http://a.test/'])));
    expect(e.code).toBe('TSA_BAD_RESPONSE');
    expect((e.details as { attempts: { outcome: string }[] }).attempts[0]!.outcome).toMatch(outcome);
  });

  it('verifies tokens without certificates against the certificates given', async () => {
    const fetch = routes({ 'http://a.test/': tsa() });
    const r = await requestTimestamp({ ...base(fetch, ['http://a.test/']), certReq: false, certificates: [pki.tsa.der] });
    expect(r.signerCertificate.der).toEqual(pki.tsa.der);
  });

  it('matches the echoed nonce however the random bytes encode (leading zero, top bit set)', async () => {
    for (const nonce of [Buffer.from('00ff00aa', 'hex'), Buffer.from('ff', 'hex'), 12345n]) {
      const r = await requestTimestamp({ ...base(routes({ 'http://a.test/': tsa() }), ['http://a.test/']), nonce });
      expect(r.tstInfo.nonce).toBeDefined();
    }
  });

  it('times out a transport that ignores the abort signal', async () => {
    const fetch = routes({ 'http://deaf.test/': () => new Promise<FetchResponseLike>(() => undefined) });
    const e = await failure(requestTimestamp({ ...base(fetch, ['http://deaf.test/']), timeoutMs: 20 }));
    expect(e.code).toBe('TSA_UNAVAILABLE');
  });

  it('refuses an empty URL list', async () => {
    expect((await failure(requestTimestamp(base(routes({}), [])))).code).toBe('TSA_UNAVAILABLE');
  });
});
