import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PKI_OID, creditCodeOrganizationIdentifier, parseOcspRequest, type FetchResponseLike, type OcspCertStatus } from '../../../src/pki';
import {
  RevocationChecker,
  type RevocationCheckerOptions,
  type RevocationCheckInput,
  type RevocationFetchLike,
  type RevocationResult,
} from '../../../src/verify/revocation';
import {
  FIXED_NOW,
  TEST_CREDIT_CODE,
  TEST_URLS,
  buildTestCrl,
  buildTestOcspResponse,
  createTestPki,
  issueRawCertificate,
  rawExt,
  testSigner,
  type TestCert,
  type TestPki,
} from '../../helpers/test-pki';

const MINUTE = 60_000;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(FIXED_NOW.getTime() + ms);

let pki: TestPki;
let other: TestPki;

beforeAll(async () => {
  pki = await createTestPki();
  other = await createTestPki({ keyLabel: 'revocation-other' });
});

function input(o: Partial<RevocationCheckInput> = {}): RevocationCheckInput {
  return {
    cert: pki.seal.parsed,
    issuer: pki.issuing.parsed,
    time: FIXED_NOW,
    validationTime: FIXED_NOW,
    anchors: [pki.root.parsed],
    candidates: [],
    ...o,
  };
}

function offline(o: Partial<RevocationCheckerOptions> = {}): RevocationChecker {
  return new RevocationChecker({ mode: 'offline', ...o });
}

/** A fetch that must not be called. */
function noFetch(): jest.Mock {
  return jest.fn(async () => {
    throw new Error('fetch must not be called');
  });
}

function reply(body: Buffer, status = 200, contentType = 'application/octet-stream'): FetchResponseLike {
  return {
    status,
    headers: new Headers({ 'content-type': contentType, 'content-length': String(body.length) }),
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer,
  };
}

/** An OCSP response about the seal certificate from the delegated responder. */
function sealOcsp(status: OcspCertStatus, o: { producedAt?: Date; thisUpdate?: Date; nextUpdate?: Date; responder?: TestCert; cert?: TestCert } = {}): Promise<Buffer> {
  const producedAt = o.producedAt ?? FIXED_NOW;
  return buildTestOcspResponse({
    responder: o.responder ?? pki.ocsp,
    cert: o.cert ?? pki.seal,
    issuer: pki.issuing,
    status,
    producedAt,
    thisUpdate: o.thisUpdate ?? producedAt,
    nextUpdate: o.nextUpdate === undefined ? new Date(producedAt.getTime() + HOUR) : o.nextUpdate,
  });
}

function issuingCrl(o: { thisUpdate?: Date; nextUpdate?: Date; revoked?: TestCert[] } = {}): Promise<Buffer> {
  const thisUpdate = o.thisUpdate ?? FIXED_NOW;
  return buildTestCrl(pki.issuing, {
    thisUpdate,
    nextUpdate: o.nextUpdate ?? new Date(thisUpdate.getTime() + DAY),
    revoked: (o.revoked ?? []).map((c) => ({ serial: c.parsed.serialHex, revokedAt: new Date(thisUpdate.getTime() - HOUR), reason: 'keyCompromise' as const })),
  });
}

function expectUnknown(r: RevocationResult) {
  if (r.status !== 'unknown') throw new Error(`expected unknown, got ${r.status} (${'source' in r ? r.source : ''})`);
  return r;
}

describe('RevocationChecker: sources in the file (DSS)', () => {
  it('an OCSP responder certificate with ocsp-nocheck is good without data', async () => {
    const r = await offline().check(input({ cert: pki.ocsp.parsed }));
    expect(r).toEqual({ status: 'good', source: 'ocsp-nocheck' });
  });

  it('ocsp-nocheck counts only on an OCSP responder certificate', async () => {
    const notResponder = await issueRawCertificate({
      subject: { c: 'CN', o: 'eseal test', cn: 'nocheck without EKU' },
      key: testSigner('ES256', 'rev/nocheck-no-eku'),
      issuer: pki.issuing,
      label: 'rev/nocheck-no-eku',
      notBefore: at(-DAY),
      notAfter: at(30 * DAY),
      extensions: [rawExt.basicConstraints(false), rawExt.keyUsage(['digitalSignature']), rawExt.ocspNoCheck()],
    });
    expect(notResponder.parsed.ocspNoCheck).toBe(true);
    expect(expectUnknown(await offline().check(input({ cert: notResponder.parsed }))).code).toBe('TRY_LATER');
  });

  it('good via DSS OCSP issued after the signing time, long after it went stale', async () => {
    const ocsp = await sealOcsp({ type: 'good' }, { producedAt: at(MINUTE) });
    const r = await offline().check(input({ validationTime: at(400 * DAY), dss: { ocsps: [ocsp], crls: [] } }));
    expect(r.status).toBe('good');
    if (r.status === 'good' && r.source !== 'ocsp-nocheck') {
      expect(r.source).toBe('dss-ocsp');
      expect(r.kind).toBe('ocsp');
      expect(r.data).toEqual(ocsp);
      expect(r.producedAt).toEqual(at(MINUTE));
      expect(r.nextUpdate).toEqual(at(MINUTE + HOUR));
    }
  });

  it('revoked via DSS OCSP, with time and reason', async () => {
    const ocsp = await sealOcsp({ type: 'revoked', revokedAt: at(-HOUR / 2), reason: 'keyCompromise' });
    const r = await offline().check(input({ dss: { ocsps: [ocsp], crls: [] } }));
    expect(r).toMatchObject({ status: 'revoked', source: 'dss-ocsp', revokedAt: at(-HOUR / 2), reason: 'keyCompromise' });
  });

  it('a DSS OCSP response issued before the signing time and stale now proves nothing → TRY_LATER', async () => {
    const ocsp = await sealOcsp({ type: 'good' }, { producedAt: at(-30 * MINUTE) });
    const r = expectUnknown(await offline().check(input({ time: FIXED_NOW, validationTime: at(DAY), dss: { ocsps: [ocsp], crls: [] } })));
    expect(r.code).toBe('TRY_LATER');
    expect(r.tried.join('\n')).toMatch(/dss-ocsp #0: .*too old/);
  });

  it('OCSP signed by the issuing CA itself is accepted', async () => {
    const ocsp = await sealOcsp({ type: 'good' }, { responder: pki.issuing });
    expect(await offline().check(input({ dss: { ocsps: [ocsp], crls: [] } }))).toMatchObject({ status: 'good', source: 'dss-ocsp' });
  });

  it('good and revoked via DSS CRL; a revoked in the file outranks a good', async () => {
    const goodCrl = await issuingCrl({ thisUpdate: at(MINUTE) });
    expect(await offline().check(input({ dss: { ocsps: [], crls: [goodCrl] } }))).toMatchObject({ status: 'good', source: 'dss-crl', kind: 'crl', data: goodCrl });
    const revokedCrl = await issuingCrl({ thisUpdate: at(MINUTE), revoked: [pki.tsa, pki.seal] });
    const goodOcsp = await sealOcsp({ type: 'good' }, { producedAt: at(MINUTE) });
    const r = await offline().check(input({ dss: { ocsps: [goodOcsp], crls: [revokedCrl] } }));
    expect(r).toMatchObject({ status: 'revoked', source: 'dss-crl', revokedAt: at(MINUTE - HOUR), reason: 'keyCompromise' });
  });

  it('data about other certificates or issuers is passed over', async () => {
    const aboutTsa = await sealOcsp({ type: 'revoked', revokedAt: at(-HOUR) }, { cert: pki.tsa });
    const rootCrl = await buildTestCrl(pki.root, { thisUpdate: FIXED_NOW, nextUpdate: at(DAY), revoked: [] });
    const r = expectUnknown(await offline().check(input({ dss: { ocsps: [aboutTsa], crls: [rootCrl] } })));
    expect(r.code).toBe('TRY_LATER');
  });

  it('a CRL issued after the certificate expired does not prove it was not revoked', async () => {
    const cert = pki.seal.parsed;
    const afterExpiry = await issuingCrl({ thisUpdate: new Date(cert.notAfter.getTime() + DAY) });
    const r = expectUnknown(
      await offline().check(input({ time: at(DAY), validationTime: new Date(cert.notAfter.getTime() + 2 * DAY), dss: { ocsps: [], crls: [afterExpiry] } })),
    );
    expect(r.reason).toMatch(/after the certificate expired/);
  });
});

describe('RevocationChecker: OCSP responder authorisation (RFC 6960 §4.2.2.2)', () => {
  async function expectRefused(ocsp: Buffer, candidates: TestCert[] = []): Promise<void> {
    const r = expectUnknown(await offline().check(input({ dss: { ocsps: [ocsp], crls: [] }, candidates: candidates.map((c) => c.parsed) })));
    expect(r.code).toBe('REVOCATION_INVALID');
    expect(r.reason).toMatch(/not signed by the issuer or a responder it authorised/);
  }

  it('a response signed by another CA of the hierarchy (the root) is ignored', async () => {
    await expectRefused(await sealOcsp({ type: 'good' }, { responder: pki.root }));
  });

  it('a responder with id-kp-OCSPSigning certified by the root, not the issuer, is ignored', async () => {
    const rogue = await issueRawCertificate({
      subject: { c: 'CN', o: 'eseal test', cn: 'Rogue OCSP' },
      key: testSigner('ES256', 'rev/rogue-ocsp'),
      issuer: pki.root,
      label: 'rev/rogue-ocsp',
      notBefore: at(-DAY),
      notAfter: at(30 * DAY),
      extensions: [rawExt.basicConstraints(false), rawExt.keyUsage(['digitalSignature']), rawExt.extKeyUsage([PKI_OID.kpOCSPSigning]), rawExt.ocspNoCheck()],
    });
    await expectRefused(await sealOcsp({ type: 'good' }, { responder: rogue }), [rogue]);
  });

  it("another hierarchy's responder is ignored", async () => {
    await expectRefused(await sealOcsp({ type: 'good' }, { responder: other.ocsp }));
  });

  it('a certificate the issuer certified without id-kp-OCSPSigning is not a responder (even a CA)', async () => {
    const subCa = await issueRawCertificate({
      subject: { c: 'CN', o: 'eseal test', cn: 'Sub-CA without OCSP EKU' },
      key: testSigner('ES256', 'rev/sub-ca'),
      issuer: pki.issuing,
      label: 'rev/sub-ca',
      notBefore: at(-DAY),
      notAfter: at(30 * DAY),
      extensions: [rawExt.basicConstraints(true), rawExt.keyUsage(['keyCertSign', 'cRLSign', 'digitalSignature'])],
    });
    await expectRefused(await sealOcsp({ type: 'good' }, { responder: subCa }), [subCa]);
  });

  it('a responder certificate found among the candidates (not embedded) is used', async () => {
    const ocsp = await buildTestOcspResponse({
      responder: pki.ocsp,
      cert: pki.seal,
      issuer: pki.issuing,
      status: { type: 'good' },
      producedAt: FIXED_NOW,
      nextUpdate: at(HOUR),
      includeCertificates: [],
    });
    expectUnknown(await offline().check(input({ dss: { ocsps: [ocsp], crls: [] } })));
    expect(await offline().check(input({ dss: { ocsps: [ocsp], crls: [] }, candidates: [pki.ocsp.parsed] }))).toMatchObject({ status: 'good' });
  });

  it('an unauthorised response does not hide an authorised one', async () => {
    const bad = await sealOcsp({ type: 'revoked', revokedAt: at(-HOUR) }, { responder: pki.root });
    const good = await sealOcsp({ type: 'good' });
    expect(await offline().check(input({ dss: { ocsps: [bad, good], crls: [] } }))).toMatchObject({ status: 'good', source: 'dss-ocsp', data: good });
  });

  it('a tampered response signature is invalid', async () => {
    const ocsp = await sealOcsp({ type: 'good' });
    // The BasicOCSPResponse's signature BIT STRING ends just before the [0] certs; flip a byte
    // inside it: find the responder certificate and step back.
    const certAt = ocsp.indexOf(pki.ocsp.der);
    const tampered = Buffer.from(ocsp);
    tampered[certAt - 10] = tampered[certAt - 10]! ^ 0x01;
    const r = expectUnknown(await offline().check(input({ dss: { ocsps: [tampered], crls: [] } })));
    expect(r.code).toBe('REVOCATION_INVALID');
  });
});

describe('RevocationChecker: local CA and offline mode', () => {
  it('local OCSP answers with a request for our certificate', async () => {
    const seen: Buffer[] = [];
    const checker = offline({
      local: {
        ocsp: async (req) => {
          seen.push(req);
          return sealOcsp({ type: 'good' });
        },
      },
    });
    expect(await checker.check(input())).toMatchObject({ status: 'good', source: 'local-ocsp' });
    const parsed = parseOcspRequest(seen[0]!);
    expect(parsed.certIds[0]!.serialHex).toBe(pki.seal.parsed.serialHex);
  });

  it('local revoked (after the signing time) is reported as revoked with its time', async () => {
    const checker = offline({ local: { ocsp: async () => sealOcsp({ type: 'revoked', revokedAt: at(HOUR), reason: 'superseded' }, { producedAt: at(2 * HOUR) }) } });
    expect(await checker.check(input({ validationTime: at(2 * HOUR) }))).toMatchObject({ status: 'revoked', source: 'local-ocsp', revokedAt: at(HOUR), reason: 'superseded' });
  });

  it('local CRL: fresh → good; stale → TRY_LATER', async () => {
    const fresh = await issuingCrl({ thisUpdate: at(-HOUR) });
    expect(await offline({ local: { crl: async () => fresh } }).check(input())).toMatchObject({ status: 'good', source: 'local-crl' });
    const stale = await issuingCrl({ thisUpdate: at(-3 * DAY), nextUpdate: at(-2 * DAY) });
    const r = expectUnknown(await offline({ local: { crl: async () => stale } }).check(input()));
    expect(r.code).toBe('TRY_LATER');
    expect(r.tried).toEqual([expect.stringMatching(/^local-crl: the CRL is too old/)]);
  });

  it('local answers nothing, or fails → next source / unknown, never a throw', async () => {
    const checker = offline({ local: { ocsp: async () => undefined, crl: async () => Promise.reject(new Error('store down')) } });
    const r = expectUnknown(await checker.check(input()));
    expect(r.code).toBe('TRY_LATER');
    expect(r.tried).toHaveLength(2);
  });

  it('offline with no data → TRY_LATER, and the network is never touched', async () => {
    const fetch = noFetch();
    const r = expectUnknown(await offline({ fetch, allowHosts: ['pki.eseal.test'] }).check(input()));
    expect(r.code).toBe('TRY_LATER');
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe('RevocationChecker: online', () => {
  /** A responder for the test URLs: OCSP by POST, the issuing CRL by GET. */
  function fakeNetwork(o: { ocspStatus?: number; ocspBody?: () => Promise<Buffer>; crl?: () => Promise<Buffer> } = {}) {
    const calls: { url: string; method: string; contentType?: string }[] = [];
    const fetch = jest.fn<ReturnType<RevocationFetchLike>, Parameters<RevocationFetchLike>>(async (url, init) => {
      calls.push({ url, method: init.method, contentType: init.headers['content-type'] });
      if (url === TEST_URLS.ocsp) {
        if (o.ocspStatus && o.ocspStatus !== 200) return reply(Buffer.alloc(0), o.ocspStatus);
        const req = parseOcspRequest(Buffer.from(init.body!));
        expect(req.certIds[0]!.serialHex).toBe(pki.seal.parsed.serialHex);
        return reply(await (o.ocspBody ?? (() => sealOcsp({ type: 'good' })))(), 200, 'application/ocsp-response');
      }
      if (url === TEST_URLS.crl) return reply(await (o.crl ?? (() => issuingCrl()))(), 200, 'application/pkix-crl');
      return reply(Buffer.alloc(0), 404);
    });
    return { fetch, calls };
  }

  it('fetches OCSP from the AIA URL by POST application/ocsp-request', async () => {
    const net = fakeNetwork();
    const r = await new RevocationChecker({ mode: 'online', fetch: net.fetch, allowHosts: ['pki.eseal.test'] }).check(input());
    expect(r).toMatchObject({ status: 'good', source: 'ocsp', url: TEST_URLS.ocsp });
    expect(net.calls).toEqual([{ url: TEST_URLS.ocsp, method: 'POST', contentType: 'application/ocsp-request' }]);
  });

  it('falls back to the CRL distribution point (GET) when the responder fails', async () => {
    const net = fakeNetwork({ ocspStatus: 503 });
    const r = await new RevocationChecker({ mode: 'online', fetch: net.fetch, allowHosts: ['PKI.eseal.test'] }).check(input());
    expect(r).toMatchObject({ status: 'good', source: 'crl', url: TEST_URLS.crl });
    expect(net.calls.map((c) => c.method)).toEqual(['POST', 'GET']);
  });

  it('hosts not on the allow-list are not fetched (and none are without an allow-list)', async () => {
    for (const allowHosts of [['crl.other.test'], [], undefined]) {
      const fetch = noFetch();
      const r = expectUnknown(await new RevocationChecker({ mode: 'online', fetch, allowHosts }).check(input()));
      expect(fetch).not.toHaveBeenCalled();
      expect(r.code).toBe('REVOCATION_UNAVAILABLE');
      expect(r.tried.join('\n')).toMatch(/host not on the allow-list/);
    }
  });

  it('a host:port entry allows that port only', async () => {
    const net = fakeNetwork();
    const r = expectUnknown(await new RevocationChecker({ mode: 'online', fetch: net.fetch, allowHosts: ['pki.eseal.test:8080'] }).check(input()));
    expect(r.code).toBe('REVOCATION_UNAVAILABLE');
    expect(net.fetch).not.toHaveBeenCalled();
  });

  it('caches a fetched response until its nextUpdate', async () => {
    const net = fakeNetwork();
    let now = FIXED_NOW;
    const checker = new RevocationChecker({ mode: 'online', fetch: net.fetch, allowHosts: ['pki.eseal.test'], clock: () => now });
    expect((await checker.check(input())).status).toBe('good');
    expect((await checker.check(input({ validationTime: at(MINUTE) }))).status).toBe('good');
    expect(net.fetch).toHaveBeenCalledTimes(1);
    now = at(HOUR + MINUTE); // past the response's nextUpdate
    net.fetch.mockClear();
    await checker.check(input({ validationTime: now }));
    expect(net.fetch).toHaveBeenCalledTimes(1);
  });

  it('the cache is bounded: least recently used entries are evicted', async () => {
    const fetch = jest.fn<ReturnType<RevocationFetchLike>, Parameters<RevocationFetchLike>>(async (url, init) => {
      const serial = parseOcspRequest(Buffer.from(init.body!)).certIds[0]!.serialHex;
      const cert = serial === pki.seal.parsed.serialHex ? pki.seal : pki.tsa;
      return reply(await sealOcsp({ type: 'good' }, { cert }));
    });
    const checker = new RevocationChecker({ mode: 'online', fetch, allowHosts: ['pki.eseal.test'], clock: () => FIXED_NOW, cacheSize: 1 });
    const seal = input();
    const tsa = input({ cert: pki.tsa.parsed });
    for (const i of [seal, seal, tsa, tsa, seal]) expect(await checker.check(i)).toMatchObject({ status: 'good', source: 'ocsp' });
    // seal (fetch), seal (cached), tsa (fetch, evicts seal), tsa (cached), seal (fetch again).
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('a fetched OCSP response about another certificate is not accepted (nor cached)', async () => {
    const net = fakeNetwork({ ocspBody: () => sealOcsp({ type: 'good' }, { cert: pki.tsa }) });
    const checker = new RevocationChecker({ mode: 'online', fetch: net.fetch, allowHosts: ['pki.eseal.test'], clock: () => FIXED_NOW });
    // The responder answers about the TSA certificate whichever is asked for: the seal gets a
    // wrong answer (invalid, not cached), then the CRL.
    const r = await checker.check(input());
    expect(r).toMatchObject({ status: 'good', source: 'crl' });
    expect(net.calls.map((c) => c.url)).toEqual([TEST_URLS.ocsp, TEST_URLS.crl]);
  });

  it('malformed or mismatched response bytes → unknown REVOCATION_INVALID, no throw', async () => {
    const junk = [Buffer.alloc(0), Buffer.from('not DER at all'), Buffer.from('3003020101', 'hex'), Buffer.alloc(5000, 0x30)];
    for (const body of junk) {
      const net = fakeNetwork({ ocspBody: async () => body, crl: async () => body });
      const r = expectUnknown(await new RevocationChecker({ mode: 'online', fetch: net.fetch, allowHosts: ['pki.eseal.test'] }).check(input()));
      expect(r.code).toBe('REVOCATION_INVALID');
      expect(r.tried).toHaveLength(2);
    }
  });

  it('mutated DSS data never throws and never yields good', async () => {
    const ocsp = await sealOcsp({ type: 'revoked', revokedAt: at(-HOUR) });
    const crl = await issuingCrl({ revoked: [pki.seal] });
    const checker = offline();
    for (const original of [ocsp, crl]) {
      for (let i = 0; i < original.length; i += 7) {
        const m = Buffer.from(original);
        m[i] = m[i]! ^ 0x5a;
        const r = await checker.check(input({ dss: { ocsps: [m], crls: [m.subarray(0, m.length - (i % 5))] } }));
        expect(r.status).not.toBe('good');
      }
    }
  });

  it('refuses responses over the size cap', async () => {
    const big = await issuingCrl();
    const net = fakeNetwork({ ocspStatus: 500, crl: async () => big });
    const r = expectUnknown(await new RevocationChecker({ mode: 'online', fetch: net.fetch, allowHosts: ['pki.eseal.test'], maxResponseBytes: 100 }).check(input()));
    expect(r.tried.join('\n')).toMatch(/too large/);
  });

  it('a transport that throws is TRY_LATER', async () => {
    const fetch: RevocationFetchLike = async () => Promise.reject(new Error('ECONNREFUSED'));
    const r = expectUnknown(await new RevocationChecker({ mode: 'online', fetch, allowHosts: ['pki.eseal.test'] }).check(input()));
    expect(r.code).toBe('TRY_LATER');
  });
});

describe('RevocationChecker: real HTTP on loopback', () => {
  let server: http.Server;
  let port: number;
  let crlBody: Buffer;
  const requests: string[] = [];

  beforeAll(async () => {
    crlBody = await issuingCrl();
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url === '/issuing.crl') {
        res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': crlBody.length });
        res.end(crlBody);
      } else if (req.url === '/big.crl') {
        // No content-length: the cap must hold while reading the stream.
        res.writeHead(200, { 'content-type': 'application/pkix-crl' });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024));
        res.end();
      } else if (req.url === '/redirect.crl') {
        res.writeHead(302, { location: `http://localhost:${port}/issuing.crl` });
        res.end();
      }
      // /hang: never answers.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function sealWithCrl(path: string): Promise<TestCert> {
    return pki.issue('seal', { c: 'CN', o: 'loopback', organizationIdentifier: creditCodeOrganizationIdentifier(TEST_CREDIT_CODE), cn: `loopback ${path}` }, `loopback${path}`, {
      urls: { crl: `http://127.0.0.1:${port}${path}` },
    });
  }

  it('fetches a CRL with the default fetch', async () => {
    const cert = await sealWithCrl('/issuing.crl');
    const r = await new RevocationChecker({ mode: 'online', allowHosts: ['127.0.0.1'] }).check(input({ cert: cert.parsed }));
    expect(r).toMatchObject({ status: 'good', source: 'crl', data: crlBody });
    expect(requests).toContain('GET /issuing.crl');
  });

  it('times out against a server that never answers → TRY_LATER', async () => {
    const cert = await sealWithCrl('/hang');
    const started = Date.now();
    const r = expectUnknown(await new RevocationChecker({ mode: 'online', allowHosts: ['127.0.0.1'], timeoutMs: 200 }).check(input({ cert: cert.parsed })));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.code).toBe('TRY_LATER');
    expect(r.tried).toEqual([`crl http://127.0.0.1:${port}/hang: timed out`]);
  });

  it('caps a body without content-length while streaming it', async () => {
    const cert = await sealWithCrl('/big.crl');
    const r = expectUnknown(await new RevocationChecker({ mode: 'online', allowHosts: ['127.0.0.1'], maxResponseBytes: 64 * 1024 }).check(input({ cert: cert.parsed })));
    expect(r.tried.join('\n')).toMatch(/too large/);
  });

  it('does not follow redirects (they could leave the allow-list)', async () => {
    const cert = await sealWithCrl('/redirect.crl');
    const before = requests.length;
    const r = expectUnknown(await new RevocationChecker({ mode: 'online', allowHosts: ['127.0.0.1'] }).check(input({ cert: cert.parsed })));
    expect(r.code).toBe('TRY_LATER');
    expect(requests.slice(before)).toEqual(['GET /redirect.crl']);
  });
});
