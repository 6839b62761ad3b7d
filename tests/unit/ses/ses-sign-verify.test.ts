/**
 * Our own SESeal and SES_Signature: made with SM2 keys under a throw-away SM2 PKI, parsed and
 * re-encoded byte for byte, verified, and then broken one byte at a time — each tamper must be
 * caught by the step it concerns (data → data-hash, picture → seal-maker-signature, signer
 * certificate → signature-value, time-stamp → timestamp).
 */
import { encodeSESSignature, encodeSESeal, parseSESSignature, parseSESeal, type SES_Signature } from '../../../src/asn1';
import { makeSeal, signSes, verifySesSeal, verifySesSignature, type SesVerifyOptions, type SesCheck } from '../../../src/ses';
import { sealAppearance, toPng } from '../../../src/seals/appearance';
import { decodeDer, type DerNode } from '../../../src/pki/der';
import { createSm2TestPki, type Sm2TestPki } from './sm2-test-pki';

const NOW = new Date('2025-06-01T08:00:00Z');
const DATA = Buffer.from('<公文>关于电子印章的通知</公文>');

function byName(checks: readonly SesCheck[], name: string): SesCheck {
  const c = checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name} in ${checks.map((x) => x.name).join(', ')}`);
  return c;
}

/** Flips one bit inside the contents of the first node matching `pred` (pre-order). */
function flipInside(der: Buffer, pred: (n: DerNode) => boolean, offsetInContent = 0): Buffer {
  const root = decodeDer(der, { maxBytes: 8 << 20, maxDepth: 32 });
  const stack: DerNode[] = [root];
  while (stack.length) {
    const n = stack.shift()!;
    if (pred(n)) {
      const start = n.content.byteOffset - root.der.byteOffset + offsetInContent;
      const out = Buffer.from(der);
      out[start]! ^= 0x01;
      return out;
    }
    stack.unshift(...n.children);
  }
  throw new Error('node not found');
}

describe('SES made here: round trip, verification and tampering', () => {
  let pki: Sm2TestPki;
  let opts: SesVerifyOptions;
  let png: Buffer;

  beforeAll(async () => {
    pki = await createSm2TestPki(NOW);
    opts = {
      anchors: pki.anchors,
      candidates: [pki.issuing.parsed, pki.tsa.pki.issuing.parsed],
      now: NOW,
      revocation: async (_t, _i, _time, name) => ({ group: 'revocation', name, result: 'passed', reason: 'test: good' }),
    };
    const app = sealAppearance({ agencyName: '杭州市测试局', sealName: '', sizeMm: 42 });
    png = toPng(app.svg, 256);
  });

  async function seal() {
    return makeSeal({
      vid: 'eseal',
      esID: 'sl_test_0001',
      type: 1,
      name: '杭州市测试局公章',
      signerCertificates: [pki.sealHolder.der],
      createDate: NOW,
      validStart: new Date(NOW.getTime() - 60_000),
      validEnd: new Date(NOW.getTime() + 365 * 86400_000),
      picture: { type: 'PNG', data: png, width: 42, height: 42 },
      makerCertificate: pki.maker.der,
      maker: pki.maker.signer,
    });
  }

  async function signature(withTimestamp: boolean): Promise<SES_Signature> {
    return signSes({
      seal: await seal(),
      data: DATA,
      propertyInfo: 'notice.xml',
      time: NOW,
      signerCertificate: pki.sealHolder.der,
      signer: pki.sealHolder.signer,
      timestamp: withTimestamp ? (v) => pki.timestamp(v) : undefined,
    });
  }

  it('the seal round-trips byte for byte and verifies', async () => {
    const s = await seal();
    expect(parseSESeal(s.der).der.equals(s.der)).toBe(true);
    expect(encodeSESeal(parseSESeal(s.der)).equals(s.der)).toBe(true);
    expect(s.eSealInfo.picture).toMatchObject({ type: 'PNG', width: 42, height: 42 });
    const r = await verifySesSeal(s, opts);
    expect(r.checks.filter((c) => c.result !== 'passed')).toEqual([]);
    expect(r.indication).toBe('TOTAL_PASSED');
  });

  it('the signature (with an RFC 3161 time-stamp) round-trips byte for byte and verifies at every step', async () => {
    const sig = await signature(true);
    expect(sig.timeStamp).toBeDefined();
    expect(encodeSESSignature(parseSESSignature(sig.der)).equals(sig.der)).toBe(true);
    const r = await verifySesSignature(parseSESSignature(sig.der), DATA, opts);
    expect(r.checks.filter((c) => c.result !== 'passed')).toEqual([]);
    expect(r.indication).toBe('TOTAL_PASSED');
    expect(r.timestamp?.valid).toBe(true);
    for (const name of ['signature-value', 'signer-certificate', 'signer-in-seal', 'data-hash', 'timestamp', 'seal-maker-signature', 'seal-maker-certificate', 'seal-validity-period']) {
      expect(byName(r.checks, name).result).toBe('passed');
    }
  });

  it('a flipped byte in the data fails at data-hash', async () => {
    const sig = await signature(false);
    const bad = Buffer.from(DATA);
    bad[3]! ^= 1;
    const r = await verifySesSignature(sig, bad, opts);
    expect(byName(r.checks, 'data-hash')).toMatchObject({ result: 'failed', code: 'SES_DATA_HASH_MISMATCH' });
    expect(byName(r.checks, 'signature-value').result).toBe('passed');
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
  });

  it('a flipped byte in the seal picture fails at the maker signature (and the signature value)', async () => {
    const sig = await signature(false);
    const bad = flipInside(sig.der, (n) => n.tagNumber === 4 && n.content.length === png.length && n.content.equals(png), 100);
    const r = await verifySesSignature(parseSESSignature(bad), DATA, opts);
    expect(byName(r.checks, 'seal-maker-signature')).toMatchObject({ result: 'failed', code: 'SES_SEAL_SIGNATURE_INVALID' });
    // The seal is inside TBS_Sign, so the signer's signature breaks too.
    expect(byName(r.checks, 'signature-value')).toMatchObject({ result: 'failed', code: 'SES_SIGNATURE_INVALID' });
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });

    // The same flip in a standalone seal: only the maker signature can catch it.
    const s = await seal();
    const badSeal = flipInside(s.der, (n) => n.tagNumber === 4 && n.content.equals(png), 100);
    const rs = await verifySesSeal(parseSESeal(badSeal), opts);
    expect(byName(rs.checks, 'seal-maker-signature').result).toBe('failed');
    expect(rs.indication).toBe('TOTAL_FAILED');
  });

  it('a flipped byte in the signer certificate fails at signature-value (the key no longer matches)', async () => {
    const sig = await signature(false);
    const holder = pki.sealHolder.der;
    // SES_Signature.cert is the second child of the outer SEQUENCE; flip a byte in its public key.
    const root = decodeDer(sig.der, { maxBytes: 8 << 20 });
    const certNode = root.children[1]!;
    expect(certNode.content.equals(holder)).toBe(true);
    const keyAt = holder.indexOf(pki.sealHolder.parsed.publicKeyBits) + 40;
    const out = Buffer.from(sig.der);
    out[certNode.content.byteOffset - root.der.byteOffset + keyAt]! ^= 0x01;
    const r = await verifySesSignature(parseSESSignature(out), DATA, opts);
    expect(byName(r.checks, 'signature-value').result).toBe('failed');
    expect(byName(r.checks, 'signer-in-seal')).toMatchObject({ result: 'failed', code: 'SES_SIGNER_NOT_IN_SEAL' });
    expect(r.indication).toBe('TOTAL_FAILED');
  });

  it('a flipped byte elsewhere in the signer certificate fails at signer-certificate and signer-in-seal', async () => {
    const sig = await signature(false);
    const holder = pki.sealHolder.der;
    const root = decodeDer(sig.der, { maxBytes: 8 << 20 });
    const certNode = root.children[1]!;
    // A byte of the subject's organisation name (UTF-8 of 杭州市测试局), not the key.
    const at = holder.indexOf(Buffer.from('杭州市测试局', 'utf8'));
    expect(at).toBeGreaterThan(0);
    const out = Buffer.from(sig.der);
    out[certNode.content.byteOffset - root.der.byteOffset + at + 1]! ^= 0x01;
    const r = await verifySesSignature(parseSESSignature(out), DATA, opts);
    expect(byName(r.checks, 'signature-value').result).toBe('passed');
    expect(byName(r.checks, 'signer-certificate')).toMatchObject({ result: 'indeterminate', code: 'PATH_SIGNATURE_INVALID' });
    expect(byName(r.checks, 'signer-in-seal')).toMatchObject({ result: 'failed', code: 'SES_SIGNER_NOT_IN_SEAL' });
    expect(r.indication).not.toBe('TOTAL_PASSED');
  });

  it('a flipped byte in the time-stamp fails at timestamp', async () => {
    const sig = await signature(true);
    const root = decodeDer(sig.der, { maxBytes: 8 << 20 });
    const tsNode = root.children[4]!; // [0] EXPLICIT BIT STRING
    const bitString = tsNode.children[0]!;
    const out = Buffer.from(sig.der);
    // Flip a byte near the end of the token: inside the TSA's signature value.
    out[bitString.content.byteOffset - root.der.byteOffset + bitString.content.length - 5]! ^= 0x01;
    const r = await verifySesSignature(parseSESSignature(out), DATA, opts);
    expect(byName(r.checks, 'timestamp').result).toBe('failed');
    expect(byName(r.checks, 'signature-value').result).toBe('passed');
    expect(byName(r.checks, 'data-hash').result).toBe('passed');
    expect(r.indication).toBe('TOTAL_FAILED');
  });

  it('a certificate not in the seal cannot sign with it', async () => {
    await expect(
      signSes({ seal: await seal(), data: DATA, propertyInfo: 'x', time: NOW, signerCertificate: pki.maker.der, signer: pki.maker.signer }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('the signing time is judged against the seal period; expiry since is a warning', async () => {
    const sig = await signature(false);
    const later = { ...opts, now: new Date(NOW.getTime() + 2 * 365 * 86400_000) };
    const r = await verifySesSignature(sig, DATA, later);
    expect(byName(r.checks, 'seal-validity-period').result).toBe('passed');
    expect(byName(r.checks, 'seal-expired-since')).toMatchObject({ result: 'warning', code: 'EXPIRED_SINCE' });
  });

  it('without a revocation source the result is never TOTAL_PASSED', async () => {
    const sig = await signature(false);
    const r = await verifySesSignature(sig, DATA, { ...opts, revocation: undefined });
    expect(byName(r.checks, 'signer-certificate-revocation')).toMatchObject({ result: 'indeterminate', code: 'REVOCATION_NOT_CHECKED' });
    expect(r.indication).toBe('INDETERMINATE');
  });

  it('without trust anchors the chain is not found (INDETERMINATE), the cryptography still checks', async () => {
    const sig = await signature(false);
    const r = await verifySesSignature(sig, DATA, { ...opts, anchors: [] });
    expect(byName(r.checks, 'signer-certificate')).toMatchObject({ result: 'indeterminate', code: 'PATH_NOT_FOUND' });
    expect(byName(r.checks, 'signature-value').result).toBe('passed');
    expect(r).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });
  });
});
