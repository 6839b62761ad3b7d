import { PKI_OID, parseCertificate, type ParsedCertificate } from '../../../src/pki';
import { MAX_PATH_CERTIFICATES, pathValidityWindow, validatePath, type PathFailure, type PathResult, type ValidatePathInput } from '../../../src/verify/path';
import {
  FIXED_NOW,
  createTestPki,
  issueRawCertificate,
  rawExt,
  testSigner,
  type RawExtension,
  type TestCert,
  type TestPki,
} from '../../helpers/test-pki';

const DAY = 86400_000;
const YEAR = 365 * DAY;
const NOT_BEFORE = new Date(FIXED_NOW.getTime() - DAY);
const NOT_AFTER = new Date(FIXED_NOW.getTime() + YEAR);

let pki: TestPki;
let other: TestPki;

beforeAll(async () => {
  pki = await createTestPki();
  other = await createTestPki({ keyLabel: 'other-hierarchy' });
});

function run(o: Partial<ValidatePathInput> & { target: ParsedCertificate }): PathResult {
  return validatePath({ candidates: [pki.issuing.parsed], anchors: [pki.root.parsed], time: FIXED_NOW, purpose: 'signing', ...o });
}

function expectFailure(r: PathResult): PathFailure {
  if (r.ok) throw new Error('expected the path to fail');
  return r;
}

function ders(path: ParsedCertificate[]): Buffer[] {
  return path.map((c) => c.der);
}

const CA_EXTS: RawExtension[] = [rawExt.basicConstraints(true), rawExt.keyUsage(['keyCertSign', 'cRLSign'])];
const LEAF_EXTS: RawExtension[] = [rawExt.basicConstraints(false), rawExt.keyUsage(['digitalSignature', 'nonRepudiation'])];

/** A certificate under `issuer` (default: the test issuing CA) with the given extensions. */
function raw(label: string, extensions: RawExtension[], o: { issuer?: TestCert; subject?: string | Buffer; notBefore?: Date; notAfter?: Date } = {}): Promise<TestCert> {
  return issueRawCertificate({
    subject: Buffer.isBuffer(o.subject) ? o.subject : { c: 'CN', o: 'path test', cn: o.subject ?? label },
    key: testSigner('ES256', `path/${label}`),
    issuer: o.issuer ?? pki.issuing,
    label: `path/${label}`,
    notBefore: o.notBefore ?? NOT_BEFORE,
    notAfter: o.notAfter ?? NOT_AFTER,
    extensions,
  });
}

/** The same DER with its last byte (inside the signature value) changed. */
function tamperSignature(der: Buffer): ParsedCertificate {
  const copy = Buffer.from(der);
  copy[copy.length - 1] = copy[copy.length - 1]! ^ 0x01;
  return parseCertificate(copy);
}

describe('validatePath: building', () => {
  it('finds seal → issuing → root and returns it target first', () => {
    const r = run({ target: pki.seal.parsed });
    expect(r.ok).toBe(true);
    if (r.ok) expect(ders(r.path)).toEqual([pki.seal.der, pki.issuing.der, pki.root.der]);
  });

  it('ignores junk and duplicate candidates, and a root sent along with the chain', () => {
    const candidates = [pki.tsa.parsed, other.issuing.parsed, other.root.parsed, pki.issuing.parsed, pki.issuing.parsed, pki.root.parsed, pki.seal.parsed];
    const r = run({ target: pki.seal.parsed, candidates });
    expect(r.ok).toBe(true);
    if (r.ok) expect(ders(r.path)).toEqual([pki.seal.der, pki.issuing.der, pki.root.der]);
  });

  it('accepts a target that is itself an anchor (path of one)', () => {
    const r = run({ target: pki.root.parsed, candidates: [], purpose: 'crl-signing' });
    expect(r.ok).toBe(true);
    if (r.ok) expect(ders(r.path)).toEqual([pki.root.der]);
  });

  it('stops at an intermediate anchor', () => {
    const r = run({ target: pki.seal.parsed, candidates: [], anchors: [pki.issuing.parsed] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(ders(r.path)).toEqual([pki.seal.der, pki.issuing.der]);
  });

  it('missing intermediate → NO_CERTIFICATE_CHAIN_FOUND', () => {
    const f = expectFailure(run({ target: pki.seal.parsed, candidates: [pki.tsa.parsed] }));
    expect(f.subIndication).toBe('NO_CERTIFICATE_CHAIN_FOUND');
    expect(f.code).toBe('PATH_NOT_FOUND');
    expect(f.path).toBeUndefined();
  });

  it('untrusted root → NO_CERTIFICATE_CHAIN_FOUND, even when the root is among the candidates', () => {
    const f = expectFailure(run({ target: pki.seal.parsed, candidates: [pki.issuing.parsed, pki.root.parsed], anchors: [other.root.parsed] }));
    expect(f.subIndication).toBe('NO_CERTIFICATE_CHAIN_FOUND');
  });

  it('an anchor with the same name but another key does not anchor the path (no chain, not a bad signature)', async () => {
    const impostor = await issueRawCertificate({
      subject: pki.root.parsed.subject.der,
      key: testSigner('ES256', 'path/impostor-root'),
      label: 'path/impostor-root',
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      extensions: CA_EXTS,
    });
    expect(expectFailure(run({ target: pki.seal.parsed, anchors: [impostor.parsed] })).subIndication).toBe('NO_CERTIFICATE_CHAIN_FOUND');
  });

  it('tries the next candidate when one with the right name and key identifier has the wrong key', async () => {
    // Same subject and SKI as the issuing CA, another key: name chaining and AKI cannot tell them apart.
    const fake = await issueRawCertificate({
      subject: pki.issuing.parsed.subject.der,
      key: testSigner('ES256', 'path/fake-issuing'),
      issuer: pki.root,
      label: 'path/fake-issuing',
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      extensions: [...CA_EXTS, rawExt.subjectKeyIdentifier(pki.issuing.parsed.subjectKeyIdentifier!)],
    });
    const r = run({ target: pki.seal.parsed, candidates: [fake.parsed, pki.issuing.parsed] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.path[1]!.der).toEqual(pki.issuing.der);
    // With only the fake, the signature failure is what is reported, not "no chain".
    const f = expectFailure(run({ target: pki.seal.parsed, candidates: [fake.parsed] }));
    expect(f.subIndication).toBe('CERTIFICATE_CHAIN_GENERAL_FAILURE');
    expect(f.certIndex).toBe(0);
  });

  it('terminates on a pair of CAs certifying each other, and on a self-signed non-anchor', async () => {
    const aKey = testSigner('ES256', 'path/loop-a');
    const bKey = testSigner('ES256', 'path/loop-b');
    const aSelf = await issueRawCertificate({ subject: { cn: 'Loop A' }, key: aKey, label: 'path/loop-a-self', notBefore: NOT_BEFORE, notAfter: NOT_AFTER, extensions: CA_EXTS });
    const bSelf = await issueRawCertificate({ subject: { cn: 'Loop B' }, key: bKey, label: 'path/loop-b-self', notBefore: NOT_BEFORE, notAfter: NOT_AFTER, extensions: CA_EXTS });
    const aByB = await issueRawCertificate({ subject: { cn: 'Loop A' }, key: aKey, issuer: bSelf, label: 'path/a-by-b', notBefore: NOT_BEFORE, notAfter: NOT_AFTER, extensions: CA_EXTS });
    const bByA = await issueRawCertificate({ subject: { cn: 'Loop B' }, key: bKey, issuer: aSelf, label: 'path/b-by-a', notBefore: NOT_BEFORE, notAfter: NOT_AFTER, extensions: CA_EXTS });
    const leaf = await raw('loop-leaf', LEAF_EXTS, { issuer: aSelf });
    const junk = Array.from({ length: 50 }, () => [aByB.parsed, bByA.parsed, aSelf.parsed, bSelf.parsed]).flat();
    const started = Date.now();
    const f = expectFailure(run({ target: leaf.parsed, candidates: junk }));
    expect(f.subIndication).toBe('NO_CERTIFICATE_CHAIN_FOUND');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it(`gives up on paths longer than ${MAX_PATH_CERTIFICATES} certificates`, async () => {
    // root → ca1 → … → ca9 → leaf: 11 certificates.
    let parent: TestCert = pki.root;
    const cas: TestCert[] = [];
    for (let i = 1; i <= 9; i++) {
      parent = await raw(`long-ca${i}`, CA_EXTS, { issuer: parent });
      cas.push(parent);
    }
    const leaf = await raw('long-leaf', LEAF_EXTS, { issuer: parent });
    const f = expectFailure(run({ target: leaf.parsed, candidates: cas.map((c) => c.parsed) }));
    expect(f.subIndication).toBe('NO_CERTIFICATE_CHAIN_FOUND');
    expect(f.code).toBe('PATH_TOO_LONG');
  });
});

describe('validatePath: time', () => {
  it('expired leaf → EXPIRED with the window in which the path was valid; valid at an earlier time', () => {
    const later = new Date(pki.seal.parsed.notAfter.getTime() + DAY);
    const f = expectFailure(run({ target: pki.seal.parsed, time: later }));
    expect(f.subIndication).toBe('EXPIRED');
    expect(f.code).toBe('PATH_EXPIRED');
    expect(f.certIndex).toBe(0);
    expect(f.expiredAt).toEqual(pki.seal.parsed.notAfter);
    expect(f.outOfBounds).toEqual({ notBefore: pki.seal.parsed.notBefore, notAfter: pki.seal.parsed.notAfter });
    expect(ders(f.path!)).toEqual([pki.seal.der, pki.issuing.der, pki.root.der]);
    expect(run({ target: pki.seal.parsed, time: new Date(f.outOfBounds!.notAfter.getTime() - 1000) }).ok).toBe(true);
  });

  it('exactly at notBefore and notAfter is valid (RFC 5280 §4.1.2.5: inclusive)', () => {
    expect(run({ target: pki.seal.parsed, time: pki.seal.parsed.notAfter }).ok).toBe(true);
    expect(run({ target: pki.seal.parsed, time: pki.seal.parsed.notBefore }).ok).toBe(true);
  });

  it('before notBefore → NOT_YET_VALID', () => {
    const f = expectFailure(run({ target: pki.seal.parsed, time: new Date(pki.seal.parsed.notBefore.getTime() - 1000) }));
    expect(f.subIndication).toBe('NOT_YET_VALID');
    expect(f.validFrom).toEqual(pki.seal.parsed.notBefore);
  });

  it('an expired anchor fails the path too', async () => {
    const shortRootKey = testSigner('ES256', 'path/short-root');
    const shortRoot = await issueRawCertificate({
      subject: { cn: 'Short-lived Root' },
      key: shortRootKey,
      label: 'path/short-root',
      notBefore: NOT_BEFORE,
      notAfter: new Date(FIXED_NOW.getTime() + DAY),
      extensions: CA_EXTS,
    });
    const leaf = await raw('short-root-leaf', LEAF_EXTS, { issuer: shortRoot });
    const f = expectFailure(run({ target: leaf.parsed, candidates: [], anchors: [shortRoot.parsed], time: new Date(FIXED_NOW.getTime() + 2 * DAY) }));
    expect(f.subIndication).toBe('EXPIRED');
    expect(f.certIndex).toBe(1);
    expect(f.expiredAt).toEqual(shortRoot.parsed.notAfter);
  });

  it('a constraint failure outranks expiry: no outOfBounds when the path is broken anyway', async () => {
    const notCa = await raw('expired-not-ca', [rawExt.basicConstraints(false), rawExt.keyUsage(['keyCertSign'])], { issuer: pki.root });
    const leaf = await raw('expired-not-ca-leaf', LEAF_EXTS, { issuer: notCa });
    const f = expectFailure(run({ target: leaf.parsed, candidates: [notCa.parsed], time: new Date(NOT_AFTER.getTime() + DAY) }));
    expect(f.subIndication).toBe('CHAIN_CONSTRAINTS_FAILURE');
    expect(f.outOfBounds).toBeUndefined();
  });

  it('pathValidityWindow is the intersection, or undefined when empty', async () => {
    expect(pathValidityWindow([pki.seal.parsed, pki.issuing.parsed, pki.root.parsed])).toEqual({
      notBefore: pki.seal.parsed.notBefore,
      notAfter: pki.seal.parsed.notAfter,
    });
    const early = await raw('window-early', LEAF_EXTS, { notBefore: new Date(0), notAfter: new Date(DAY) });
    expect(pathValidityWindow([early.parsed, pki.issuing.parsed])).toBeUndefined();
    expect(pathValidityWindow([])).toBeUndefined();
  });
});

describe('validatePath: constraints', () => {
  it('CA without cA=true → CHAIN_CONSTRAINTS_FAILURE', async () => {
    for (const [label, exts] of [
      ['no-bc', [rawExt.keyUsage(['keyCertSign', 'cRLSign'])]],
      ['bc-false', [rawExt.basicConstraints(false), rawExt.keyUsage(['keyCertSign', 'cRLSign'])]],
    ] as const) {
      const ca = await raw(`${label}-ca`, [...exts], { issuer: pki.root });
      const leaf = await raw(`${label}-leaf`, LEAF_EXTS, { issuer: ca });
      const f = expectFailure(run({ target: leaf.parsed, candidates: [ca.parsed] }));
      expect(f.subIndication).toBe('CHAIN_CONSTRAINTS_FAILURE');
      expect(f.code).toBe('PATH_NOT_A_CA');
      expect(f.certIndex).toBe(1);
    }
  });

  it('CA whose key usage lacks keyCertSign → CHAIN_CONSTRAINTS_FAILURE', async () => {
    const ca = await raw('no-certsign-ca', [rawExt.basicConstraints(true), rawExt.keyUsage(['cRLSign'])], { issuer: pki.root });
    const leaf = await raw('no-certsign-leaf', LEAF_EXTS, { issuer: ca });
    const f = expectFailure(run({ target: leaf.parsed, candidates: [ca.parsed] }));
    expect(f.code).toBe('PATH_CA_KEY_USAGE');
  });

  it('tampered signature in the chain → CERTIFICATE_CHAIN_GENERAL_FAILURE naming the certificate', () => {
    const leaf = expectFailure(run({ target: tamperSignature(pki.seal.der) }));
    expect(leaf.subIndication).toBe('CERTIFICATE_CHAIN_GENERAL_FAILURE');
    expect(leaf.code).toBe('PATH_SIGNATURE_INVALID');
    expect(leaf.certIndex).toBe(0);
    const mid = expectFailure(run({ target: pki.seal.parsed, candidates: [tamperSignature(pki.issuing.der)] }));
    expect(mid.subIndication).toBe('CERTIFICATE_CHAIN_GENERAL_FAILURE');
    expect(mid.certIndex).toBe(1);
  });

  it('pathLenConstraint: the issuing CA (pathLen 0) may not have a CA below it', async () => {
    const sub = await raw('sub-ca', CA_EXTS, { issuer: pki.issuing });
    const leaf = await raw('sub-ca-leaf', LEAF_EXTS, { issuer: sub });
    const f = expectFailure(run({ target: leaf.parsed, candidates: [sub.parsed, pki.issuing.parsed] }));
    expect(f.subIndication).toBe('CHAIN_CONSTRAINTS_FAILURE');
    expect(f.code).toBe('PATH_LENGTH_CONSTRAINT');
    expect(f.certIndex).toBe(2);
    // The same sub-CA as an anchor is fine: nothing above it constrains it.
    expect(run({ target: leaf.parsed, candidates: [], anchors: [sub.parsed] }).ok).toBe(true);
  });

  it("pathLenConstraint: the anchor's own limit applies", async () => {
    // root (pathLen 1) → issuing' (no limit) → sub (no limit) → leaf: two intermediates below the root.
    const mid = await raw('plen-mid', CA_EXTS, { issuer: pki.root });
    const sub = await raw('plen-sub', CA_EXTS, { issuer: mid });
    const leaf = await raw('plen-leaf', LEAF_EXTS, { issuer: sub });
    const f = expectFailure(run({ target: leaf.parsed, candidates: [sub.parsed, mid.parsed] }));
    expect(f.code).toBe('PATH_LENGTH_CONSTRAINT');
    expect(f.certIndex).toBe(3);
  });

  it('pathLenConstraint does not count self-issued intermediates (RFC 5280 §4.2.1.9): key rollover', async () => {
    // issuing (pathLen 0) certifies its own new key under the same name; the new key issues the leaf.
    const newKey = testSigner('ES256', 'path/issuing-new-key');
    const rollover = await issueRawCertificate({
      subject: pki.issuing.parsed.subject.der,
      key: newKey,
      issuer: pki.issuing,
      label: 'path/rollover',
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      extensions: CA_EXTS,
    });
    expect(rollover.parsed.selfIssued).toBe(true);
    const leaf = await raw('rollover-leaf', LEAF_EXTS, { issuer: rollover });
    const r = run({ target: leaf.parsed, candidates: [pki.issuing.parsed, rollover.parsed] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(ders(r.path)).toEqual([leaf.der, rollover.der, pki.issuing.der, pki.root.der]);
  });

  it('unknown critical extension → CHAIN_CONSTRAINTS_FAILURE; unknown non-critical is ignored', async () => {
    const critical = await raw('crit-leaf', [...LEAF_EXTS, rawExt.other('1.2.3.4.5', true)]);
    const f = expectFailure(run({ target: critical.parsed }));
    expect(f.subIndication).toBe('CHAIN_CONSTRAINTS_FAILURE');
    expect(f.code).toBe('PATH_UNKNOWN_CRITICAL_EXTENSION');
    const plain = await raw('noncrit-leaf', [...LEAF_EXTS, rawExt.other('1.2.3.4.5', false)]);
    expect(run({ target: plain.parsed }).ok).toBe(true);
    // policyConstraints is not processed: refused when critical.
    const pc = await raw('pc-ca', [...CA_EXTS, rawExt.other('2.5.29.36', true, Buffer.from('3003800100', 'hex'))], { issuer: pki.root });
    const pcLeaf = await raw('pc-leaf', LEAF_EXTS, { issuer: pc });
    expect(expectFailure(run({ target: pcLeaf.parsed, candidates: [pc.parsed] })).code).toBe('PATH_UNKNOWN_CRITICAL_EXTENSION');
  });

  it('name constraints are refused, critical or not, since they are not enforced', async () => {
    // NameConstraints ::= SEQUENCE { permittedSubtrees [0] { GeneralSubtree { dNSName "a.test" } } }
    const nc = Buffer.from('300ca00a30088206612e74657374', 'hex');
    const ca = await raw('nc-ca', [...CA_EXTS, rawExt.other('2.5.29.30', false, nc)], { issuer: pki.root });
    const leaf = await raw('nc-leaf', LEAF_EXTS, { issuer: ca });
    const f = expectFailure(run({ target: leaf.parsed, candidates: [ca.parsed] }));
    expect(f.code).toBe('PATH_NAME_CONSTRAINTS_UNSUPPORTED');
    expect(f.certIndex).toBe(1);
  });

  it('signing: the leaf must allow digitalSignature or nonRepudiation, and not be a service key', async () => {
    const encOnly = await raw('enc-only', [rawExt.basicConstraints(false), rawExt.keyUsage(['keyEncipherment'])]);
    expect(expectFailure(run({ target: encOnly.parsed })).code).toBe('PATH_KEY_USAGE');
    expect(expectFailure(run({ target: pki.tsa.parsed })).code).toBe('PATH_EXTENDED_KEY_USAGE');
    const noKu = await raw('no-ku', [rawExt.basicConstraints(false)]);
    expect(run({ target: noKu.parsed }).ok).toBe(true);
  });

  it('timestamping: the TSA certificate needs exactly one critical id-kp-timeStamping EKU', async () => {
    expect(run({ target: pki.tsa.parsed, purpose: 'timestamping' }).ok).toBe(true);
    const nonCritical = await raw('tsa-noncrit', [
      rawExt.basicConstraints(false),
      rawExt.keyUsage(['digitalSignature']),
      rawExt.extKeyUsage([PKI_OID.kpTimeStamping], false),
    ]);
    const f = expectFailure(run({ target: nonCritical.parsed, purpose: 'timestamping' }));
    expect(f.subIndication).toBe('CHAIN_CONSTRAINTS_FAILURE');
    expect(f.code).toBe('PATH_EXTENDED_KEY_USAGE');
    const twoPurposes = await raw('tsa-two', [
      rawExt.basicConstraints(false),
      rawExt.keyUsage(['digitalSignature']),
      rawExt.extKeyUsage([PKI_OID.kpTimeStamping, PKI_OID.kpOCSPSigning], true),
    ]);
    expect(expectFailure(run({ target: twoPurposes.parsed, purpose: 'timestamping' })).code).toBe('PATH_EXTENDED_KEY_USAGE');
    expect(expectFailure(run({ target: pki.seal.parsed, purpose: 'timestamping' })).code).toBe('PATH_EXTENDED_KEY_USAGE');
    // An expired TSA is EXPIRED (not a purpose failure), so the engine can revalidate at genTime.
    const late = new Date(pki.tsa.parsed.notAfter.getTime() + DAY);
    expect(expectFailure(run({ target: pki.tsa.parsed, purpose: 'timestamping', time: late })).subIndication).toBe('EXPIRED');
  });

  it('ocsp-signing needs id-kp-OCSPSigning; crl-signing needs cRLSign', () => {
    expect(run({ target: pki.ocsp.parsed, purpose: 'ocsp-signing' }).ok).toBe(true);
    expect(expectFailure(run({ target: pki.seal.parsed, purpose: 'ocsp-signing' })).code).toBe('PATH_EXTENDED_KEY_USAGE');
    expect(run({ target: pki.issuing.parsed, candidates: [], purpose: 'crl-signing' }).ok).toBe(true);
    expect(expectFailure(run({ target: pki.seal.parsed, purpose: 'crl-signing' })).code).toBe('PATH_KEY_USAGE');
  });

  it('rejects an invalid validation time as a programming error', () => {
    expect(() => run({ target: pki.seal.parsed, time: new Date(Number.NaN) })).toThrow(TypeError);
  });
});
