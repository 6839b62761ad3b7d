import { createHash } from 'node:crypto';
import { CertificateAuthority, TimeStampAuthority } from '../../../src/ca';
import { KeyRouter, SoftwareKeyProvider, signerFor } from '../../../src/crypto';
import { AppError } from '../../../src/errors';
import { buildTimeStampRejection, buildTimeStampReq, buildTimeStampResp, parseTimeStampReq, parseTimeStampToken } from '../../../src/pki';
import { openSqliteStores } from '../../../src/store';
import { buildCadesSignature, remoteTimestamper, tsaTimestamper, verifyCadesSignature } from '../../../src/signing';
import { createTestTsa, TEST_TSA_POLICY, type TestTsa } from './helpers';

const SIG = Buffer.from('a signature value');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

let tsa: TestTsa;
beforeAll(async () => {
  tsa = await createTestTsa();
});

/** A TSA that answers a different request than the one it was sent. */
function answering(other: (req: ReturnType<typeof parseTimeStampReq>) => Buffer, certificates = true) {
  return async (request: Buffer) => {
    const r = parseTimeStampReq(other(parseTimeStampReq(request)));
    const res = await buildTimeStampResp({
      request: r,
      tsaCertificate: tsa.pki.tsa.der,
      chain: certificates ? [tsa.pki.issuing.der] : [],
      signer: tsa.pki.tsa.signer,
      serial: 7n,
      genTime: tsa.pki.now,
      policy: { defaultPolicy: TEST_TSA_POLICY },
    });
    return res.der;
  };
}

describe('tsaTimestamper', () => {
  it('sends SHA-256(signature value), a 128-bit nonce and certReq TRUE; returns the verified token', async () => {
    const seen: Buffer[] = [];
    const stamp = tsaTimestamper(
      async (req) => {
        seen.push(req);
        return tsa.respond(req);
      },
      { random: (n) => Buffer.alloc(n, 0xa5) },
    );
    const token = await stamp(SIG);
    const req = parseTimeStampReq(seen[0]!);
    expect(req.messageImprint.hashName).toBe('sha256');
    expect(req.messageImprint.hashedMessage).toEqual(sha256(SIG));
    expect(req.certReq).toBe(true);
    expect(req.nonce!.toString('hex')).toBe(`00${'a5'.repeat(16)}`); // positive INTEGER
    const t = parseTimeStampToken(token);
    expect(t.tstInfo.messageImprint.hashedMessage).toEqual(sha256(SIG));
    expect(t.certificates.map((c) => c.der)).toContainEqual(tsa.pki.tsa.der);
  });

  it('a rejection → TSA_BAD_RESPONSE naming the status', async () => {
    const e = await failure(tsaTimestamper(async () => buildTimeStampRejection('badAlg', 'no'))(SIG));
    expect(e.code).toBe('TSA_BAD_RESPONSE');
    expect(e.details).toEqual({ reason: 'TSA answered rejection (badAlg)' });
  });

  it('a transport failure → TSA_UNAVAILABLE with the cause', async () => {
    const boom = new Error('ECONNREFUSED');
    const e = await failure(
      tsaTimestamper(async () => {
        throw boom;
      })(SIG),
    );
    expect(e.code).toBe('TSA_UNAVAILABLE');
    expect(e.cause).toBe(boom);
  });

  it('a nonce not echoed, an imprint not echoed, garbage → TSA_BAD_RESPONSE', async () => {
    const otherNonce = answering((r) => buildTimeStampReq({ hashAlg: 'sha256', digest: r.messageImprint.hashedMessage, nonce: 42n, certReq: true }));
    expect((await failure(tsaTimestamper(otherNonce)(SIG))).code).toBe('TSA_BAD_RESPONSE');
    const otherImprint = answering((r) => buildTimeStampReq({ hashAlg: 'sha256', digest: sha256(Buffer.from('else')), nonce: r.nonce, certReq: true }));
    const e = await failure(tsaTimestamper(otherImprint)(SIG));
    expect(e.code).toBe('TSA_BAD_RESPONSE');
    expect((e.cause as AppError).code).toBe('TSP_TOKEN_INVALID');
    expect((await failure(tsaTimestamper(async () => Buffer.from('not DER'))(SIG))).code).toBe('TSA_BAD_RESPONSE');
  });

  it('certReq TRUE but no certificate in the token → TSA_BAD_RESPONSE, even when the caller knows the TSA certificate', async () => {
    const noCert = answering((r) => buildTimeStampReq({ hashAlg: 'sha256', digest: r.messageImprint.hashedMessage, nonce: r.nonce, certReq: false }));
    const e = await failure(tsaTimestamper(noCert, { certificates: [tsa.pki.tsa.der] })(SIG));
    expect(e.code).toBe('TSA_BAD_RESPONSE');
    expect(e.details).toEqual({ reason: 'certificate requested but not included' });
  });

  it('works with our TimeStampAuthority: (req) => tsa.respond(req).then((r) => r.der)', async () => {
    const stores = openSqliteStores({ file: ':memory:' });
    try {
      const soft = new SoftwareKeyProvider({ masterKey: Buffer.alloc(32, 1), keys: stores.keys, keyUses: stores.keyUses });
      const keys = new KeyRouter({ software: soft }, stores.keys, 'software');
      const ca = await CertificateAuthority.open({ stores, keys, publicUrl: 'http://127.0.0.1:8080' });
      const authority = new TimeStampAuthority(ca, stores, keys);
      const key = await keys.generate('ES256', { label: 'seal', agencyCode: null });
      const rec = await ca.issue({
        profile: 'seal',
        subject: { cn: 'x', o: 'y', organizationIdentifier: 'NTRCN-11330105002500287C' },
        keyId: key.id,
        publicKey: key.publicKey,
        agencyCode: null,
        actor: { apiKeyId: null, agencyCode: null },
      });
      const signer = await signerFor(keys, key.id, { apiKeyId: null, agencyCode: null, purpose: 'cades' });
      const content = Buffer.from('sealed with the built-in TSA');
      const sig = await buildCadesSignature({
        signer,
        certificate: Buffer.from(rec.der, 'base64'),
        chain: ca.chain(),
        content,
        profile: 'cades',
        signingTime: new Date(),
        timestamp: tsaTimestamper((req) => authority.respond(req).then((r) => r.der)),
      });
      const v = verifyCadesSignature({ cms: sig.der, content, requireTimestamp: true });
      expect(v.checks.filter((c) => c.status !== 'passed')).toEqual([]);
      expect(v.timestamps[0]!.policy).toBe(authority.policy);
    } finally {
      await stores.close();
    }
  });
});

describe('remoteTimestamper', () => {
  it('asks external TSAs through requestTimestamp (failover) with SHA-256 of the signature value', async () => {
    const urls: string[] = [];
    const stamp = remoteTimestamper({
      urls: ['http://down.test/tsa', 'http://tsa.test/tsa'],
      timeoutMs: 1000,
      random: (n) => Buffer.alloc(n, 1),
      fetch: async (url, init) => {
        urls.push(url);
        if (url.includes('down')) throw new Error('ECONNREFUSED');
        const body = await tsa.respond(Buffer.from(init.body));
        return {
          status: 200,
          headers: { get: (h: string) => (h.toLowerCase() === 'content-type' ? 'application/timestamp-reply' : null) },
          arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
        };
      },
    });
    const token = await stamp(SIG);
    expect(urls).toEqual(['http://down.test/tsa', 'http://tsa.test/tsa']);
    expect(parseTimeStampToken(token).tstInfo.messageImprint.hashedMessage).toEqual(sha256(SIG));
  });
});
