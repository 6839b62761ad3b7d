/**
 * A throw-away PKI for tests: root CA → issuing CA → seal, TSA and OCSP responder certificates,
 * each key a Node KeyObject wrapped as a Signer, all times from one injected clock and serials
 * derived from labels (deterministic). Keys are cached per process so suites stay fast.
 */
import { constants, createHash, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import type { AlgorithmName } from '../../src/crypto/algorithms';
import { ALGORITHMS } from '../../src/crypto/algorithms';
import type { Signer } from '../../src/crypto/key-provider';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  KeyIdentifier,
  KeyUsage,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import {
  KEY_USAGE_BITS,
  PKI_OID,
  buildCertId,
  buildCrl,
  buildOcspRequest,
  buildOcspResponse,
  computeKeyIdentifier,
  issueCertificate,
  issuerKeyIdentifier,
  parseCertificate,
  parseOcspRequest,
  toPem,
  creditCodeOrganizationIdentifier,
  type HashName,
  type KeyUsageName,
  type OcspCertStatus,
  type ParsedCertificate,
  type ProfileName,
  type RevokedEntry,
  type SubjectInput,
  type CertificateUrls,
} from '../../src/pki';
import { serialFromRandom } from '../../src/pki/certificate';
import { toArrayBuffer } from '../../src/pki/der';
import { buildName, nameFromDer } from '../../src/pki/name';
import { signatureAlgorithmIdentifier } from '../../src/pki/signature';

/** The fixed clock unit tests use. */
export const FIXED_NOW = new Date('2025-06-01T08:00:00Z');

/** A credit code that passes GB 32100 check-digit validation (STANDARDS.md example). */
export const TEST_CREDIT_CODE = '11330105002500287C';

export const TEST_URLS = {
  crl: 'http://pki.eseal.test/crl/issuing.crl',
  ocsp: 'http://pki.eseal.test/ocsp',
  caIssuers: 'http://pki.eseal.test/ca/issuing.cer',
} as const;

export interface TestSigner extends Signer {
  privateKey: KeyObject;
  publicKeyObject: KeyObject;
}

/** Wraps a private KeyObject as a Signer for `algorithm` (ECDSA signatures DER, as the port says). */
export function signerFromKeyObject(privateKey: KeyObject, publicKey: KeyObject, algorithm: AlgorithmName): TestSigner {
  const spec = ALGORITHMS[algorithm];
  return {
    algorithm,
    publicKey: publicKey.export({ format: 'der', type: 'spki' }) as Buffer,
    privateKey,
    publicKeyObject: publicKey,
    async sign(data: Buffer): Promise<Buffer> {
      if (spec.padding === 'pss') {
        return nodeSign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength });
      }
      if (spec.padding === 'pkcs1') return nodeSign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
      return nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
    },
  };
}

const keyCache = new Map<string, TestSigner>();

/** A fresh (or cached, per label) key for `algorithm`. RSA keys are 2048-bit to keep tests fast. */
export function testSigner(algorithm: AlgorithmName, label = 'default'): TestSigner {
  const cacheKey = `${algorithm}/${label}`;
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  const spec = ALGORITHMS[algorithm];
  const pair =
    spec.keyType === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: spec.namedCurve! })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signer = signerFromKeyObject(pair.privateKey, pair.publicKey, algorithm);
  keyCache.set(cacheKey, signer);
  return signer;
}

/** 16 deterministic "random" bytes for a label. */
export function testSerial(label: string): Buffer {
  return createHash('sha256').update(`serial:${label}`).digest().subarray(0, 16);
}

export interface TestCert {
  der: Buffer;
  pem: string;
  parsed: ParsedCertificate;
  signer: TestSigner;
}

export interface TestPki {
  algorithm: AlgorithmName;
  now: Date;
  root: TestCert;
  issuing: TestCert;
  seal: TestCert;
  tsa: TestCert;
  ocsp: TestCert;
  urls: typeof TEST_URLS;
  /** issuing + root, PEM (what `-CAfile chain.pem` wants). */
  chainPem: string;
  /** Issues another certificate under the issuing CA. */
  issue(profile: ProfileName, subject: SubjectInput, label: string, options?: { urls?: CertificateUrls; signer?: TestSigner }): Promise<TestCert>;
}

export interface TestPkiOptions {
  algorithm?: AlgorithmName;
  now?: Date;
  /** Distinguishes key sets when a suite needs two unrelated hierarchies. */
  keyLabel?: string;
}

const HOUR = 3600_000;

export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const algorithm = options.algorithm ?? 'ES256';
  const now = options.now ?? FIXED_NOW;
  const k = options.keyLabel ?? 'default';
  // Start an hour early so a tool reading the real clock never sees a not-yet-valid certificate.
  const notBefore = new Date(now.getTime() - HOUR);

  const rootSigner = testSigner(algorithm, `${k}/root`);
  const rootDer = await issueCertificate({
    profile: 'root-ca',
    subject: { c: 'CN', o: 'eseal test', cn: `eseal Test Root CA ${algorithm}` },
    subjectPublicKey: rootSigner.publicKey,
    issuer: { selfSigned: true, signer: rootSigner },
    serial: testSerial(`${k}/${algorithm}/root`),
    notBefore,
  });
  const root = wrap(rootDer, rootSigner);

  const issuingSigner = testSigner(algorithm, `${k}/issuing`);
  const issuingDer = await issueCertificate({
    profile: 'issuing-ca',
    subject: { c: 'CN', o: 'eseal test', cn: `eseal Test Issuing CA ${algorithm}` },
    subjectPublicKey: issuingSigner.publicKey,
    issuer: { certificate: rootDer, signer: rootSigner },
    serial: testSerial(`${k}/${algorithm}/issuing`),
    notBefore,
    urls: { caIssuers: 'http://pki.eseal.test/ca/root.cer' },
  });
  const issuing = wrap(issuingDer, issuingSigner);

  const issue: TestPki['issue'] = async (profile, subject, label, opts = {}) => {
    const signer = opts.signer ?? testSigner(algorithm, `${k}/${label}`);
    const der = await issueCertificate({
      profile,
      subject,
      subjectPublicKey: signer.publicKey,
      issuer: { certificate: issuingDer, signer: issuingSigner },
      serial: testSerial(`${k}/${algorithm}/${label}`),
      notBefore,
      urls: opts.urls,
    });
    return wrap(der, signer);
  };

  const seal = await issue(
    'seal',
    {
      c: 'CN',
      o: '杭州市测试局',
      organizationIdentifier: creditCodeOrganizationIdentifier(TEST_CREDIT_CODE),
      cn: '杭州市测试局',
    },
    'seal',
    { urls: TEST_URLS },
  );
  const tsa = await issue('timestamping', { c: 'CN', o: 'eseal test', cn: `eseal Test TSA ${algorithm}` }, 'tsa', { urls: TEST_URLS });
  const ocsp = await issue('ocsp-signing', { c: 'CN', o: 'eseal test', cn: `eseal Test OCSP ${algorithm}` }, 'ocsp', {
    urls: { caIssuers: TEST_URLS.caIssuers },
  });

  return { algorithm, now, root, issuing, seal, tsa, ocsp, urls: TEST_URLS, chainPem: issuing.pem + root.pem, issue };
}

function wrap(der: Buffer, signer: TestSigner): TestCert {
  return { der, pem: toPem(der), parsed: parseCertificate(der), signer };
}

// ---------------------------------------------------------------------------------------------
// Hand-built certificates, CRLs and OCSP responses (path validation and revocation tests):
// any extensions, any validity, no profile — what a CA we do not run might issue.

/** One extension as written: extnValue is `value` (the DER of the extension's own value). */
export interface RawExtension {
  oid: string;
  critical?: boolean;
  value: Buffer;
}

function derOf(v: object): Buffer {
  return Buffer.from(AsnConvert.serialize(v));
}

/** Builders for the common extensions, with RFC 5280 criticality by default. */
export const rawExt = {
  basicConstraints(ca: boolean, pathLen?: number, critical = true): RawExtension {
    return { oid: PKI_OID.basicConstraints, critical, value: derOf(new BasicConstraints(ca ? { cA: true, pathLenConstraint: pathLen } : {})) };
  },
  keyUsage(usages: readonly KeyUsageName[], critical = true): RawExtension {
    const flags = usages.reduce((acc, u) => acc | (1 << KEY_USAGE_BITS[u]), 0);
    return { oid: PKI_OID.keyUsage, critical, value: derOf(new KeyUsage(flags)) };
  },
  extKeyUsage(purposes: readonly string[], critical = false): RawExtension {
    return { oid: PKI_OID.extKeyUsage, critical, value: derOf(new ExtendedKeyUsage([...purposes])) };
  },
  subjectKeyIdentifier(keyId: Buffer): RawExtension {
    return { oid: PKI_OID.subjectKeyIdentifier, value: derOf(new SubjectKeyIdentifier(keyId)) };
  },
  authorityKeyIdentifier(keyId: Buffer): RawExtension {
    return { oid: PKI_OID.authorityKeyIdentifier, value: derOf(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })) };
  },
  ocspNoCheck(): RawExtension {
    return { oid: PKI_OID.ocspNoCheck, value: Buffer.from([0x05, 0x00]) };
  },
  /** Any extension; the value defaults to NULL. */
  other(oid: string, critical: boolean, value: Buffer = Buffer.from([0x05, 0x00])): RawExtension {
    return { oid, critical, value };
  },
};

export interface RawCertificateInput {
  /** The subject, or a Name's DER to copy exactly (e.g. another certificate's subject). */
  subject: SubjectInput | Buffer;
  /** The certified key. */
  key: TestSigner;
  /** The issuing certificate; absent: self-signed with `key`. */
  issuer?: TestCert;
  /** Signs instead of `issuer.signer` (a wrong key makes a bad signature on purpose). */
  issuerSigner?: TestSigner;
  /** Label for a deterministic serial. */
  label: string;
  notBefore: Date;
  notAfter: Date;
  extensions: readonly RawExtension[];
  /** Append SKI (of `key`) and AKI (of the issuer's key) unless the extensions already have them (default true). */
  keyIdentifiers?: boolean;
}

/** A certificate exactly as described, unchecked: for building broken and unusual paths. */
export async function issueRawCertificate(input: RawCertificateInput): Promise<TestCert> {
  const issuerSigner = input.issuerSigner ?? input.issuer?.signer ?? input.key;
  const subjectName = Buffer.isBuffer(input.subject) ? nameFromDer(input.subject) : buildName(input.subject);
  const issuerName = input.issuer ? nameFromDer(input.issuer.parsed.subject.der) : subjectName;
  const exts = [...input.extensions];
  if (input.keyIdentifiers ?? true) {
    const has = (oid: string) => exts.some((e) => e.oid === oid);
    if (!has(PKI_OID.subjectKeyIdentifier)) exts.push(rawExt.subjectKeyIdentifier(computeKeyIdentifier(parseSpkiBits(input.key.publicKey))));
    if (!has(PKI_OID.authorityKeyIdentifier)) {
      const akid = input.issuer ? issuerKeyIdentifier(input.issuer.parsed) : computeKeyIdentifier(parseSpkiBits(input.key.publicKey));
      exts.push(rawExt.authorityKeyIdentifier(akid));
    }
  }
  const sigAlg = signatureAlgorithmIdentifier(issuerSigner.algorithm);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serialFromRandom(testSerial(`raw/${input.label}`))),
    signature: sigAlg,
    issuer: issuerName,
    validity: new Validity({ notBefore: input.notBefore, notAfter: input.notAfter }),
    subject: subjectName,
    subjectPublicKeyInfo: AsnConvert.parse(input.key.publicKey, SubjectPublicKeyInfo),
    extensions: exts.length
      ? new Extensions(exts.map((e) => new Extension({ extnID: e.oid, critical: e.critical ?? false, extnValue: new OctetString(e.value) })))
      : undefined,
  });
  const tbsDer = derOf(tbs);
  const signature = await issuerSigner.sign(tbsDer);
  const der = derOf(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: sigAlg, signatureValue: toArrayBuffer(signature) }));
  return wrap(der, input.key);
}

function parseSpkiBits(spki: Buffer): Buffer {
  return Buffer.from(AsnConvert.parse(spki, SubjectPublicKeyInfo).subjectPublicKey);
}

/** A CRL signed by `ca` (which must carry cRLSign). */
export async function buildTestCrl(
  ca: TestCert,
  o: { thisUpdate: Date; nextUpdate: Date; revoked?: readonly RevokedEntry[]; crlNumber?: number },
): Promise<Buffer> {
  return buildCrl({
    issuerCertificate: ca.der,
    signer: ca.signer,
    crlNumber: o.crlNumber ?? 1,
    thisUpdate: o.thisUpdate,
    nextUpdate: o.nextUpdate,
    revoked: o.revoked ?? [],
  });
}

export interface TestOcspResponseInput {
  /** Who signs: the issuing CA itself, a delegated responder, or (to test refusal) anyone. */
  responder: TestCert;
  /** The certificate the response is about, and its issuer (for the CertID). */
  cert: TestCert | Buffer;
  issuer: TestCert | Buffer;
  status: OcspCertStatus;
  producedAt: Date;
  /** Defaults to producedAt. */
  thisUpdate?: Date;
  nextUpdate?: Date;
  hash?: HashName;
  /** Certificates to embed (default: the responder's). */
  includeCertificates?: readonly Buffer[];
}

/** A signed OCSP response about one certificate. */
export async function buildTestOcspResponse(o: TestOcspResponseInput): Promise<Buffer> {
  const der = (c: TestCert | Buffer) => (Buffer.isBuffer(c) ? c : c.der);
  const certId = parseOcspRequest(buildOcspRequest({ certIds: [buildCertId(der(o.cert), der(o.issuer), o.hash ?? 'sha256')] })).certIds[0]!;
  return buildOcspResponse({
    responderCertificate: o.responder.der,
    signer: o.responder.signer,
    producedAt: o.producedAt,
    responses: [{ certId, status: o.status, thisUpdate: o.thisUpdate ?? o.producedAt, nextUpdate: o.nextUpdate }],
    includeCertificates: o.includeCertificates ?? [o.responder.der],
  });
}
