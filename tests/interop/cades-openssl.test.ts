/**
 * CAdES judged by a tool we did not write, and a tool's CAdES judged by us: OpenSSL 3 `cms` and
 * `ts`. OpenSSL checks certificate times against the real clock, so this suite issues its PKIs
 * at the current time (whole seconds) rather than the unit tests' fixed clock.
 *
 * `openssl ts -verify` goes through OpenSSL's PKCS #7 code, which cannot verify RSASSA-PSS
 * tokens: the TSA here is always ES256 (its own throw-away PKI), whatever the signer's algorithm.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCadesSignature, parseCadesSignature, tsaTimestamper, verifyCadesSignature } from '../../src/signing';
import { parseTimeStampToken } from '../../src/pki';
import { createTestPki, type TestPki } from '../helpers/test-pki';
import { createTestTsa, type TestTsa } from '../unit/signing/helpers';

const opensslAvailable = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const describeIfOpenssl = opensslAvailable ? describe : describe.skip;

interface Run {
  status: number | null;
  out: string;
}

describeIfOpenssl.each(['ES256', 'RS256', 'PS256'] as const)('CAdES %s and OpenSSL', (algorithm) => {
  let dir: string;
  let pki: TestPki;
  let tsa: TestTsa;
  const content = Buffer.from(`%PDF-1.7 stand-in: bytes to sign with ${algorithm}\n`.repeat(40));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]): Run => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const cmsVerify = (p7s: string, ...extra: string[]): Run =>
    openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', p7s, '-content', 'content.bin', '-CAfile', 'root.pem', '-purpose', 'any', '-out', 'verified.bin', ...extra);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `eseal-cades-${algorithm}-`));
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    pki = await createTestPki({ algorithm, now });
    tsa = await createTestTsa({ now, genTime: () => new Date(Math.floor(Date.now() / 1000) * 1000) });
    writeFileSync(f('content.bin'), content);
    writeFileSync(f('root.pem'), pki.root.pem);
    writeFileSync(f('issuing.pem'), pki.issuing.pem);
    writeFileSync(f('seal.pem'), pki.seal.pem);
    writeFileSync(f('seal.key'), pki.seal.signer.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(f('tsa-root.pem'), tsa.pki.root.pem);
    writeFileSync(f('tsa-issuing.pem'), tsa.pki.issuing.pem);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const sign = (profile: 'cades' | 'pades', timestamped: boolean) =>
    buildCadesSignature({
      signer: pki.seal.signer,
      certificate: pki.seal.der,
      chain: [pki.issuing.der],
      content,
      profile,
      signingTime: profile === 'cades' ? pki.now : undefined,
      timestamp: timestamped ? tsaTimestamper(tsa.respond) : undefined,
    });

  describe.each([
    ['B-B', false],
    ['B-T', true],
  ] as const)('%s', (level, timestamped) => {
    it.each(['cades', 'pades'] as const)('`openssl cms -verify` accepts our %s signature (embedded chain; -cades checks signing-certificate-v2)', async (profile) => {
      const sig = await sign(profile, timestamped);
      const name = `${profile}-${level}.p7s`;
      writeFileSync(f(name), sig.der);
      const r = cmsVerify(name);
      expect(r.out).toContain('Verification successful');
      expect(r.status).toBe(0);
      expect(readFileSync(f('verified.bin'))).toEqual(content);
      const cades = cmsVerify(name, '-cades');
      expect(cades.out).toContain('Verification successful');
      // Control: the same command fails on other content.
      writeFileSync(f('other.bin'), Buffer.concat([content, Buffer.from('x')]));
      const bad = openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', name, '-content', 'other.bin', '-CAfile', 'root.pem', '-purpose', 'any', '-out', 'verified.bin');
      expect(bad.out).toMatch(/Verification failure/);
      expect(bad.status).not.toBe(0);
    });
  });

  it('`openssl ts -verify` accepts the B-T token from the unsigned attribute over the signature value', async () => {
    const sig = await sign('pades', true);
    const token = parseCadesSignature(sig.der).signatureTimeStampTokens[0]!;
    expect(token).toEqual(sig.timeStampToken);
    writeFileSync(f('sigvalue.bin'), sig.signatureValue);
    writeFileSync(f('token.tsr'), token);
    const r = openssl('ts', '-verify', '-data', 'sigvalue.bin', '-in', 'token.tsr', '-token_in', '-CAfile', 'tsa-root.pem', '-untrusted', 'tsa-issuing.pem');
    expect(r.out).toContain('Verification: OK');
    expect(r.status).toBe(0);
    // Control: not over other data.
    writeFileSync(f('othervalue.bin'), Buffer.concat([sig.signatureValue, Buffer.from([0])]));
    const bad = openssl('ts', '-verify', '-data', 'othervalue.bin', '-in', 'token.tsr', '-token_in', '-CAfile', 'tsa-root.pem', '-untrusted', 'tsa-issuing.pem');
    expect(bad.out).toContain('Verification: FAILED');
    expect(parseTimeStampToken(token).tstInfo.messageImprint.hashName).toBe('sha256');
  });

  it('`openssl cms -cmsout -print` shows signing-certificate-v2, signing-time for CAdES only, and the time-stamp attribute', async () => {
    writeFileSync(f('c.p7s'), (await sign('cades', true)).der);
    writeFileSync(f('p.p7s'), (await sign('pades', false)).der);
    const c = openssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'c.p7s');
    const p = openssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'p.p7s');
    for (const out of [c.out, p.out]) {
      expect(out).toContain('object: id-smime-aa-signingCertificateV2 (1.2.840.113549.1.9.16.2.47)');
      expect(out).toContain('object: contentType (1.2.840.113549.1.9.3)');
      expect(out).toContain('object: messageDigest (1.2.840.113549.1.9.4)');
      expect(out).toMatch(/version: 1\s/);
    }
    expect(c.out).toContain('object: signingTime (1.2.840.113549.1.9.5)');
    expect(p.out).not.toContain('signingTime');
    expect(c.out).toContain('id-smime-aa-timeStampToken (1.2.840.113549.1.9.16.2.14)');
    expect(p.out).toMatch(/unsignedAttrs:\s*<ABSENT>/);
    if (algorithm === 'PS256') expect(c.out).toMatch(/algorithm: rsassaPss[^]*?OBJECT +:sha256[^]*?OBJECT +:mgf1[^]*?OBJECT +:sha256[^]*?cont \[ 2 \][^]*?INTEGER +:20\n/);
  });

  describe('OpenSSL-made CMS, verified by us (third-party input)', () => {
    const osslSign = (out: string, ...extra: string[]): Run => {
      const pss = algorithm === 'PS256' ? ['-keyopt', 'rsa_padding_mode:pss', '-keyopt', 'rsa_pss_saltlen:32'] : [];
      return openssl('cms', '-sign', '-binary', '-outform', 'DER', '-in', 'content.bin', '-signer', 'seal.pem', '-inkey', 'seal.key', '-certfile', 'issuing.pem', '-md', 'sha256', ...pss, ...extra, '-out', out);
    };

    it('detached with -cades: parses strictly and every check passes', () => {
      const r = osslSign('ossl.p7s', '-cades');
      expect(r.status).toBe(0);
      const der = readFileSync(f('ossl.p7s'));
      const p = parseCadesSignature(der);
      expect(p.eContent).toBeUndefined();
      expect(p.signerCertificate?.der).toEqual(pki.seal.der);
      expect(p.signingCertificateV2?.certs[0]?.hashName).toBe('sha256');
      expect(p.signingTime).toBeInstanceOf(Date);
      expect(p.signerInfo.signatureScheme?.algorithm).toBe(algorithm);
      const v = verifyCadesSignature({ cms: der, content });
      expect(v.checks.filter((c) => c.status !== 'passed' && c.status !== 'skipped')).toEqual([]);
      expect(v.valid).toBe(true);
      const tampered = Buffer.from(content);
      tampered[0] ^= 0x20;
      const t = verifyCadesSignature({ cms: der, content: tampered });
      expect(t.valid).toBe(false);
      expect(t.checks.find((c) => c.check === 'message-digest')?.status).toBe('invalid');
    });

    it('without -cades: everything verifies but the missing signing-certificate-v2 is not accepted', () => {
      expect(osslSign('plain.p7s').status).toBe(0);
      const v = verifyCadesSignature({ cms: readFileSync(f('plain.p7s')), content });
      expect(v.checks.find((c) => c.check === 'signature')?.status).toBe('passed');
      expect(v.checks.find((c) => c.check === 'signing-certificate-v2')).toMatchObject({ status: 'not-accepted' });
      expect(v.valid).toBe(false);
    });

    it('attached (-nodetach): the encapsulated content is what is verified', () => {
      expect(osslSign('attached.p7s', '-cades', '-nodetach').status).toBe(0);
      const der = readFileSync(f('attached.p7s'));
      expect(parseCadesSignature(der).eContent).toEqual(content);
      expect(verifyCadesSignature({ cms: der }).valid).toBe(true);
    });
  });
});
