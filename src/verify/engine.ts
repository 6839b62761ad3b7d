/**
 * The verification engine: one pipeline for PAdES (and PDF document time-stamps) and detached
 * CAdES, producing the ETSI-style report of ./report.ts. The steps follow ETSI EN 319 102-1:
 *
 *   format       the PDF's signature structure (./pdf-signatures.ts, STANDARDS checklist 1–3),
 *                the CMS structure (src/signing/cades-verify.ts)
 *   integrity    message digest over the ByteRange (HASH_FAILURE), the signature value
 *                (SIG_CRYPTO_FAILURE), signing-certificate-v2, and the changes made after the
 *                signed revision (./pdf-changes.ts, checklist 3–5)
 *   time         signature time-stamps and document time-stamps: imprint, TSA certificate, TSA
 *                path; the earliest valid one is the best-signature-time (§5.5), the proof
 *                of existence used for everything else
 *   trust        RFC 5280 path from the signer to a trust anchor (./path.ts), at the validation
 *                time, or at the best-signature-time when the signer has expired since (§5.6)
 *   revocation   every certificate of the path but the anchor (./revocation.ts): from the
 *                file's DSS, our own CA, or fetched; revoked after the best-signature-time
 *                passes, before it fails (§5.3.4, §5.5.4)
 *
 * A broken input is a report (TOTAL_FAILED / FORMAT_FAILURE), never an exception: every step
 * runs inside a guard and an unexpected error is reported, not thrown.
 */
import { createHash } from 'node:crypto';
import { isAppError } from '../errors';
import { parseCertificate, type ParsedCertificate } from '../pki/certificate';
import { creditCodeFromOrganizationIdentifier } from '../pki/name';
import { fromPemAll } from '../pki/pem';
import { verifyTimeStampToken } from '../pki/tsp-token';
import { verifyCadesSignature, type CadesCheck, type CadesVerification } from '../signing/cades-verify';
import { parseSESSignature } from '../asn1';
import { verifySesSignature } from '../ses/verify';
import type { PdfLimits } from '../pdf/limits';
import { decodeTextString, PdfString, readPdf } from '../pdf';
import { analysePdfSignatures, type ReadablePdfAnalysis as PdfAnalysis, type PdfSignatureCandidate } from './pdf-signatures';
import { validatePath, type PathResult } from './path';
import type { RevocationChecker, RevocationResult } from './revocation';
import {
  worst,
  type Check,
  type CheckGroup,
  type CheckResult,
  type DocumentChange,
  type Indication,
  type LicenceFacts,
  type LicenceLookup,
  type LicenceReport,
  type SignatureLevel,
  type SignatureReport,
  type SignerInfoReport,
  type SubIndication,
  type TimestampReport,
  type VerificationReport,
} from './report';

export interface SealLookup {
  /** The seal whose certificate has this serial (lower-case hex as encoded), if it is one of ours. */
  bySerial(serialHex: string): Promise<{ id: string; name: string; agencyCode: string } | undefined>;
}

export interface VerifierOptions {
  /** DER certificates: our root CA plus anchors from the configuration. */
  trustAnchors: Buffer[];
  /** Anchors that can change while running (imported through the API), read at each verification. */
  moreTrustAnchors?: () => Promise<Buffer[]>;
  revocation: RevocationChecker;
  /**
   * Certificates known besides those the document carries (our issuing CA, TSA and OCSP
   * certificates): a signature time-stamped by our TSA chains even when its token holds only
   * the TSA certificate. They are path candidates, never anchors.
   */
  intermediates?: Buffer[];
  clock?: () => Date;
  seals?: SealLookup;
  /** E-licences: a sealed licence PDF's report names the licence and its current status; credentials and QR tokens are verified. */
  licences?: LicenceLookup;
  limits?: Partial<PdfLimits>;
  /** Path candidates that can appear while running (the SM2 hierarchy, created on first use). */
  moreIntermediates?: () => Promise<Buffer[]>;
}

/** Largest detached signature accepted (a chain, revocation values and tokens fit easily). */
const MAX_SIGNATURE_BYTES = 1 << 20;

interface Outcome {
  indication: Indication;
  subIndication?: SubIndication;
}

const PASSED: Outcome = { indication: 'TOTAL_PASSED' };
const failed = (subIndication: SubIndication): Outcome => ({ indication: 'TOTAL_FAILED', subIndication });
const indeterminate = (subIndication: SubIndication): Outcome => ({ indication: 'INDETERMINATE', subIndication });

/** A validated time-stamp: its time and whether it can serve as proof of existence. */
interface ProvenTime {
  time: Date;
  report: TimestampReport;
}

class Checks {
  readonly list: Check[] = [];
  add(group: CheckGroup, name: string, result: CheckResult, reason?: string, code?: string): void {
    this.list.push({ group, name, result, ...(reason ? { reason } : {}), ...(code ? { code } : {}) });
  }
}

const CADES_CHECKS: Record<CadesCheck['check'], { group: CheckGroup; name: string }> = {
  structure: { group: 'format', name: 'cms-structure' },
  'signer-certificate': { group: 'integrity', name: 'signer-certificate' },
  'content-type': { group: 'format', name: 'content-type' },
  'message-digest': { group: 'integrity', name: 'message-digest' },
  'signature-algorithm': { group: 'integrity', name: 'signature-algorithm' },
  signature: { group: 'integrity', name: 'signature-value' },
  'signing-certificate-v2': { group: 'integrity', name: 'signing-certificate-v2' },
  'signature-timestamp': { group: 'time', name: 'signature-timestamp' },
};

export class Verifier {
  private readonly anchors: ParsedCertificate[];
  private readonly known: ParsedCertificate[];
  private readonly clock: () => Date;
  private licences: LicenceLookup | undefined;
  /** Parsed dynamic anchors by DER (hex of SHA-256), so each is parsed once. */
  private readonly parsedMore = new Map<string, ParsedCertificate | null>();

  constructor(private readonly options: VerifierOptions) {
    this.anchors = options.trustAnchors.map((der) => parseCertificate(der));
    this.known = parseAll(options.intermediates ?? []);
    this.licences = options.licences;
    this.clock = options.clock ?? (() => new Date());
  }

  /** The licence service is built after the verifier (it signs with seals the verifier does not need): attached once both exist. */
  attachLicences(licences: LicenceLookup): void {
    this.licences = licences;
  }

  /** Reads trust anchors from PEM text (one or more CERTIFICATE blocks) or DER. */
  static anchorsFrom(data: Buffer): Buffer[] {
    const text = data.toString('latin1');
    if (text.includes('-----BEGIN')) return fromPemAll(text);
    parseCertificate(data);
    return [data];
  }

  /** The anchors of one verification: the fixed ones plus the imported ones as they are now. */
  private async currentAnchors(): Promise<ParsedCertificate[]> {
    if (!this.options.moreTrustAnchors) return this.anchors;
    const more: ParsedCertificate[] = [];
    for (const der of await this.options.moreTrustAnchors()) {
      const key = createHash('sha256').update(der).digest('hex');
      if (!this.parsedMore.has(key)) {
        let parsed: ParsedCertificate | null = null;
        try {
          parsed = parseCertificate(der);
        } catch {
          // An unreadable stored anchor trusts nothing; it was validated on import.
        }
        this.parsedMore.set(key, parsed);
      }
      const p = this.parsedMore.get(key);
      if (p) more.push(p);
    }
    return [...this.anchors, ...more];
  }

  private policy(anchors: ParsedCertificate[]): VerificationReport['policy'] {
    return {
      revocation: this.options.revocation.mode,
      trustAnchors: anchors.map((a) => a.subject.text),
    };
  }

  /** PDF → report. Never throws for bad input: a malformed file is TOTAL_FAILED / FORMAT_FAILURE. */
  async verifyPdf(bytes: Buffer): Promise<VerificationReport> {
    const validationTime = this.clock();
    const anchors = await this.currentAnchors();
    const base = {
      validationTime: validationTime.toISOString(),
      document: { kind: 'pdf' as const, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
      policy: this.policy(anchors),
    };
    const analysis = analysePdfSignatures(bytes, this.options.limits);
    if (!analysis.readable) {
      return { ...base, indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', signatures: [], checks: analysis.problems };
    }
    const docChecks = new Checks();
    for (const p of analysis.problems) docChecks.list.push(p);
    const document = { ...base.document, revisions: analysis.revisions.length };
    if (analysis.signatures.length === 0) {
      docChecks.add('format', 'signatures-present', 'failed', 'The PDF has no signature', 'NO_SIGNATURES');
      return { ...base, document, indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', signatures: [], checks: docChecks.list };
    }

    // Document time-stamps first: they are proof of existence for the signatures in the revisions they cover.
    const docTimestamps = new Map<PdfSignatureCandidate, ProvenTime | undefined>();
    const signatures: SignatureReport[] = [];
    const byCandidate = new Map<PdfSignatureCandidate, SignatureReport>();
    const ordered = [...analysis.signatures.filter((c) => c.type === 'DocTimeStamp'), ...analysis.signatures.filter((c) => c.type !== 'DocTimeStamp')];
    for (const candidate of ordered) {
      byCandidate.set(candidate, await this.guard(candidate, () => this.verifyPdfSignature(bytes, analysis, candidate, validationTime, docTimestamps, anchors)));
    }
    for (const candidate of analysis.signatures) signatures.push(byCandidate.get(candidate)!);
    const licence = await this.licenceOfPdf(bytes, analysis, signatures);
    let w: Outcome = worst(signatures)!;
    // A failed document-level check (bytes after the last revision, a bound hit while reading the
    // revisions) means the file is not only what its signatures cover: never TOTAL_PASSED.
    if (w.indication === 'TOTAL_PASSED' && docChecks.list.some((x) => x.result === 'failed')) w = indeterminate('SIG_CONSTRAINTS_FAILURE');
    return { ...base, document, indication: w.indication, ...(w.subIndication ? { subIndication: w.subIndication } : {}), signatures, checks: docChecks.list, ...(licence ? { licence } : {}) };
  }

  /**
   * Detached CAdES: the content and the signature (DER, or PEM PKCS7 / CMS); a GB/T 38540
   * SES_Signature goes to verifySes. The two DER grammars differ in their first field (CMS
   * ContentInfo: an OBJECT IDENTIFIER; SES_Signature: the TBS_Sign SEQUENCE), which decides —
   * a structural reading of the submitted DER, not a guess from content.
   */
  async verifyDetached(content: Buffer, signature: Buffer): Promise<VerificationReport> {
    if (isSesSignature(signature)) return this.verifySes(content, signature);
    const validationTime = this.clock();
    const anchors = await this.currentAnchors();
    const base = {
      validationTime: validationTime.toISOString(),
      document: { kind: 'cades-detached' as const, size: content.length, sha256: createHash('sha256').update(content).digest('hex') },
      policy: this.policy(anchors),
      checks: [] as Check[],
    };
    const report = await this.guard(undefined, async () => {
      const checks = new Checks();
      let der: Buffer;
      try {
        der = signatureDer(signature);
      } catch {
        checks.add('format', 'cms-structure', 'failed', 'The signature is neither DER nor PEM CMS', 'CMS_MALFORMED');
        return this.finish({ id: 'signature-1', type: 'signature', format: 'CAdES', coverage: 'WHOLE_DOCUMENT' }, checks, failed('FORMAT_FAILURE'), validationTime);
      }
      const cades = verifyCadesSignature({ cms: der, content, limits: { maxBytes: MAX_SIGNATURE_BYTES } });
      return this.evaluateCms(cades, checks, {
        id: 'signature-1',
        format: 'CAdES',
        anchors,
        essRequired: false,
        validationTime,
        extraCertificates: [],
        dss: undefined,
        laterPoe: undefined,
        coverage: 'WHOLE_DOCUMENT',
      });
    });
    return { ...base, indication: report.indication, subIndication: report.subIndication, signatures: [report] };
  }

  /**
   * GB/T 38540 SES_Signature (DER) over `content`: the ordered steps of src/ses/verify.ts
   * (format, signature value, time-stamp, signer certificate path and revocation at the signing
   * time, signer in the seal's cert list, SM3 data hash, the embedded seal and its maker), in
   * the same report. Revocation goes through the same checker as CAdES/PAdES.
   */
  async verifySes(content: Buffer, signature: Buffer): Promise<VerificationReport> {
    const validationTime = this.clock();
    const anchors = await this.currentAnchors();
    const base = {
      validationTime: validationTime.toISOString(),
      document: { kind: 'ses-detached' as const, size: content.length, sha256: createHash('sha256').update(content).digest('hex') },
      policy: this.policy(anchors),
      checks: [] as Check[],
    };
    const head = { id: 'signature-1', type: 'signature' as const, format: 'SES' as const, coverage: 'WHOLE_DOCUMENT' as const };
    const report = await this.guard(undefined, async () => {
      let sig;
      try {
        sig = parseSESSignature(signature);
      } catch (e) {
        const checks = new Checks();
        checks.add('format', 'ses-format', 'failed', 'The signature is not a well-formed GB/T 38540 / GM/T 0031 SES_Signature', isAppError(e) ? e.code : 'SES_SIGNATURE_MALFORMED');
        return this.finish(head, checks, failed('FORMAT_FAILURE'), validationTime);
      }
      const candidates = [...this.known, ...parseAll((await this.options.moreIntermediates?.()) ?? [])];
      const r = await verifySesSignature(sig, content, {
        anchors,
        candidates,
        now: validationTime,
        revocation: async (cert, issuer, time, name, proven) => {
          const res = await this.options.revocation.check({ cert, issuer, time, validationTime, anchors, candidates });
          const checks = new Checks();
          // A time-stamped time is proof of existence (revoked later: still valid, §5.5.4); the
          // bare timeInfo is a claim (revoked at or before it fails, after it: REVOKED_NO_POE).
          const o = this.revocationOutcome(res, name === 'signer-certificate-revocation', cert, proven ? time : undefined, proven ? undefined : time, checks, name);
          const c = checks.list[0]!;
          return o.indication === 'TOTAL_PASSED' ? c : { ...c, indication: o.indication, subIndication: o.subIndication };
        },
      });
      const seal = sig.toSign.eseal;
      const sealInfo = seal.eSealInfo;
      const checks = new Checks();
      for (const c of r.checks) checks.list.push({ group: c.group, name: c.name, result: c.result, ...(c.reason ? { reason: c.reason } : {}), ...(c.code ? { code: c.code } : {}) });
      return this.finish(
        {
          ...head,
          ...(r.signer ? { signer: await this.describeSigner(r.signer) } : {}),
          ...(r.signingTime ? { signingTime: r.signingTime.toISOString() } : {}),
          ...(r.timestamp ? { timestamp: { time: r.timestamp.time.toISOString(), tsa: r.timestamp.tsa.subject.text, serialNumber: r.timestamp.serialHex, valid: r.timestamp.valid } } : {}),
          propertyInfo: sig.toSign.propertyInfo,
          sesSeal: {
            esID: sealInfo.esID,
            name: sealInfo.property.name,
            version: sealInfo.header.version,
            vendor: sealInfo.header.vid,
            validStart: sealInfo.property.validStart.date.toISOString(),
            validEnd: sealInfo.property.validEnd.date.toISOString(),
            maker: r.maker?.subject.text ?? '(unreadable)',
          },
        },
        checks,
        r,
        r.bestSignatureTime,
      );
    });
    return { ...base, indication: report.indication, subIndication: report.subIndication, signatures: [report] };
  }

  /**
   * A licence credential (compact JWS, `typ: vc+jwt`) or QR token (compact JWS): its signature by
   * one of our seals and the licence's current status. Anything else is TOTAL_FAILED /
   * FORMAT_FAILURE. Needs the `licences` option.
   */
  async verifyLicenceJws(text: string): Promise<VerificationReport> {
    const validationTime = this.clock();
    const anchors = await this.currentAnchors();
    const compact = text.trim();
    const isCredential = (() => {
      try {
        return (JSON.parse(Buffer.from(compact.split('.')[0] ?? '', 'base64url').toString('utf8')) as { typ?: unknown }).typ === 'vc+jwt';
      } catch {
        return false;
      }
    })();
    const checks = new Checks();
    const head = { id: isCredential ? 'credential' : 'token', type: 'signature' as const, format: 'JWS' as const, coverage: 'WHOLE_DOCUMENT' as const };
    const base = {
      validationTime: validationTime.toISOString(),
      document: { kind: isCredential ? ('licence-credential' as const) : ('licence-token' as const), size: Buffer.byteLength(compact), sha256: createHash('sha256').update(compact).digest('hex') },
      policy: this.policy(anchors),
      checks: [] as Check[],
    };
    let facts: LicenceFacts;
    if (!this.licences || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(compact)) {
      facts = { signatureValid: false, problem: 'MALFORMED', status: 'unknown', checkedAt: validationTime.toISOString() };
    } else {
      facts = isCredential ? await this.licences.verifyCredential(compact) : await this.licences.verifyToken(compact);
    }
    let outcome: Outcome;
    if (facts.signatureValid) {
      checks.add('integrity', 'jws-signature', 'passed', 'Signed by one of our seals');
      outcome = PASSED;
    } else if (facts.problem === 'SIGNATURE_INVALID') {
      checks.add('integrity', 'jws-signature', 'failed', 'The signature does not verify with the seal certificate it names', facts.problem);
      outcome = failed('SIG_CRYPTO_FAILURE');
    } else if (facts.problem === 'UNKNOWN_SIGNER') {
      checks.add('trust', 'jws-signer', 'indeterminate', 'The signer is not one of our seals', facts.problem);
      outcome = indeterminate('NO_SIGNING_CERTIFICATE_FOUND');
    } else {
      checks.add('format', 'jws-structure', 'failed', 'Not a licence credential or QR token (compact JWS)', facts.problem ?? 'MALFORMED');
      outcome = failed('FORMAT_FAILURE');
    }
    const report = this.finish(head, checks, outcome, validationTime);
    return { ...base, indication: report.indication, ...(report.subIndication ? { subIndication: report.subIndication } : {}), signatures: [report], licence: licenceReport(isCredential ? 'credential' : 'token', facts) };
  }

  /** The licence a verified PDF is, when it is one of ours: /Keywords of the signed revision name it, its signer must be its seal. */
  private async licenceOfPdf(bytes: Buffer, analysis: PdfAnalysis, signatures: SignatureReport[]): Promise<LicenceReport | undefined> {
    if (!this.licences) return undefined;
    const first = analysis.signatures.findIndex((c) => c.type === 'Sig');
    const c = analysis.signatures[first];
    const signer = signatures[first]?.signer;
    const end = c?.signedRevision !== undefined ? analysis.revisions[c.signedRevision - 1]?.end : undefined;
    if (!c || !signer || end === undefined) return undefined;
    let keywords: string | undefined;
    try {
      const doc = readPdf(bytes.subarray(0, end), { limits: this.options.limits });
      const info = doc.resolveDict(doc.trailer.info);
      const k = info?.get('Keywords');
      if (k instanceof PdfString) keywords = decodeTextString(k);
    } catch {
      return undefined;
    }
    const identifier = keywords?.split(/\s+/).find((w) => w.startsWith('1.2.156.3005.2.'));
    if (!identifier) return undefined;
    const facts = await this.licences.statusForSignedPdf(identifier, signer.serialNumber).catch(() => undefined);
    return facts ? licenceReport('pdf', facts) : undefined;
  }

  /** Runs one signature's verification; an unexpected error becomes a failed report, never a throw. */
  private async guard(candidate: PdfSignatureCandidate | undefined, fn: () => Promise<SignatureReport>): Promise<SignatureReport> {
    try {
      return await fn();
    } catch (e) {
      const checks = new Checks();
      const code = isAppError(e) ? e.code : 'VERIFICATION_ERROR';
      checks.add('format', 'processing', 'failed', 'The signature could not be processed', code);
      return this.finish(
        {
          id: candidate?.fieldName ?? 'signature-1',
          type: candidate?.type === 'DocTimeStamp' ? 'document-timestamp' : 'signature',
          format: candidate ? (candidate.type === 'DocTimeStamp' ? 'PDF-TS' : 'PAdES') : 'CAdES',
          coverage: candidate?.coverage ?? 'WHOLE_DOCUMENT',
        },
        checks,
        failed('FORMAT_FAILURE'),
        this.clock(),
      );
    }
  }

  private finish(
    head: Pick<SignatureReport, 'id' | 'type' | 'format' | 'coverage'> & Partial<SignatureReport>,
    checks: Checks,
    outcome: Outcome,
    bestSignatureTime: Date,
  ): SignatureReport {
    return {
      modifiedAfterSigning: false,
      changes: [],
      ...head,
      indication: outcome.indication,
      ...(outcome.subIndication ? { subIndication: outcome.subIndication } : {}),
      bestSignatureTime: bestSignatureTime.toISOString(),
      checks: checks.list,
    };
  }

  private async verifyPdfSignature(
    bytes: Buffer,
    analysis: PdfAnalysis,
    c: PdfSignatureCandidate,
    validationTime: Date,
    docTimestamps: Map<PdfSignatureCandidate, ProvenTime | undefined>,
    anchors: ParsedCertificate[],
  ): Promise<SignatureReport> {
    const checks = new Checks();
    for (const ch of c.checks) checks.list.push(ch);
    const isDocTs = c.type === 'DocTimeStamp';
    const head = {
      id: c.fieldName,
      type: isDocTs ? ('document-timestamp' as const) : c.isCertification ? ('certification' as const) : ('signature' as const),
      format: isDocTs ? ('PDF-TS' as const) : ('PAdES' as const),
      subFilter: c.subFilter,
      coverage: c.coverage,
      revision: c.signedRevision,
      byteRange: c.byteRange,
      ...(c.claimedSigningTime ? { signingTime: c.claimedSigningTime.toISOString() } : {}),
    };

    // Changes after the signed revision, classified (checklist 3–5).
    const changes = c.changes;
    const modifiedAfterSigning = c.modifiedAfterSigning;
    const disallowed = changes.filter((x) => !x.allowed);
    const withChanges = { ...head, changes, modifiedAfterSigning };

    if (checks.list.some((x) => x.result === 'failed') || !c.cms || !c.digest || !c.signedBytes) {
      return this.finish(withChanges, checks, failed('FORMAT_FAILURE'), validationTime);
    }
    const signedDigest = c.digest('sha256');

    // Document time-stamp (ETSI.RFC3161): the token's imprint is the hash of the ByteRange bytes.
    if (isDocTs) {
      const proven = await this.verifyTimestampToken(c.cms, { data: c.signedBytes() }, checks, 'document-timestamp', analysis, validationTime, anchors);
      docTimestamps.set(c, proven);
      let outcome: Outcome = PASSED;
      if (!proven) {
        const notPassed = (name: string) => checks.list.find((x) => x.name === name && x.result !== 'passed');
        const tsaPath = notPassed('document-timestamp-tsa-path');
        const tsaRevocation = notPassed('document-timestamp-tsa-revocation');
        if (notPassed('document-timestamp')) outcome = failed('HASH_FAILURE');
        else if (tsaPath) outcome = indeterminate((tsaPath.code as SubIndication | undefined) ?? 'NO_CERTIFICATE_CHAIN_FOUND');
        else if (tsaRevocation) outcome = indeterminate(tsaRevocation.result === 'failed' ? 'REVOKED_CA_NO_POE' : 'TRY_LATER');
        else outcome = indeterminate('NO_POE');
      }
      outcome = this.applyChanges(outcome, disallowed, checks);
      return this.finish({ ...withChanges, ...(proven ? { timestamp: proven.report } : {}) }, checks, outcome, proven?.time ?? validationTime);
    }

    const cades = verifyCadesSignature({ cms: c.cms, contentDigest: signedDigest, limits: { maxBytes: MAX_SIGNATURE_BYTES } });
    // A document time-stamp over a later revision that includes this signature is also proof of its existence.
    const laterPoe = () => {
      let best: ProvenTime | undefined;
      for (const [ts, proven] of docTimestamps) {
        if (proven && ts.signedRevision !== undefined && c.signedRevision !== undefined && ts.signedRevision >= c.signedRevision) {
          if (!best || proven.time < best.time) best = proven;
        }
      }
      return best;
    };
    const report = await this.evaluateCms(cades, checks, {
      id: c.fieldName,
      format: 'PAdES',
      anchors,
      essRequired: c.subFilter === 'ETSI.CAdES.detached',
      validationTime,
      extraCertificates: analysis.dss?.certs ?? [],
      dss: analysis.dss,
      laterPoe,
      coverage: c.coverage,
      claimedSigningTime: c.claimedSigningTime,
      signedRevision: c.signedRevision,
      dssRevision: analysis.dssRevision,
      // B-LTA: a valid document time-stamp over a later revision that already holds a DSS.
      docTimestampsAfter: () =>
        [...docTimestamps.entries()].filter(
          ([ts, p]) => p && ts.signedRevision !== undefined && c.signedRevision !== undefined && ts.signedRevision > c.signedRevision && analysis.dssAt(ts.signedRevision) !== undefined,
        ).length,
    });
    const outcome = this.applyChanges({ indication: report.indication, subIndication: report.subIndication }, disallowed, checks);
    return { ...report, ...withChanges, ...(report.signingTime ? { signingTime: report.signingTime } : {}), indication: outcome.indication, ...(outcome.subIndication ? { subIndication: outcome.subIndication } : { subIndication: undefined }), checks: checks.list };
  }

  /**
   * Changes after signing that the signature does not allow make it INDETERMINATE /
   * SIG_CONSTRAINTS_FAILURE at best (as the EU DSS validator does with its PDF modification
   * constraints): the signed revision is intact, but the file shows something the signer did
   * not sign. A worse outcome already reached stays.
   */
  private applyChanges(outcome: Outcome, disallowed: DocumentChange[], checks: Checks): Outcome {
    if (disallowed.length === 0) {
      checks.add('integrity', 'changes-after-signing', 'passed');
      return outcome;
    }
    const kinds = [...new Set(disallowed.map((d) => d.kind))].join(', ');
    checks.add('integrity', 'changes-after-signing', 'failed', `The document was changed after signing in ways the signature does not allow (${kinds})`, 'DISALLOWED_CHANGES');
    if (outcome.indication === 'TOTAL_FAILED') return outcome;
    return indeterminate('SIG_CONSTRAINTS_FAILURE');
  }

  /**
   * The CMS part shared by PAdES and detached CAdES: integrity, time-stamps, path, revocation,
   * level. `checks` already holds the format checks of the container.
   */
  private async evaluateCms(
    cades: CadesVerification,
    checks: Checks,
    ctx: {
      id: string;
      format: 'PAdES' | 'CAdES';
      anchors: ParsedCertificate[];
      essRequired: boolean;
      validationTime: Date;
      extraCertificates: Buffer[];
      dss: PdfAnalysis['dss'];
      laterPoe: (() => ProvenTime | undefined) | undefined;
      coverage: SignatureReport['coverage'];
      claimedSigningTime?: Date;
      signedRevision?: number;
      dssRevision?: number;
      docTimestampsAfter?: () => number;
    },
  ): Promise<SignatureReport> {
    const head = { id: ctx.id, type: 'signature' as const, format: ctx.format, coverage: ctx.coverage };
    const byName = new Map(cades.checks.map((x) => [x.check, x]));
    for (const x of cades.checks) {
      if (x.check === 'signature-timestamp') continue; // reported with the TSA path below
      const m = CADES_CHECKS[x.check];
      if (x.check === 'signing-certificate-v2' && x.status === 'not-accepted' && !ctx.essRequired && x.reason?.includes('missing')) {
        checks.add(m.group, m.name, 'warning', 'No signing-certificate-v2 attribute: the signature is plain CMS, not an AdES baseline signature', x.code);
        continue;
      }
      checks.add(m.group, m.name, x.status === 'passed' ? 'passed' : x.status === 'skipped' ? 'skipped' : 'failed', x.reason, x.code);
    }
    const st = (n: CadesCheck['check']) => byName.get(n)?.status;
    const claimed = ctx.claimedSigningTime ?? cades.claimedSigningTime;
    const headWithTime = { ...head, ...(claimed ? { signingTime: claimed.toISOString() } : {}) };

    // Integrity and format outcomes (EN 319 102-1 §5.2.7 cryptographic verification).
    if (st('structure') !== 'passed' || st('content-type') === 'invalid') return this.finish(headWithTime, checks, failed('FORMAT_FAILURE'), ctx.validationTime);
    if (st('message-digest') === 'invalid') return this.finish(headWithTime, checks, failed('HASH_FAILURE'), ctx.validationTime);
    if (st('signer-certificate') !== 'passed' || !cades.signerCertificate) {
      return this.finish(headWithTime, checks, indeterminate('NO_SIGNING_CERTIFICATE_FOUND'), ctx.validationTime);
    }
    const signer = cades.signerCertificate;
    const signerReport = await this.describeSigner(signer);
    const headWithSigner = { ...headWithTime, signer: signerReport };
    if (st('message-digest') === 'not-accepted' || st('signature-algorithm') !== 'passed') {
      return this.finish(headWithSigner, checks, indeterminate('CRYPTO_CONSTRAINTS_FAILURE'), ctx.validationTime);
    }
    if (st('signature') !== 'passed') return this.finish(headWithSigner, checks, failed('SIG_CRYPTO_FAILURE'), ctx.validationTime);
    const ess = st('signing-certificate-v2');
    const hasEss = ess === 'passed';
    if (ess === 'invalid') return this.finish(headWithSigner, checks, indeterminate('NO_SIGNING_CERTIFICATE_FOUND'), ctx.validationTime);
    if (ess === 'not-accepted' && ctx.essRequired) return this.finish(headWithSigner, checks, indeterminate('SIG_CONSTRAINTS_FAILURE'), ctx.validationTime);

    const candidates = [...(cades.signature?.certificates ?? []), ...parseAll(ctx.extraCertificates), ...this.known];
    const dss = ctx.dss ? { ocsps: ctx.dss.ocsps, crls: ctx.dss.crls } : undefined;

    // Time: signature time-stamps (B-T). Each token was checked cryptographically by
    // verifyCadesSignature; its TSA must also chain to an anchor and not be revoked.
    let proven: ProvenTime | undefined;
    const tsCheck = byName.get('signature-timestamp');
    if (tsCheck && tsCheck.status !== 'passed' && tsCheck.status !== 'skipped') {
      checks.add('time', 'signature-timestamp', 'failed', tsCheck.reason, tsCheck.code);
    } else if (cades.timestamps.length === 0) {
      checks.add('time', 'signature-timestamp', 'skipped', 'No signature time-stamp (B-B)');
    } else {
      for (const ts of cades.timestamps) {
        const ok = await this.trustTsa(ts.tsaCertificate, ts.genTime, [...candidates, ts.tsaCertificate], dss, ctx.validationTime, checks, 'signature-timestamp', ctx.anchors);
        const report: TimestampReport = { time: ts.genTime.toISOString(), tsa: ts.tsaCertificate.subject.text, serialNumber: ts.serialHex, valid: ok };
        if (ok && (!proven || ts.genTime < proven.time)) proven = { time: ts.genTime, report };
      }
      if (!proven) {
        checks.add('time', 'signature-timestamp', 'indeterminate', 'The signature time-stamp does not chain to a trusted, unrevoked TSA', 'TIMESTAMP_UNTRUSTED');
      } else {
        checks.add('time', 'signature-timestamp', 'passed', `Time-stamped at ${proven.time.toISOString()} by ${proven.report.tsa}`);
      }
      // The claim may run a little ahead of the TSA's clock; much later is a contradiction worth showing.
      if (claimed && proven && claimed.getTime() > proven.time.getTime() + 5 * 60_000) {
        checks.add('time', 'signing-time-order', 'warning', 'The claimed signing time is later than the time-stamp', 'TIMESTAMP_ORDER');
      }
    }
    const docPoe = ctx.laterPoe?.();
    const poe = proven ?? docPoe;
    const bestSignatureTime = poe && poe.time < ctx.validationTime ? poe.time : ctx.validationTime;
    const headT = { ...headWithSigner, ...(proven ? { timestamp: proven.report } : {}) };

    // Trust: the signer's path, at the validation time; if only expiry fails, at the best-signature-time.
    let path = validatePath({ target: signer, candidates, anchors: ctx.anchors, time: ctx.validationTime, purpose: 'signing' });
    if (!path.ok && path.subIndication === 'EXPIRED' && path.outOfBounds && poe) {
      const atPoe = validatePath({ target: signer, candidates, anchors: ctx.anchors, time: bestSignatureTime, purpose: 'signing' });
      if (atPoe.ok) {
        checks.add('trust', 'certificate-path', 'passed', `Valid at the proven time ${bestSignatureTime.toISOString()} (a certificate has expired since)`);
        path = atPoe;
      }
    } else if (path.ok) {
      checks.add('trust', 'certificate-path', 'passed', `Chains to ${path.path[path.path.length - 1]!.subject.text}`);
    }
    if (!path.ok) {
      checks.add('trust', 'certificate-path', path.subIndication === 'NO_CERTIFICATE_CHAIN_FOUND' ? 'indeterminate' : 'failed', path.reason, path.subIndication);
      const sub: SubIndication = path.subIndication === 'EXPIRED' ? 'OUT_OF_BOUNDS_NO_POE' : path.subIndication;
      const out = sub === 'NOT_YET_VALID' ? failed('NOT_YET_VALID') : indeterminate(sub);
      return this.finish(headT, checks, out, bestSignatureTime);
    }

    // Revocation: every certificate below the anchor.
    let revOutcome: Outcome = PASSED;
    let allFromDss = true;
    for (let i = 0; i < path.path.length - 1; i++) {
      const cert = path.path[i]!;
      const issuer = path.path[i + 1]!;
      const r = await this.options.revocation.check({ cert, issuer, time: bestSignatureTime, validationTime: ctx.validationTime, dss, anchors: ctx.anchors, candidates });
      const name = i === 0 ? 'signer-revocation' : `ca-revocation-${i}`;
      const o = this.revocationOutcome(r, i === 0, cert, poe?.time, claimed, checks, name);
      if (r.status !== 'unknown' && !r.source.startsWith('dss') && r.source !== 'ocsp-nocheck') allFromDss = false;
      if (r.status === 'unknown') allFromDss = false;
      if (rank(o) > rank(revOutcome)) revOutcome = o;
    }
    if (revOutcome.indication !== 'TOTAL_PASSED') return this.finish(headT, checks, revOutcome, bestSignatureTime);

    // Level reached.
    let level: SignatureLevel | undefined = hasEss ? 'B-B' : undefined;
    if (level && poe) level = 'B-T';
    if (level === 'B-T' && ctx.format === 'PAdES' && allFromDss && ctx.dssRevision !== undefined) {
      level = 'B-LT';
      if ((ctx.docTimestampsAfter?.() ?? 0) > 0) level = 'B-LTA';
    }
    return this.finish({ ...headT, ...(level ? { level } : {}) }, checks, PASSED, bestSignatureTime);
  }

  private revocationOutcome(r: RevocationResult, isSigner: boolean, cert: ParsedCertificate, poe: Date | undefined, claimed: Date | undefined, checks: Checks, name: string): Outcome {
    const who = isSigner ? 'The signer certificate' : `The CA certificate ${cert.subject.text}`;
    if (r.status === 'good') {
      checks.add('revocation', name, 'passed', `${who} is not revoked (${r.source})`);
      return PASSED;
    }
    if (r.status === 'unknown') {
      checks.add('revocation', name, 'indeterminate', `${who}'s revocation status is not known: ${r.reason}`, r.code);
      return indeterminate('TRY_LATER');
    }
    const at = r.revokedAt;
    // Revoked after the proven existence of the signature: still valid (§5.5.4).
    if (poe && poe < at) {
      checks.add('revocation', name, 'passed', `${who} was revoked on ${at.toISOString()}, after the signature was time-stamped`);
      return PASSED;
    }
    // Revoked before the proven time, or before the time the signer claims (§5.3.4): failed.
    if ((poe && poe >= at) || (claimed && claimed >= at)) {
      checks.add('revocation', name, 'failed', `${who} was revoked on ${at.toISOString()}${r.reason ? ` (${r.reason})` : ''}, before the signature`, 'REVOKED');
      return isSigner ? failed('REVOKED') : indeterminate('REVOKED_CA_NO_POE');
    }
    checks.add('revocation', name, 'failed', `${who} was revoked on ${at.toISOString()} and nothing proves the signature existed before`, 'REVOKED_NO_POE');
    return indeterminate(isSigner ? 'REVOKED_NO_POE' : 'REVOKED_CA_NO_POE');
  }

  /** The TSA certificate: time-stamping path to an anchor at the validation time, and not revoked at genTime. */
  private async trustTsa(
    tsa: ParsedCertificate,
    genTime: Date,
    candidates: ParsedCertificate[],
    dss: { ocsps: Buffer[]; crls: Buffer[] } | undefined,
    validationTime: Date,
    checks: Checks,
    what: string,
    anchors: ParsedCertificate[],
  ): Promise<boolean> {
    let path: PathResult = validatePath({ target: tsa, candidates, anchors, time: validationTime, purpose: 'timestamping' });
    if (!path.ok && path.subIndication === 'EXPIRED') {
      // An expired TSA still proves the time if it was valid then; renewal is the B-LTA's job.
      const atGen = validatePath({ target: tsa, candidates, anchors, time: genTime, purpose: 'timestamping' });
      if (atGen.ok) path = atGen;
    }
    if (!path.ok) {
      checks.add('trust', `${what}-tsa-path`, path.subIndication === 'NO_CERTIFICATE_CHAIN_FOUND' ? 'indeterminate' : 'failed', `TSA: ${path.reason}`, path.subIndication);
      return false;
    }
    checks.add('trust', `${what}-tsa-path`, 'passed', `TSA ${tsa.subject.text} chains to ${path.path[path.path.length - 1]!.subject.text}`);
    for (let i = 0; i < path.path.length - 1; i++) {
      const r = await this.options.revocation.check({ cert: path.path[i]!, issuer: path.path[i + 1]!, time: genTime, validationTime, dss, anchors, candidates });
      if (r.status === 'revoked' && r.revokedAt <= genTime) {
        checks.add('revocation', `${what}-tsa-revocation`, 'failed', `A TSA certificate was revoked on ${r.revokedAt.toISOString()}, before the time-stamp`, 'REVOKED');
        return false;
      }
      if (r.status === 'unknown') {
        checks.add('revocation', `${what}-tsa-revocation`, 'indeterminate', `TSA revocation status is not known: ${r.reason}`, r.code);
        return false;
      }
    }
    checks.add('revocation', `${what}-tsa-revocation`, 'passed');
    return true;
  }

  /** A PDF document time-stamp: token over the ByteRange bytes, TSA path and revocation. */
  private async verifyTimestampToken(
    token: Buffer,
    subject: { data: Buffer },
    checks: Checks,
    what: string,
    analysis: PdfAnalysis,
    validationTime: Date,
    anchors: ParsedCertificate[],
  ): Promise<ProvenTime | undefined> {
    let verified;
    try {
      verified = verifyTimeStampToken({ token, data: subject.data, certificates: analysis.dss?.certs });
    } catch (e) {
      const code = isAppError(e) ? e.code : 'TSP_TOKEN_INVALID';
      checks.add('integrity', what, 'failed', 'The time-stamp token does not verify over the document', code);
      return undefined;
    }
    checks.add('integrity', what, 'passed');
    const tsa = verified.signerCertificate;
    const genTime = verified.tstInfo.genTime;
    const candidates = [...verified.token.certificates, ...parseAll(analysis.dss?.certs ?? []), ...this.known];
    const dss = analysis.dss ? { ocsps: analysis.dss.ocsps, crls: analysis.dss.crls } : undefined;
    const ok = await this.trustTsa(tsa, genTime, candidates, dss, validationTime, checks, what, anchors);
    if (!ok) return undefined;
    return { time: genTime, report: { time: genTime.toISOString(), tsa: tsa.subject.text, serialNumber: verified.tstInfo.serialHex, valid: true } };
  }

  private async describeSigner(cert: ParsedCertificate): Promise<SignerInfoReport> {
    const f = cert.subject.fields;
    const creditCode = creditCodeFromOrganizationIdentifier(f.organizationIdentifier);
    const out: SignerInfoReport = {
      subject: cert.subject.text,
      issuer: cert.issuer.text,
      serialNumber: cert.serialHex,
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
      ...(f.o || creditCode ? { agency: { ...(f.o ? { name: f.o } : {}), ...(creditCode ? { creditCode } : {}) } } : {}),
    };
    // Only a certificate that chains to our own CA can name one of our seals; the lookup is by serial.
    if (this.options.seals) {
      const seal = await this.options.seals.bySerial(cert.serialHex).catch(() => undefined);
      if (seal && creditCode === seal.agencyCode) {
        out.seal = { id: seal.id, name: seal.name, agencyCode: seal.agencyCode, imageUrl: `/verify/seals/${seal.id}/image` };
      }
    }
    return out;
  }
}

const RANK: Record<Indication, number> = { TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2 };
const rank = (o: Outcome) => RANK[o.indication];

function parseAll(ders: readonly Buffer[]): ParsedCertificate[] {
  const out: ParsedCertificate[] = [];
  for (const d of ders) {
    try {
      out.push(parseCertificate(d));
    } catch {
      // A malformed certificate in the DSS is skipped: it cannot help build a path.
    }
  }
  return out;
}

/** Whether DER starts as SEQUENCE { SEQUENCE { INTEGER (version) … } … } (SES_Signature), not ContentInfo. */
function isSesSignature(sig: Buffer): boolean {
  // Outer SEQUENCE header: 30 + length (short or long form, up to 4 length octets).
  if (sig.length < 8 || sig[0] !== 0x30) return false;
  const skip = (i: number): number => (sig[i]! < 0x80 ? i + 1 : i + 1 + (sig[i]! & 0x7f));
  const inner = skip(1);
  if (sig[inner] !== 0x30) return false;
  return sig[skip(inner + 1)] === 0x02;
}

/** DER CMS, or PEM with a PKCS7 / CMS label. */
function signatureDer(sig: Buffer): Buffer {
  if (sig.length > MAX_SIGNATURE_BYTES * 2) throw new Error('signature too large');
  const head = sig.subarray(0, 64).toString('latin1');
  if (head.includes('-----BEGIN')) {
    const text = sig.toString('latin1');
    for (const label of ['PKCS7', 'CMS']) {
      if (text.includes(`-----BEGIN ${label}-----`)) return fromPemAll(text, label)[0]!;
    }
    throw new Error('unknown PEM label');
  }
  return sig;
}

function licenceReport(source: LicenceReport['source'], f: LicenceFacts): LicenceReport {
  const l = f.licence;
  return {
    source,
    signatureValid: f.signatureValid,
    status: f.status,
    ...(f.problem ? { problem: f.problem } : {}),
    ...(l
      ? {
          identifier: l.identifier,
          licenceName: l.licenceName,
          issuer: l.issuer,
          holderName: l.holderName,
          validFrom: l.validFrom,
          validUntil: l.validUntil,
          ...(l.revocationReason ? { revocationReason: l.revocationReason } : {}),
        }
      : {}),
    checkedAt: f.checkedAt,
  };
}
