/**
 * Verifying GB/T 38540 seals and signatures as ordered steps (STANDARDS.md, "Verifying a seal"
 * and "Verifying a signature"). Pure: trust anchors, the validation time, the signed data and a
 * revocation callback are parameters; the result is a list of checks in the verification
 * report's vocabulary (src/verify/report.ts) plus an ETSI EN 319 102-1 indication.
 *
 * Time: without a time-stamp the signing time is the signer's claim (TBS_Sign.timeInfo) and,
 * per GB/T 38540, it must fall inside each validity period (signer certificate, maker
 * certificate, seal). Certificates are judged at that time; what has expired *since* is
 * reported as a warning, not as a failure. With a valid time-stamp its genTime replaces the claim.
 */
import { OID } from '../crypto/algorithms';
import { sm3 } from '../crypto/sm2';
import { AppError } from '../errors';
import { type SES_Signature, type SESeal, sealSignedBytes } from '../asn1';
import { parseCertificate, type ParsedCertificate } from '../pki/certificate';
import { readPublicKeyInfo, verifySignature } from '../pki/signature';
import { decodeDer, readOid } from '../pki/der';
import { parseTimeStampToken, verifyTimeStampToken } from '../pki/tsp-token';
import { validatePath, type PathPurpose } from '../verify/path';
import type { Check, CheckGroup, Indication, SubIndication } from '../verify/report';
import { SES_PICTURE_TYPES } from './make';

/** A check with the outcome it forces on the whole verification when it does not pass. */
export interface SesCheck extends Check {
  indication?: Indication;
  subIndication?: SubIndication;
}

/**
 * Revocation status of `target` (issued by `issuer`) at `time`, as a check of group 'revocation'.
 * `proven`: `time` is a time-stamp's genTime (proof of existence), not the signer's claim.
 */
export type SesRevocationCheck = (target: ParsedCertificate, issuer: ParsedCertificate, time: Date, name: string, proven: boolean) => Promise<SesCheck>;

export interface SesVerifyOptions {
  anchors: readonly ParsedCertificate[];
  /** More certificates that may serve as intermediates. */
  candidates?: readonly ParsedCertificate[];
  /** Now (the report's validation time). */
  now: Date;
  /** When absent, revocation is reported as not checked (INDETERMINATE), never as good. */
  revocation?: SesRevocationCheck;
}

export interface SesVerifyResult {
  indication: Indication;
  subIndication?: SubIndication;
  checks: SesCheck[];
  /** The claimed signing time (signatures) or the validation time used (seals). */
  signingTime?: Date;
  /** The time everything was judged at: the time-stamp's genTime when valid, else the claim. */
  bestSignatureTime: Date;
  signer?: ParsedCertificate;
  maker?: ParsedCertificate;
  timestamp?: { time: Date; tsa: ParsedCertificate; serialHex: string; valid: boolean };
}

const RANK: Record<Indication, number> = { TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2 };

class Steps {
  readonly checks: SesCheck[] = [];
  pass(group: CheckGroup, name: string, reason?: string): void {
    this.checks.push({ group, name, result: 'passed', reason });
  }
  warn(group: CheckGroup, name: string, reason: string, code?: string): void {
    this.checks.push({ group, name, result: 'warning', reason, code });
  }
  skip(group: CheckGroup, name: string, reason: string): void {
    this.checks.push({ group, name, result: 'skipped', reason });
  }
  fail(group: CheckGroup, name: string, reason: string, code: string, indication: Indication, subIndication: SubIndication): void {
    this.checks.push({ group, name, result: 'failed', reason, code, indication, subIndication });
  }
  unknown(group: CheckGroup, name: string, reason: string, code: string, subIndication: SubIndication): void {
    this.checks.push({ group, name, result: 'indeterminate', reason, code, indication: 'INDETERMINATE', subIndication });
  }
  outcome(): { indication: Indication; subIndication?: SubIndication } {
    let best: { indication: Indication; subIndication?: SubIndication } = { indication: 'TOTAL_PASSED' };
    for (const c of this.checks) {
      if (c.indication && RANK[c.indication] > RANK[best.indication]) best = { indication: c.indication, subIndication: c.subIndication };
    }
    return best;
  }
}

function tryParseCert(der: Buffer): ParsedCertificate | undefined {
  try {
    return parseCertificate(der);
  } catch (e) {
    if (e instanceof AppError) return undefined;
    throw e;
  }
}

function iso(d: Date): string {
  return d.toISOString();
}

function namesSm2Curve(spki: Buffer): boolean {
  try {
    const alg = decodeDer(spki, { maxBytes: 4096 }).children[0];
    const curve = alg?.children[1];
    return !!curve && curve.tagNumber === 6 && readOid(curve, 'curve') === OID.sm2Curve;
  } catch {
    return false;
  }
}

/** An SM2-with-SM3 signature by `cert`'s key over `data`. */
function sm2SignatureValid(cert: ParsedCertificate, algorithm: string, data: Buffer, signature: Buffer): 'ok' | 'bad-algorithm' | 'bad-key' | 'invalid' {
  if (algorithm !== OID.sm2WithSm3) return 'bad-algorithm';
  let key;
  try {
    key = readPublicKeyInfo(cert.spki);
  } catch {
    // An SM2 key whose point is not on the curve (a damaged certificate) cannot verify anything:
    // that is a failed signature, not an unsupported algorithm.
    return namesSm2Curve(cert.spki) ? 'invalid' : 'bad-key';
  }
  if (key.namedCurve !== 'SM2') return 'bad-key';
  return verifySignature(key, { algorithm: 'SM2' }, data, signature) ? 'ok' : 'invalid';
}

async function checkPath(
  s: Steps,
  name: string,
  cert: ParsedCertificate,
  time: Date,
  purpose: PathPurpose,
  o: SesVerifyOptions,
  extra: readonly ParsedCertificate[],
  proven = false,
): Promise<void> {
  const r = validatePath({ target: cert, candidates: [...extra, ...(o.candidates ?? [])], anchors: o.anchors, time, purpose });
  if (r.ok) {
    s.pass('trust', name, `chains to a trust anchor at ${iso(time)}`);
    // Revocation at the judged time, for every non-anchor certificate of the path.
    for (let i = 0; i < r.path.length - 1; i++) {
      const rname = i === 0 ? `${name}-revocation` : `${name}-ca${i}-revocation`;
      if (!o.revocation) s.unknown('revocation', rname, 'revocation status not checked: no revocation source given', 'REVOCATION_NOT_CHECKED', 'TRY_LATER');
      else s.checks.push(await o.revocation(r.path[i]!, r.path[i + 1]!, time, rname, proven));
    }
    expiredSince(s, name, cert, time, o.now);
    return;
  }
  expiredSince(s, name, cert, time, o.now);
  const indication: Indication = r.subIndication === 'NOT_YET_VALID' ? 'TOTAL_FAILED' : 'INDETERMINATE';
  const group: CheckGroup = r.subIndication === 'EXPIRED' || r.subIndication === 'NOT_YET_VALID' ? 'time' : 'trust';
  if (indication === 'TOTAL_FAILED') s.fail(group, name, `${r.reason} (judged at ${iso(time)})`, r.code, indication, r.subIndication);
  else s.unknown(group, name, `${r.reason} (judged at ${iso(time)})`, r.code, r.subIndication);
}

/** Says plainly what was valid at the judged time and has expired since (not a failure). */
function expiredSince(s: Steps, name: string, cert: ParsedCertificate, time: Date, now: Date): void {
  if (time >= cert.notBefore && time <= cert.notAfter && now > cert.notAfter) {
    s.warn('time', `${name}-expired-since`, `within its validity at ${iso(time)}; the certificate expired on ${iso(cert.notAfter)}`, 'EXPIRED_SINCE');
  }
}

/**
 * Checks an SESeal at `time`: format, maker signature, maker certificate, validity period.
 * `prefix` names the checks (`seal-…`).
 */
async function checkSeal(s: Steps, seal: SESeal, time: Date, o: SesVerifyOptions, proven = false): Promise<ParsedCertificate | undefined> {
  const info = seal.eSealInfo;
  const p = info.property;
  // Format and header (GB/T 38540 §7.1).
  const problems: string[] = [];
  // GB/T 38540 lists picture types "such as" GIF/BMP/JPG/PNG/SVG; real seals also write "ofd"
  // (vectors/ses/v4signed.ofd). An unlisted type is a remark, not a failure.
  const knownPicture = ([...SES_PICTURE_TYPES, 'OFD'] as string[]).includes(info.picture.type.toUpperCase());
  if (p.validEnd.date < p.validStart.date) problems.push('validEnd is before validStart');
  if ((p.certList.kind === 'certs' ? p.certList.certs.length : p.certList.digests.length) === 0) problems.push('the cert list is empty');
  if (problems.length > 0) s.fail('format', 'seal-format', problems.join('; '), 'SES_SEAL_FORMAT', 'TOTAL_FAILED', 'FORMAT_FAILURE');
  else if (seal.version === 2) s.warn('format', 'seal-format', `GM/T 0031-2014 seal (header version ${info.header.version}); read for verification only`, 'SES_LEGACY_VERSION');
  else s.pass('format', 'seal-format', `GB/T 38540 version 4 seal, vendor ${JSON.stringify(info.header.vid.slice(0, 64))}`);
  if (!knownPicture) s.warn('format', 'seal-picture-type', `picture type ${JSON.stringify(info.picture.type.slice(0, 8))} is not one of ${SES_PICTURE_TYPES.join('/')}/OFD`, 'SES_PICTURE_TYPE_UNKNOWN');

  // Maker signature over DER(SES_SealInfo) (version 2: over SEQUENCE { info, cert, alg }).
  const maker = tryParseCert(seal.cert);
  if (!maker) {
    s.fail('integrity', 'seal-maker-signature', "the maker's certificate in the seal cannot be parsed", 'CERT_MALFORMED', 'TOTAL_FAILED', 'FORMAT_FAILURE');
    return undefined;
  }
  const v = sm2SignatureValid(maker, seal.signAlgID, sealSignedBytes(seal), seal.signedValue);
  if (v === 'ok') s.pass('integrity', 'seal-maker-signature', 'SM2-with-SM3, default user id');
  else if (v === 'bad-algorithm') s.fail('integrity', 'seal-maker-signature', 'the seal is not signed with SM2-with-SM3', 'SES_ALGORITHM_UNSUPPORTED', 'INDETERMINATE', 'CRYPTO_CONSTRAINTS_FAILURE');
  else if (v === 'bad-key') s.fail('integrity', 'seal-maker-signature', "the maker's certificate does not hold an SM2 key", 'SES_KEY_UNSUPPORTED', 'INDETERMINATE', 'CRYPTO_CONSTRAINTS_FAILURE');
  else s.fail('integrity', 'seal-maker-signature', "the maker's signature on the seal does not verify", 'SES_SEAL_SIGNATURE_INVALID', 'TOTAL_FAILED', 'SIG_CRYPTO_FAILURE');

  await checkPath(s, 'seal-maker-certificate', maker, time, 'signing', o, [], proven);

  // The maker's certificate must have been valid when the seal was made (createDate, a claim).
  const made = p.createDate.date;
  if (made < maker.notBefore) {
    s.fail('time', 'seal-made-within-maker-validity', `the seal claims to be made on ${iso(made)}, before the maker's certificate became valid (${iso(maker.notBefore)})`, 'SES_SEAL_MADE_OUTSIDE_MAKER_VALIDITY', 'TOTAL_FAILED', 'NOT_YET_VALID');
  } else if (made > maker.notAfter) {
    s.unknown('time', 'seal-made-within-maker-validity', `the seal claims to be made on ${iso(made)}, after the maker's certificate expired (${iso(maker.notAfter)})`, 'SES_SEAL_MADE_OUTSIDE_MAKER_VALIDITY', 'EXPIRED');
  } else {
    s.pass('time', 'seal-made-within-maker-validity', `made ${iso(made)}, within the maker's certificate validity`);
  }

  // The seal's own validity period.
  if (time < p.validStart.date) {
    s.fail('time', 'seal-validity-period', `the seal becomes valid on ${iso(p.validStart.date)}, after ${iso(time)}`, 'SES_SEAL_NOT_YET_VALID', 'TOTAL_FAILED', 'NOT_YET_VALID');
  } else if (time > p.validEnd.date) {
    s.unknown('time', 'seal-validity-period', `the seal expired on ${iso(p.validEnd.date)}, before ${iso(time)}`, 'SES_SEAL_EXPIRED', 'EXPIRED');
  } else {
    s.pass('time', 'seal-validity-period', `${iso(time)} is within ${iso(p.validStart.date)}..${iso(p.validEnd.date)}`);
    if (o.now > p.validEnd.date) s.warn('time', 'seal-expired-since', `valid at ${iso(time)}; the seal expired on ${iso(p.validEnd.date)}`, 'EXPIRED_SINCE');
  }
  return maker;
}

/** Verifies a standalone seal at `o.now`. */
export async function verifySesSeal(seal: SESeal, o: SesVerifyOptions): Promise<SesVerifyResult> {
  const s = new Steps();
  const maker = await checkSeal(s, seal, o.now, o);
  return { ...s.outcome(), checks: s.checks, bestSignatureTime: o.now, maker };
}

/** Whether `cert` is listed in the seal (certificates: exact DER; digests: by the named hash). */
function listedInSeal(seal: SESeal, cert: Buffer): boolean | 'unsupported-digest' {
  const list = seal.eSealInfo.property.certList;
  if (list.kind === 'certs') return list.certs.some((c) => c.equals(cert));
  let unsupported = false;
  for (const d of list.digests) {
    const t = d.type.toUpperCase();
    if (t === 'SM3' && sm3(cert).equals(d.value)) return true;
    if (t !== 'SM3') unsupported = true;
  }
  return unsupported ? 'unsupported-digest' : false;
}

/**
 * Verifies an SES_Signature. `data` is the signed data (its SM3 must equal dataHash); when it is
 * not given the data-hash step is reported as not checkable (SIGNED_DATA_NOT_FOUND).
 */
export async function verifySesSignature(sig: SES_Signature, data: Buffer | undefined, o: SesVerifyOptions): Promise<SesVerifyResult> {
  const s = new Steps();
  s.pass('format', 'ses-format', sig.version === 4 ? 'GB/T 38540 version 4 signature' : 'GM/T 0031-2014 signature (read for verification only)');

  // Signature value over DER(TBS_Sign) with the signer's certificate.
  const signer = tryParseCert(sig.cert);
  if (!signer) {
    s.fail('integrity', 'signature-value', "the signer's certificate cannot be parsed", 'CERT_MALFORMED', 'TOTAL_FAILED', 'FORMAT_FAILURE');
  } else {
    const v = sm2SignatureValid(signer, sig.signatureAlgID, sig.toSign.der, sig.signature);
    if (v === 'ok') s.pass('integrity', 'signature-value', 'SM2-with-SM3 over DER(TBS_Sign), default user id');
    else if (v === 'invalid') s.fail('integrity', 'signature-value', 'the signature value does not verify', 'SES_SIGNATURE_INVALID', 'TOTAL_FAILED', 'SIG_CRYPTO_FAILURE');
    else s.fail('integrity', 'signature-value', 'not an SM2-with-SM3 signature by an SM2 key', 'SES_ALGORITHM_UNSUPPORTED', 'INDETERMINATE', 'CRYPTO_CONSTRAINTS_FAILURE');
  }

  // Time: a valid time-stamp over the signature value proves the time; otherwise the claim.
  const claimed = sig.toSign.timeInfo?.date;
  let best = claimed;
  let timestamp: SesVerifyResult['timestamp'];
  if (!sig.timeStamp) {
    s.skip('time', 'timestamp', 'no time-stamp: the claimed signing time is used');
  } else {
    try {
      const v = verifyTimeStampToken({ token: sig.timeStamp, data: sig.signature });
      const tsa = v.signerCertificate;
      const path = validatePath({ target: tsa, candidates: [...v.token.certificates, ...(o.candidates ?? [])], anchors: o.anchors, time: v.tstInfo.genTime, purpose: 'timestamping' });
      timestamp = { time: v.tstInfo.genTime, tsa, serialHex: v.tstInfo.serialHex, valid: path.ok };
      if (path.ok) {
        s.pass('time', 'timestamp', `RFC 3161 token over the signature value, genTime ${iso(v.tstInfo.genTime)}`);
        best = v.tstInfo.genTime;
      } else {
        s.unknown('time', 'timestamp', `the time-stamp verifies but its TSA does not chain to a trust anchor: ${path.reason}`, path.code, 'NO_POE');
      }
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      const malformed = e.code.endsWith('MALFORMED') || e.code === 'TSP_MALFORMED_TOKEN';
      let reason = 'the time-stamp does not cover this signature value or its signature does not verify';
      if (malformed) reason = 'the time-stamp token cannot be parsed';
      else {
        try {
          parseTimeStampToken(sig.timeStamp);
        } catch {
          reason = 'the time-stamp token cannot be parsed';
        }
      }
      s.fail('time', 'timestamp', reason, e.code, 'TOTAL_FAILED', 'SIG_CRYPTO_FAILURE');
    }
  }
  if (!best) {
    s.unknown('time', 'signing-time', 'the signature carries no readable signing time', 'SES_NO_SIGNING_TIME', 'NO_POE');
    best = o.now;
  } else {
    s.pass('time', 'signing-time', `${claimed ? `claimed ${iso(claimed)}` : 'no claim'}${best !== claimed ? `; proven ${iso(best)}` : ' (a claim, not proof)'}`);
    if (best > o.now) s.fail('time', 'signing-time', 'the signing time is in the future', 'SES_SIGNING_TIME_FUTURE', 'TOTAL_FAILED', 'NOT_YET_VALID');
  }

  // Signer certificate: chain and key usage at the signing time.
  const proven = best !== claimed && timestamp?.valid === true;
  if (signer) await checkPath(s, 'signer-certificate', signer, best, 'signing', o, [tryParseCert(sig.toSign.eseal.cert)].filter((c): c is ParsedCertificate => !!c), proven);

  // The signer is one of the seal's authorised certificates.
  const listed = listedInSeal(sig.toSign.eseal, sig.cert);
  if (listed === true) s.pass('trust', 'signer-in-seal', "the signer's certificate is in the seal's certificate list");
  else if (listed === 'unsupported-digest') s.unknown('trust', 'signer-in-seal', "the seal lists certificate digests of a type this verifier does not compute", 'SES_CERT_DIGEST_UNSUPPORTED', 'SIG_CONSTRAINTS_FAILURE');
  else s.fail('trust', 'signer-in-seal', "the signer's certificate is not in the seal's certificate list", 'SES_SIGNER_NOT_IN_SEAL', 'INDETERMINATE', 'SIG_CONSTRAINTS_FAILURE');

  // Data hash.
  if (!data) s.unknown('integrity', 'data-hash', 'the signed data was not given, so SM3(data) = dataHash cannot be checked', 'SES_DATA_MISSING', 'SIGNED_DATA_NOT_FOUND');
  else if (sm3(data).equals(sig.toSign.dataHash)) s.pass('integrity', 'data-hash', `SM3 of the ${data.length}-byte data equals dataHash`);
  else s.fail('integrity', 'data-hash', 'SM3 of the data does not equal dataHash', 'SES_DATA_HASH_MISMATCH', 'TOTAL_FAILED', 'HASH_FAILURE');

  // The embedded seal, judged at the signing time.
  const maker = await checkSeal(s, sig.toSign.eseal, best, o, proven);
  return { ...s.outcome(), checks: s.checks, signingTime: claimed, bestSignatureTime: best, signer, maker, timestamp };
}
