/**
 * Certificate profiles as data. `issueCertificate` reads one of these and nothing else decides
 * what goes into a certificate. RFC 5280 sections are cited per field.
 */
import type { AlgorithmName } from '../crypto/algorithms';
import type { SubjectField } from './name';
import { PKI_OID } from './oids';

export type ProfileName = 'root-ca' | 'issuing-ca' | 'seal' | 'timestamping' | 'ocsp-signing' | 'log-signing';

/** RFC 5280 §4.2.1.3 KeyUsage bit names. */
export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/** Bit positions of the KeyUsage BIT STRING. */
export const KEY_USAGE_BITS: Readonly<Record<KeyUsageName, number>> = Object.freeze({
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
});

export type UrlKind = 'crl' | 'ocsp' | 'caIssuers';

export interface CertificateProfile {
  readonly name: ProfileName;
  readonly description: string;
  /**
   * Algorithms allowed both for the subject's key (its type, curve and size must fit one of
   * them) and for the issuer's signature over the certificate.
   */
  readonly algorithms: readonly AlgorithmName[];
  readonly defaultValidityDays: number;
  readonly maxValidityDays: number;
  /** Root certificates are self-signed; every other profile is issued by a CA certificate. */
  readonly selfSigned: boolean;
  readonly requiredSubject: readonly SubjectField[];
  /** basicConstraints (§4.2.1.9), always critical when present. */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLen?: number };
  readonly keyUsage: { readonly critical: boolean; readonly usages: readonly KeyUsageName[] };
  /** extKeyUsage (§4.2.1.12); absent = no EKU extension. */
  readonly extKeyUsage?: { readonly critical: boolean; readonly purposes: readonly string[] };
  /** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1). */
  readonly ocspNoCheck: boolean;
  /** Which revocation/issuer URLs may be written (CRL DP §4.2.1.13, AIA §4.2.2.1). */
  readonly urls: readonly UrlKind[];
}

const ALL_ALGORITHMS: readonly AlgorithmName[] = Object.freeze(['ES256', 'RS256', 'PS256']);
const ALL_URLS: readonly UrlKind[] = Object.freeze(['crl', 'ocsp', 'caIssuers']);

const DAY = 1;
const YEAR = 365 * DAY;

export const PROFILES: Readonly<Record<ProfileName, CertificateProfile>> = Object.freeze({
  'root-ca': {
    name: 'root-ca',
    description: 'Self-signed trust anchor; signs issuing CAs and their CRLs.',
    algorithms: ALL_ALGORITHMS,
    defaultValidityDays: 20 * YEAR,
    maxValidityDays: 25 * YEAR,
    selfSigned: true,
    requiredSubject: ['cn', 'o', 'c'],
    // pathLen 1: root → issuing CA → end entity, and no deeper.
    basicConstraints: { ca: true, pathLen: 1 },
    keyUsage: { critical: true, usages: ['keyCertSign', 'cRLSign'] },
    ocspNoCheck: false,
    // A trust anchor is not checked for revocation; it names no CRL or OCSP service.
    urls: [],
  },
  'issuing-ca': {
    name: 'issuing-ca',
    description: 'Issues end-entity certificates (seals, TSA, OCSP, log) and their CRLs.',
    algorithms: ALL_ALGORITHMS,
    defaultValidityDays: 10 * YEAR,
    maxValidityDays: 15 * YEAR,
    selfSigned: false,
    requiredSubject: ['cn', 'o', 'c'],
    basicConstraints: { ca: true, pathLen: 0 },
    keyUsage: { critical: true, usages: ['keyCertSign', 'cRLSign'] },
    ocspNoCheck: false,
    urls: ALL_URLS,
  },
  seal: {
    name: 'seal',
    description: "An agency's electronic seal: signs documents on the agency's behalf.",
    algorithms: ALL_ALGORITHMS,
    defaultValidityDays: 2 * YEAR,
    maxValidityDays: 5 * YEAR,
    selfSigned: false,
    // O and CN carry the agency's name, organizationIdentifier its credit code (see name.ts).
    requiredSubject: ['cn', 'o', 'organizationIdentifier'],
    basicConstraints: { ca: false },
    // nonRepudiation (contentCommitment in X.509 2008): the seal commits the agency to content.
    keyUsage: { critical: true, usages: ['digitalSignature', 'nonRepudiation'] },
    // No EKU: an EKU would restrict the key to the listed purposes, and the document-signing
    // purposes are not consistently recognised (OpenSSL `cms -verify` expects emailProtection
    // when an EKU is present; RFC 9336 id-kp-documentSigning is new). The KU above is critical
    // and verifiers of seals require nonRepudiation.
    ocspNoCheck: false,
    urls: ALL_URLS,
  },
  timestamping: {
    name: 'timestamping',
    description: 'RFC 3161 time-stamping unit.',
    algorithms: ALL_ALGORITHMS,
    defaultValidityDays: 5 * YEAR,
    maxValidityDays: 11 * YEAR,
    selfSigned: false,
    requiredSubject: ['cn', 'o'],
    basicConstraints: { ca: false },
    keyUsage: { critical: true, usages: ['digitalSignature'] },
    // RFC 3161 §2.3: exactly one EKU, id-kp-timeStamping, and the extension MUST be critical.
    extKeyUsage: { critical: true, purposes: [PKI_OID.kpTimeStamping] },
    ocspNoCheck: false,
    urls: ALL_URLS,
  },
  'ocsp-signing': {
    name: 'ocsp-signing',
    description: 'Delegated OCSP responder of the issuing CA (RFC 6960 §4.2.2.2).',
    algorithms: ALL_ALGORITHMS,
    // nocheck certificates should be short-lived (RFC 6960 §4.2.2.2.1): renew often.
    defaultValidityDays: 90 * DAY,
    maxValidityDays: 400 * DAY,
    selfSigned: false,
    requiredSubject: ['cn', 'o'],
    basicConstraints: { ca: false },
    keyUsage: { critical: true, usages: ['digitalSignature'] },
    extKeyUsage: { critical: false, purposes: [PKI_OID.kpOCSPSigning] },
    ocspNoCheck: true,
    // With nocheck, clients do not ask about the responder's own status: no CRL DP or OCSP URL.
    urls: ['caIssuers'],
  },
  'log-signing': {
    name: 'log-signing',
    description: 'Signs transparency-log checkpoints (C2SP signed notes).',
    algorithms: ALL_ALGORITHMS,
    defaultValidityDays: 5 * YEAR,
    maxValidityDays: 11 * YEAR,
    selfSigned: false,
    requiredSubject: ['cn', 'o'],
    basicConstraints: { ca: false },
    keyUsage: { critical: true, usages: ['digitalSignature'] },
    // No EKU: there is no registered purpose for log checkpoints, and we own no OID arc to
    // define a private one. Checkpoint verifiers identify the key by its key hash (C2SP
    // signed-note key ID), not by EKU; without nonRepudiation the key is not a seal key.
    ocspNoCheck: false,
    urls: ALL_URLS,
  },
});

export function getProfile(name: ProfileName): CertificateProfile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown certificate profile ${String(name)}`);
  return p;
}

export function isProfileName(x: unknown): x is ProfileName {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(PROFILES, x);
}
