/**
 * A throw-away PKI for tests: root CA → issuing CA → seal, TSA and OCSP responder certificates,
 * each key a Node KeyObject wrapped as a Signer, all times from one injected clock and serials
 * derived from labels (deterministic). Keys are cached per process so suites stay fast.
 */
import { constants, createHash, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import type { AlgorithmName } from '../../src/crypto/algorithms';
import { ALGORITHMS } from '../../src/crypto/algorithms';
import type { Signer } from '../../src/crypto/key-provider';
import {
  issueCertificate,
  parseCertificate,
  toPem,
  creditCodeOrganizationIdentifier,
  type ParsedCertificate,
  type ProfileName,
  type SubjectInput,
  type CertificateUrls,
} from '../../src/pki';

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
