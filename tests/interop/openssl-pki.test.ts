/**
 * The PKI layer judged by a tool we did not write: OpenSSL 3 (`verify`, `x509`, `crl`, `ocsp`,
 * `ts`, `cms`). OpenSSL checks times against the real clock, so this suite injects the current
 * time (whole seconds) instead of the unit tests' fixed clock.
 *
 * Two OpenSSL behaviours shape the commands:
 * - `openssl ocsp -reqin req.der -cert ...` adds the -cert's CertID and a *fresh* nonce to the
 *   loaded request, so its nonce check can never pass. The nonce is checked with `-reqin` alone
 *   (where OpenSSL compares the loaded request's nonce with the response's), and statuses with
 *   `-cert ... -no_nonce`.
 * - `openssl ts -verify` goes through OpenSSL's PKCS #7 code, which verifies RSA signatures with
 *   PKCS #1 v1.5 padding only, so it cannot verify RSASSA-PSS tokens. PS256 tokens are checked
 *   with `openssl cms -verify -purpose timestampsign` (the CMS code supports PSS).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCrl,
  buildOcspError,
  buildOcspResponse,
  buildTimeStampResp,
  matchCertId,
  parseOcspRequest,
  parseTimeStampReq,
  parseTimeStampToken,
  toPem,
  type OcspCertStatus,
} from '../../src/pki';
import { ParseError } from '../../src/errors';
import { createTestPki, type TestPki } from '../helpers/test-pki';

const opensslAvailable = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const describeIfOpenssl = opensslAvailable ? describe : describe.skip;

interface Run {
  status: number | null;
  out: string;
}

const TSA_POLICY = '2.999.3161.1';
const HOUR = 3600_000;

describeIfOpenssl.each(['ES256', 'RS256', 'PS256'] as const)('OpenSSL accepts our %s PKI', (algorithm) => {
  let dir: string;
  let pki: TestPki;
  let now: Date;
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]): Run => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `eseal-pki-${algorithm}-`));
    now = new Date(Math.floor(Date.now() / 1000) * 1000);
    pki = await createTestPki({ algorithm, now });
    writeFileSync(f('root.pem'), pki.root.pem);
    writeFileSync(f('issuing.pem'), pki.issuing.pem);
    writeFileSync(f('chain.pem'), pki.chainPem);
    writeFileSync(f('cas.pem'), pki.root.pem + pki.issuing.pem);
    writeFileSync(f('seal.pem'), pki.seal.pem);
    writeFileSync(f('tsa.pem'), pki.tsa.pem);
    writeFileSync(f('ocsp.pem'), pki.ocsp.pem);
    writeFileSync(f('data.bin'), `document to time-stamp (${algorithm})\n`);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('(a) certificates', () => {
    it.each([
      ['seal', 'smimesign'],
      ['tsa', 'timestampsign'],
      ['ocsp', 'ocsphelper'],
    ])('`openssl verify` accepts the %s certificate (purpose %s)', (leaf, purpose) => {
      const r = openssl('verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-purpose', purpose, `${leaf}.pem`);
      expect(r.out).toContain(`${leaf}.pem: OK`);
      expect(r.status).toBe(0);
    });

    it('`openssl verify` refuses a leaf without its issuing CA (control)', () => {
      expect(openssl('verify', '-CAfile', 'root.pem', 'seal.pem').status).not.toBe(0);
    });

    it('`openssl x509 -text` shows the profiles', () => {
      const seal = openssl('x509', '-in', 'seal.pem', '-noout', '-text', '-nameopt', 'utf8').out;
      expect(seal).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation/);
      expect(seal).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(seal).toContain('URI:http://pki.eseal.test/crl/issuing.crl');
      expect(seal).toContain('OCSP - URI:http://pki.eseal.test/ocsp');
      expect(seal).toContain('CA Issuers - URI:http://pki.eseal.test/ca/issuing.cer');
      expect(seal).toContain('organizationIdentifier=NTRCN-11330105002500287C');
      expect(seal).toContain('O=杭州市测试局');
      expect(seal).not.toContain('Extended Key Usage');

      const tsa = openssl('x509', '-in', 'tsa.pem', '-noout', '-text').out;
      expect(tsa).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping\n/);
      expect(tsa).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);

      const ocsp = openssl('x509', '-in', 'ocsp.pem', '-noout', '-text').out;
      expect(ocsp).toMatch(/X509v3 Extended Key Usage:\s+OCSP Signing/);
      expect(ocsp).toContain('OCSP No Check');

      const root = openssl('x509', '-in', 'root.pem', '-noout', '-text').out;
      expect(root).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
      expect(root).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
      const issuing = openssl('x509', '-in', 'issuing.pem', '-noout', '-text').out;
      expect(issuing).toMatch(/CA:TRUE, pathlen:0/);
      if (algorithm === 'PS256') expect(issuing).toMatch(/rsassaPss[\s\S]*Hash Algorithm: sha256[\s\S]*Salt Length: 0x20/);
    });
  });

  describe('(b) CRL', () => {
    let crl: Buffer;
    beforeAll(async () => {
      crl = await buildCrl({
        issuerCertificate: pki.issuing.der,
        signer: pki.issuing.signer,
        crlNumber: 3n,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + 24 * HOUR),
        revoked: [
          { serial: pki.seal.parsed.serialHex, revokedAt: new Date(now.getTime() - HOUR), reason: 'keyCompromise' },
          { serial: '7e57', revokedAt: new Date(now.getTime() - HOUR), reason: 'unspecified' },
        ],
      });
      writeFileSync(f('crl.der'), crl);
      writeFileSync(f('crl.pem'), toPem(crl, 'X509 CRL'));
    });

    it('`openssl crl -CAfile chain.pem` verifies the signature', () => {
      const r = openssl('crl', '-inform', 'DER', '-in', 'crl.der', '-CAfile', 'chain.pem', '-noout');
      expect(r.out).toContain('verify OK');
      expect(r.status).toBe(0);
    });

    it('lists the revoked serial with its reason, CRL number and AKI', () => {
      const text = openssl('crl', '-inform', 'DER', '-in', 'crl.der', '-noout', '-text').out;
      const serial = pki.seal.parsed.serialHex.replace(/^00/, '').toUpperCase();
      expect(text).toMatch(new RegExp(`Serial Number: ${serial}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
      expect(text).toMatch(/Serial Number: 7E57\s+Revocation Date: [^\n]+\n\s+(Serial|Signature)/);
      expect(text).toMatch(/X509v3 CRL Number:\s+3/);
      expect(text).toContain('X509v3 Authority Key Identifier');
      expect(text).toContain('Version 2 (0x1)');
    });

    it('`openssl verify -crl_check` sees the seal revoked, and the TSA certificate not', () => {
      const seal = openssl('verify', '-crl_check', '-CRLfile', 'crl.pem', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'seal.pem');
      expect(seal.out).toContain('certificate revoked');
      expect(seal.status).not.toBe(0);
      const tsa = openssl('verify', '-crl_check', '-CRLfile', 'crl.pem', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'tsa.pem');
      expect(tsa.out).toContain('tsa.pem: OK');
    });

    it('`openssl crl -CAfile` refuses a CRL signed by another key (control)', async () => {
      const other = await createTestPki({ algorithm, now, keyLabel: 'other' });
      writeFileSync(f('other-chain.pem'), other.chainPem);
      expect(openssl('crl', '-inform', 'DER', '-in', 'crl.der', '-CAfile', 'other-chain.pem', '-noout').out).not.toContain('verify OK');
    });
  });

  describe('(c) OCSP', () => {
    let reqDer: Buffer;
    /** `nonce`: undefined echoes the request's, null leaves it out. */
    const respond = async (status: OcspCertStatus, nonce?: Buffer | null): Promise<void> => {
      const req = parseOcspRequest(reqDer);
      expect(req.certIds).toHaveLength(1);
      expect(matchCertId(req.certIds[0]!, pki.issuing.der)).toBe(true);
      expect(req.certIds[0]!.serialHex).toBe(pki.seal.parsed.serialHex);
      const resp = await buildOcspResponse({
        responderCertificate: pki.ocsp.der,
        signer: pki.ocsp.signer,
        producedAt: now,
        responses: [{ certId: req.certIds[0]!, status, thisUpdate: now, nextUpdate: new Date(now.getTime() + HOUR) }],
        nonce: nonce === null ? undefined : (nonce ?? req.nonce),
        includeCertificates: [pki.ocsp.der, pki.issuing.der],
      });
      writeFileSync(f('resp.der'), resp);
    };

    beforeAll(() => {
      const r = openssl('ocsp', '-issuer', 'issuing.pem', '-cert', 'seal.pem', '-nonce', '-reqout', 'req.der');
      expect(r.status).toBe(0);
      reqDer = readFileSync(f('req.der'));
      expect(parseOcspRequest(reqDer).nonce).toHaveLength(16);
    });

    it('answers good: "Response verify OK", nonce matched', async () => {
      await respond({ type: 'good' });
      const nonceCheck = openssl('ocsp', '-respin', 'resp.der', '-reqin', 'req.der', '-issuer', 'issuing.pem', '-CAfile', 'root.pem');
      expect(nonceCheck.out).toContain('Response verify OK');
      expect(nonceCheck.out).not.toMatch(/nonce/i);
      expect(nonceCheck.status).toBe(0);
      const status = openssl('ocsp', '-respin', 'resp.der', '-issuer', 'issuing.pem', '-cert', 'seal.pem', '-CAfile', 'root.pem', '-no_nonce');
      expect(status.out).toContain('Response verify OK');
      expect(status.out).toContain('seal.pem: good');
      expect(status.out).not.toContain('WARNING');
    });

    it('answers revoked with reason keyCompromise', async () => {
      await respond({ type: 'revoked', revokedAt: new Date(now.getTime() - HOUR), reason: 'keyCompromise' });
      expect(openssl('ocsp', '-respin', 'resp.der', '-reqin', 'req.der', '-issuer', 'issuing.pem', '-CAfile', 'root.pem').out).toContain(
        'Response verify OK',
      );
      const status = openssl('ocsp', '-respin', 'resp.der', '-issuer', 'issuing.pem', '-cert', 'seal.pem', '-CAfile', 'root.pem', '-no_nonce');
      expect(status.out).toContain('Response verify OK');
      expect(status.out).toMatch(/seal\.pem: revoked[\s\S]*Reason: keyCompromise[\s\S]*Revocation Time:/);
    });

    it('the nonce check is live: another nonce fails, none warns (control)', async () => {
      await respond({ type: 'good' }, Buffer.alloc(16, 0xee));
      const wrong = openssl('ocsp', '-respin', 'resp.der', '-reqin', 'req.der', '-issuer', 'issuing.pem', '-CAfile', 'root.pem');
      expect(wrong.out).toContain('Nonce Verify error');
      expect(wrong.status).not.toBe(0);
      await respond({ type: 'good' }, null);
      const none = openssl('ocsp', '-respin', 'resp.der', '-reqin', 'req.der', '-issuer', 'issuing.pem', '-CAfile', 'root.pem');
      expect(none.out).toContain('WARNING: no nonce in response');
    });

    it('answers a malformed request with malformedRequest', () => {
      const broken = Buffer.concat([reqDer, Buffer.from([0])]);
      let err: unknown;
      try {
        parseOcspRequest(broken);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ParseError);
      writeFileSync(f('err.der'), buildOcspError('malformedRequest'));
      const r = openssl('ocsp', '-respin', 'err.der', '-resp_text', '-noverify');
      expect(r.out).toContain('Responder Error: malformedrequest (1)');
    });
  });

  describe('(d) time-stamping', () => {
    const reply = async (query: string, out: string, certificates = true): Promise<Buffer> => {
      const req = parseTimeStampReq(readFileSync(f(query)));
      const res = await buildTimeStampResp({
        request: req,
        tsaCertificate: pki.tsa.der,
        chain: certificates ? [pki.issuing.der] : [],
        signer: pki.tsa.signer,
        serial: BigInt(`0x${Buffer.from(out).toString('hex')}`),
        genTime: now,
        policy: { defaultPolicy: TSA_POLICY },
        accuracy: { seconds: 1 },
      });
      writeFileSync(f(out), res.der);
      return res.token ?? Buffer.alloc(0);
    };

    /** ES256/RS256: `openssl ts -verify`; PS256: `openssl cms -verify` (see the header). */
    const verifyToken = (tsr: string, untrusted: string, token: Buffer, extra: string[] = []): Run => {
      if (algorithm !== 'PS256') {
        return openssl('ts', '-verify', '-data', 'data.bin', '-in', tsr, '-CAfile', 'root.pem', '-untrusted', untrusted, ...extra);
      }
      writeFileSync(f('token.der'), token);
      const r = openssl('cms', '-verify', '-inform', 'DER', '-in', 'token.der', '-CAfile', 'cas.pem', '-certfile', 'tsa.pem', '-purpose', 'timestampsign', '-binary', '-out', 'tst.der');
      expect(readFileSync(f('tst.der'))).toEqual(parseTimeStampToken(token).eContent);
      return { status: r.status, out: r.out.replace('CMS Verification successful', 'Verification: OK') };
    };

    it('a query with -cert: the reply verifies against the data and the query (nonce)', async () => {
      expect(openssl('ts', '-query', '-data', 'data.bin', '-sha256', '-cert', '-out', 'q.tsq').status).toBe(0);
      const token = await reply('q.tsq', 'r.tsr');
      const v = verifyToken('r.tsr', 'issuing.pem', token);
      expect(v.out).toContain('Verification: OK');
      expect(v.status).toBe(0);
      if (algorithm !== 'PS256') {
        const q = openssl('ts', '-verify', '-queryfile', 'q.tsq', '-in', 'r.tsr', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem');
        expect(q.out).toContain('Verification: OK');
      }
      const certs = parseTimeStampToken(token).certificates.map((c) => c.der);
      expect(certs).toEqual([pki.tsa.der, pki.issuing.der]);
    });

    it('a query without -cert: no certificates in the token; verifies with the TSA certificate given', async () => {
      expect(openssl('ts', '-query', '-data', 'data.bin', '-sha256', '-out', 'q2.tsq').status).toBe(0);
      const token = await reply('q2.tsq', 'r2.tsr');
      expect(parseTimeStampToken(token).certificates).toEqual([]);
      writeFileSync(f('untrusted.pem'), pki.issuing.pem + pki.tsa.pem);
      const v = verifyToken('r2.tsr', 'untrusted.pem', token);
      expect(v.out).toContain('Verification: OK');
    });

    it('`openssl ts -reply -text` shows status, policy, nonce and accuracy', async () => {
      const text = openssl('ts', '-reply', '-in', 'r.tsr', '-text').out;
      const q = parseTimeStampReq(readFileSync(f('q.tsq')));
      expect(text).toContain('Status: Granted.');
      expect(text).toContain(`Policy OID: ${TSA_POLICY}`);
      expect(text).toContain('Hash Algorithm: sha256');
      expect(text).toContain('Accuracy: 0x01 seconds');
      expect(text).toContain('Ordering: no');
      expect(text).toContain(`Nonce: 0x${q.nonce!.toString('hex').replace(/^00/, '').toUpperCase()}`);
    });

    it('the imprint and nonce checks are live: another query fails (control)', async () => {
      if (algorithm === 'PS256') return; // ts -verify cannot check PSS tokens at all
      writeFileSync(f('other.bin'), 'other data');
      expect(openssl('ts', '-query', '-data', 'other.bin', '-sha256', '-cert', '-out', 'q3.tsq').status).toBe(0);
      const wrongData = openssl('ts', '-verify', '-data', 'other.bin', '-in', 'r.tsr', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem');
      expect(wrongData.out).toContain('Verification: FAILED');
      const wrongQuery = openssl('ts', '-verify', '-queryfile', 'q3.tsq', '-in', 'r.tsr', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem');
      expect(wrongQuery.out).toContain('Verification: FAILED');
    });

    it('rejects an unaccepted policy with failure info unacceptedPolicy', async () => {
      expect(openssl('ts', '-query', '-data', 'data.bin', '-sha256', '-tspolicy', '2.999.1', '-out', 'q4.tsq').status).toBe(0);
      await reply('q4.tsq', 'r4.tsr');
      const text = openssl('ts', '-reply', '-in', 'r4.tsr', '-text').out;
      expect(text).toContain('Status: Rejected.');
      expect(text).toContain('Failure info: the requested TSA policy is not supported by the TSA');
    });

    it('rejects a SHA-1 imprint with failure info badAlg', async () => {
      expect(openssl('ts', '-query', '-data', 'data.bin', '-sha1', '-out', 'q5.tsq').status).toBe(0);
      await reply('q5.tsq', 'r5.tsr');
      expect(openssl('ts', '-reply', '-in', 'r5.tsr', '-text').out).toContain('Failure info: unrecognized or unsupported algorithm identifier');
    });
  });
});
