/**
 * Verifies one CAdES / PAdES CMS signature in ordered steps and reports each step's outcome
 * rather than throwing (ETSI EN 319 122-1 B-B / B-T; RFC 5652 §5.4–5.6; RFC 5035; RFC 3161):
 *
 *   1. structure              strict parse (CMS_MALFORMED → invalid, CMS_UNSUPPORTED → not-accepted)
 *   2. signer-certificate     the certificate `sid` names, among the embedded and given ones
 *   3. content-type           the signed content-type equals eContentType (RFC 5652 §11.1)
 *   4. message-digest         SHA-256 digestAlgorithm; message-digest = hash of the content
 *   5. signature-algorithm    in the algorithm table (and the caller's allow-list); key fits it
 *   6. signature              over the DER SET of signed attributes as received, with the cert's key
 *   7. signing-certificate-v2 present; ESSCertIDv2 certHash (and issuerSerial) name the signer cert
 *   8. signature-timestamp    each token verifies (src/pki) and its imprint is the hash of the
 *                             signature value; skipped for B-B unless `requireTimestamp`
 *
 * Outcomes follow the two error families: `invalid` (cryptographically wrong: the signature does
 * not prove what it claims) and `not-accepted` (well-formed but outside what we accept). Reasons
 * are generic on purpose. Path validation, revocation and trust anchors of the signer and TSA
 * certificates are the verification module's steps, not this one's; signing-time is a claim.
 */
import type { AlgorithmName } from '../crypto/algorithms';
import { isAppError } from '../errors';
import { DerError, decodeDer, toBuffer, type DerLimits } from '../pki/der';
import { HASHES, digest } from '../pki/hashes';
import { readCertificate, type ParsedCertificate } from '../pki/certificate';
import { keyFitsAlgorithm, readPublicKeyInfo, verifySignature, type PublicKeyInfo } from '../pki/signature';
import { verifyTimeStampToken, type ParsedTSTInfo } from '../pki/tsp-token';
import { findSignerCertificate, parseCadesSignature, type ParsedCadesSignature } from './cades-parse';
import { invalidInput } from './errors';

export type CadesCheckName =
  | 'structure'
  | 'signer-certificate'
  | 'content-type'
  | 'message-digest'
  | 'signature-algorithm'
  | 'signature'
  | 'signing-certificate-v2'
  | 'signature-timestamp';

export type CadesCheckStatus = 'passed' | 'invalid' | 'not-accepted' | 'skipped';

export interface CadesCheck {
  check: CadesCheckName;
  status: CadesCheckStatus;
  /** A short, generic reason for anything but `passed`. */
  reason?: string;
  /** The stable code of the underlying error, where there is one (e.g. CMS_MALFORMED, TSP_TOKEN_INVALID). */
  code?: string;
}

export interface VerifiedSignatureTimestamp {
  genTime: Date;
  policy: string;
  serialHex: string;
  tsaCertificate: ParsedCertificate;
  token: Buffer;
}

export interface CadesVerification {
  /** True when every check passed or was skipped. */
  valid: boolean;
  /** Every check, in order. */
  checks: CadesCheck[];
  signature?: ParsedCadesSignature;
  signerCertificate?: ParsedCertificate;
  /** The signer's claimed signing time (signing-time attribute), not proof of anything. */
  claimedSigningTime?: Date;
  /** Tokens that verified. */
  timestamps: VerifiedSignatureTimestamp[];
}

export interface VerifyCadesSignatureInput {
  /** ContentInfo(SignedData), DER. */
  cms: Uint8Array;
  /** The detached content; or `contentDigest`. For an attached signature, neither (eContent is used). */
  content?: Uint8Array;
  /** SHA-256 of the detached content. */
  contentDigest?: Uint8Array;
  /** More certificates to find the signer among, when the CMS does not carry it. */
  certificates?: readonly Buffer[];
  /** Signature algorithms accepted (default: the whole table). */
  allowedAlgorithms?: readonly AlgorithmName[];
  /** TSA certificates, for tokens that do not carry theirs. */
  tsaCertificates?: readonly Buffer[];
  /** B-T required: a signature without a signature-time-stamp is not accepted. */
  requireTimestamp?: boolean;
  limits?: DerLimits;
}

const ORDER: readonly CadesCheckName[] = [
  'structure',
  'signer-certificate',
  'content-type',
  'message-digest',
  'signature-algorithm',
  'signature',
  'signing-certificate-v2',
  'signature-timestamp',
];

const REASONS = {
  malformed: 'The signature is malformed',
  unsupported: 'The signature is not of a supported form',
  signerMissing: 'The signer certificate is not available',
  contentType: 'The signed content type does not match the content',
  digestAlgorithm: 'The digest algorithm is not accepted',
  messageDigest: 'The content does not match the signature',
  signatureAlgorithm: 'The signature algorithm or key is not accepted',
  signature: 'The signature does not verify',
  essMissing: 'The signing-certificate-v2 attribute is missing',
  essHash: 'The signing-certificate-v2 hash algorithm is not accepted',
  essMismatch: 'The signing-certificate-v2 attribute does not match the signer certificate',
  tsMissing: 'A signature time-stamp is required',
  tsInvalid: 'The signature time-stamp does not verify',
  tsNotAccepted: 'The signature time-stamp is not acceptable',
} as const;

class Report {
  private readonly results = new Map<CadesCheckName, CadesCheck>();
  set(check: CadesCheckName, status: CadesCheckStatus, reason?: string, code?: string): void {
    this.results.set(check, { check, status, ...(reason ? { reason } : {}), ...(code ? { code } : {}) });
  }
  done(rest: Omit<CadesVerification, 'valid' | 'checks'>): CadesVerification {
    const checks = ORDER.map((c) => this.results.get(c) ?? { check: c, status: 'skipped' as const });
    return { valid: checks.every((c) => c.status === 'passed' || c.status === 'skipped'), checks, ...rest };
  }
}

function expectedDigest(input: VerifyCadesSignatureInput, parsed: ParsedCadesSignature): Buffer | undefined {
  if (input.content !== undefined) return digest('sha256', input.content);
  if (input.contentDigest !== undefined) return toBuffer(input.contentDigest);
  if (parsed.eContent !== undefined) return digest('sha256', parsed.eContent);
  return undefined;
}

/** Verifies a CAdES / PAdES CMS signature; see the module comment for the steps. Never throws for a bad signature. */
export function verifyCadesSignature(input: VerifyCadesSignatureInput): CadesVerification {
  if (input.content !== undefined && input.contentDigest !== undefined) throw invalidInput('/content', 'give content or contentDigest, not both');
  if (input.contentDigest !== undefined && (!(input.contentDigest instanceof Uint8Array) || input.contentDigest.length !== HASHES.sha256.length)) {
    throw invalidInput('/contentDigest', 'must be the 32-byte SHA-256 of the content');
  }
  const report = new Report();

  // 1. structure
  let parsed: ParsedCadesSignature;
  try {
    parsed = parseCadesSignature(input.cms, { limits: input.limits });
  } catch (e) {
    if (isAppError(e) && e.code === 'CMS_UNSUPPORTED') report.set('structure', 'not-accepted', REASONS.unsupported, e.code);
    else if (isAppError(e)) report.set('structure', 'invalid', REASONS.malformed, e.code);
    else throw e;
    return report.done({ timestamps: [] });
  }
  report.set('structure', 'passed');
  const si = parsed.signerInfo;

  // 2. signer certificate
  let signer = parsed.signerCertificate;
  if (!signer && input.certificates?.length) {
    try {
      signer = findSignerCertificate(si.sid, input.certificates.map((c) => readCertificate(decodeDer(c, { maxBytes: 64 * 1024 }))));
    } catch (e) {
      if (!(e instanceof DerError)) throw e;
      throw invalidInput('/certificates', 'a certificate is malformed');
    }
  }
  if (signer) report.set('signer-certificate', 'passed');
  else report.set('signer-certificate', 'not-accepted', REASONS.signerMissing);

  // 3. content type
  if (parsed.contentType === parsed.eContentType) report.set('content-type', 'passed');
  else report.set('content-type', 'invalid', REASONS.contentType);

  // 4. message digest. Every algorithm of the table signs with SHA-256, so the content digest is SHA-256 too.
  const digestIsSha256 = si.digestAlgorithm.oid === HASHES.sha256.oid;
  const expected = expectedDigest(input, parsed);
  if (expected === undefined) throw invalidInput('/content', 'the signature is detached: give content or contentDigest');
  if (!digestIsSha256) report.set('message-digest', 'not-accepted', REASONS.digestAlgorithm);
  else if (parsed.messageDigest.equals(expected)) report.set('message-digest', 'passed');
  else report.set('message-digest', 'invalid', REASONS.messageDigest);

  // 5–6. signature algorithm, key, signature
  if (signer) {
    const scheme = si.signatureScheme;
    let key: PublicKeyInfo | undefined;
    try {
      key = readPublicKeyInfo(signer.spki);
    } catch (e) {
      if (!(e instanceof DerError)) throw e;
    }
    const acceptable =
      !!scheme && !!key && digestIsSha256 && keyFitsAlgorithm(key, scheme.algorithm) && (!input.allowedAlgorithms || input.allowedAlgorithms.includes(scheme.algorithm));
    if (!acceptable) {
      report.set('signature-algorithm', 'not-accepted', REASONS.signatureAlgorithm);
    } else {
      report.set('signature-algorithm', 'passed');
      if (verifySignature(key!, scheme!, si.signedAttrsDer, si.signature)) report.set('signature', 'passed');
      else report.set('signature', 'invalid', REASONS.signature);
    }

    // 7. signing-certificate-v2 (RFC 5035 §3: the first ESSCertIDv2 names the signer's certificate)
    const ess = parsed.signingCertificateV2;
    if (!ess) {
      report.set('signing-certificate-v2', 'not-accepted', REASONS.essMissing);
    } else {
      const first = ess.certs[0]!;
      if (!first.hashName || first.hashName === 'sha1') {
        report.set('signing-certificate-v2', 'not-accepted', REASONS.essHash);
      } else {
        const hashOk = digest(first.hashName, signer.der).equals(first.certHash);
        const is = first.issuerSerial;
        const serialOk = !is || (is.serial.equals(signer.serial) && is.directoryNames.some((n) => n.equals(signer!.issuer.der)));
        if (hashOk && serialOk) report.set('signing-certificate-v2', 'passed');
        else report.set('signing-certificate-v2', 'invalid', REASONS.essMismatch);
      }
    }
  }

  // 8. signature time-stamps (B-T)
  const timestamps: VerifiedSignatureTimestamp[] = [];
  if (parsed.signatureTimeStampTokens.length === 0) {
    if (input.requireTimestamp) report.set('signature-timestamp', 'not-accepted', REASONS.tsMissing);
  } else {
    let failure: CadesCheck | undefined;
    for (const token of parsed.signatureTimeStampTokens) {
      try {
        const v = verifyTimeStampToken({ token, data: si.signature, certificates: input.tsaCertificates });
        timestamps.push(describeToken(v.tstInfo, v.signerCertificate, token));
      } catch (e) {
        if (!isAppError(e)) throw e;
        const notAccepted = e.code === 'TSP_TOKEN_NOT_ACCEPTED';
        failure ??= { check: 'signature-timestamp', status: notAccepted ? 'not-accepted' : 'invalid', reason: notAccepted ? REASONS.tsNotAccepted : REASONS.tsInvalid, code: e.code };
      }
    }
    if (failure) report.set('signature-timestamp', failure.status, failure.reason, failure.code);
    else report.set('signature-timestamp', 'passed');
  }

  return report.done({ signature: parsed, signerCertificate: signer, claimedSigningTime: parsed.signingTime, timestamps });
}

function describeToken(tst: ParsedTSTInfo, tsa: ParsedCertificate, token: Buffer): VerifiedSignatureTimestamp {
  return { genTime: tst.genTime, policy: tst.policy, serialHex: tst.serialHex, tsaCertificate: tsa, token };
}
