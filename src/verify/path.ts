/**
 * Certification path building and validation for the verifier: RFC 5280 §6.1, with path
 * building after RFC 4158. Pure and synchronous: the validation time, the trust anchors and the
 * candidate certificates are parameters; nothing is fetched.
 *
 * Building (RFC 4158 §2–3): from the target, issuers are looked up by name chaining (the issuer
 * field's DER equals the candidate's subject DER; RFC 5280 §7.1 comparison reduced to byte
 * equality, which is what conforming CAs produce by copying the name). When the certificate's
 * authority key identifier and the candidate's subject key identifier are both present they must
 * be equal, as OpenSSL's issuer check requires: a CA with the same name and another key (a
 * re-keyed root, an unrelated CA that happens to share the name) is not the issuer, and must not
 * turn "no chain" into "bad signature". Otherwise candidates are ordered (RFC 4158 §3.5). The search is
 * depth-first, cycle-safe (a subject+key pair appears at most once in a path), at most
 * MAX_PATH_CERTIFICATES long, and bounded in work; when several paths reach an anchor, the first
 * valid one wins, otherwise the failure closest to success is reported.
 *
 * Trust anchors are certificates; a certificate "is" an anchor when its subject and public key
 * are an anchor's (RFC 5280 §6.1.1 (d): the anchor is a name and a key), and the path then ends
 * with the configured anchor itself. Beyond RFC 5280 (which processes nothing of the anchor),
 * the anchor's validity period, basicConstraints, keyUsage and pathLenConstraint are enforced
 * (RFC 5937 §3 allows it): our anchors are our own roots and imported ones, and honouring their
 * constraints is the conservative reading.
 *
 * Checks, in an order that lets a caller tell "would have been valid earlier" apart:
 *   1. signatures along the path (CERTIFICATE_CHAIN_GENERAL_FAILURE);
 *   2. time-independent constraints (CHAIN_CONSTRAINTS_FAILURE): CA certificates (§6.1.4 (k),
 *      (l), (m), (n)), unknown critical extensions (§6.1.3, §6.1.4 (o)), name constraints (not
 *      implemented: refused wherever present, never ignored), the target's key purpose;
 *   3. validity periods at `time` (§6.1.3 (a)(2)) — EXPIRED carries `outOfBounds`, the window in
 *      which the whole path was valid, so the engine can look for a proof of existence before it
 *      (EN 319 102-1 §5.6.2.1, OUT_OF_BOUNDS_NO_POE).
 * Certificate policies are not processed: the verifier's policy set is any-policy with no
 * explicit-policy requirement (§6.1.1 (c)–(f)), under which certificatePolicies cannot fail a
 * path; a critical policyConstraints, policyMappings or inhibitAnyPolicy is refused as unknown.
 */
import { isAppError } from '../errors';
import { verifyCertificateSignature, type ParsedCertificate } from '../pki/certificate';
import { digest } from '../pki/hashes';
import { PKI_OID } from '../pki/oids';
import { readPublicKeyInfo, type PublicKeyInfo } from '../pki/signature';
import { checkTsaCertificate } from '../pki/tsp-token';
import type { SubIndication } from './report';

/** What the target certificate's key must be good for. */
export type PathPurpose = 'signing' | 'timestamping' | 'ocsp-signing' | 'crl-signing';

export interface ValidatePathInput {
  target: ParsedCertificate;
  /** Certificates that may be intermediates (from the CMS, the DSS, …): junk and duplicates allowed. */
  candidates: readonly ParsedCertificate[];
  anchors: readonly ParsedCertificate[];
  /** The validation time. */
  time: Date;
  purpose: PathPurpose;
}

/** The EN 319 102-1 sub-indications path validation can produce. */
export type PathSubIndication = Extract<
  SubIndication,
  'NO_CERTIFICATE_CHAIN_FOUND' | 'EXPIRED' | 'NOT_YET_VALID' | 'CHAIN_CONSTRAINTS_FAILURE' | 'CERTIFICATE_CHAIN_GENERAL_FAILURE'
>;

/** Stable codes, one per reason a path fails (finer than the sub-indication). */
export type PathFailureCode =
  | 'PATH_NOT_FOUND'
  | 'PATH_TOO_LONG'
  | 'PATH_SEARCH_LIMIT'
  | 'PATH_SIGNATURE_INVALID'
  | 'PATH_UNSUPPORTED_KEY'
  | 'PATH_NOT_A_CA'
  | 'PATH_CA_KEY_USAGE'
  | 'PATH_LENGTH_CONSTRAINT'
  | 'PATH_UNKNOWN_CRITICAL_EXTENSION'
  | 'PATH_NAME_CONSTRAINTS_UNSUPPORTED'
  | 'PATH_KEY_USAGE'
  | 'PATH_EXTENDED_KEY_USAGE'
  | 'PATH_EXPIRED'
  | 'PATH_NOT_YET_VALID';

/** The interval in which every certificate of a path is within its validity period. */
export interface ValidityWindow {
  notBefore: Date;
  notAfter: Date;
}

export interface PathSuccess {
  ok: true;
  /** Target first, anchor last. */
  path: ParsedCertificate[];
}

export interface PathFailure {
  ok: false;
  subIndication: PathSubIndication;
  code: PathFailureCode;
  /** A sentence for the report; names positions in the path, never certificate contents. */
  reason: string;
  /** The path the failure was found on (absent for NO_CERTIFICATE_CHAIN_FOUND). */
  path?: ParsedCertificate[];
  /** Index in `path` of the offending certificate. */
  certIndex?: number;
  /** EXPIRED: the earliest notAfter in the path that `time` is past. */
  expiredAt?: Date;
  /** NOT_YET_VALID: the latest notBefore in the path that `time` is before. */
  validFrom?: Date;
  /**
   * EXPIRED only, when nothing but time is wrong: the window in which the whole path was valid.
   * A proof of existence of the signed object before `outOfBounds.notAfter` makes the path
   * acceptable at that earlier time (the engine revalidates there); without it the outcome is
   * OUT_OF_BOUNDS_NO_POE.
   */
  outOfBounds?: ValidityWindow;
}

export type PathResult = PathSuccess | PathFailure;

/** Longest path searched, target and anchor included. */
export const MAX_PATH_CERTIFICATES = 8;
/** Candidate certificates considered (after de-duplication); the rest is ignored. */
const MAX_CANDIDATES = 256;
/** Issuer look-ups during one search, and complete paths evaluated. */
const MAX_STEPS = 2048;
const MAX_PATHS = 32;

/**
 * Extensions this module processes, or may ignore safely under the policy above, when critical
 * (RFC 5280 §4.2: a critical extension not recognised makes the certificate unacceptable).
 */
const KNOWN_CRITICAL = new Set<string>([
  PKI_OID.basicConstraints,
  PKI_OID.keyUsage,
  PKI_OID.extKeyUsage,
  PKI_OID.subjectAltName,
  PKI_OID.certificatePolicies,
  PKI_OID.subjectKeyIdentifier,
  PKI_OID.authorityKeyIdentifier,
  PKI_OID.cRLDistributionPoints,
  PKI_OID.authorityInfoAccess,
  PKI_OID.ocspNoCheck,
]);

/** id-ce-nameConstraints (RFC 5280 §4.2.1.10): not implemented, so refused even when not critical. */
const NAME_CONSTRAINTS_OID = '2.5.29.30';

/** Key purposes that dedicate a key to a service; such a key does not sign documents. */
const SERVICE_PURPOSES = new Set<string>([PKI_OID.kpTimeStamping, PKI_OID.kpOCSPSigning]);

/**
 * Builds and validates a path from `input.target` to one of `input.anchors` at `input.time`.
 * Never throws for bad certificates; throws TypeError only for a validation time that is not a
 * valid Date (a programming error).
 */
export function validatePath(input: ValidatePathInput): PathResult {
  if (!(input.time instanceof Date) || Number.isNaN(input.time.getTime())) throw new TypeError('validatePath: time must be a valid Date');
  const graph = new IssuerGraph(input.anchors, input.candidates, input.time);
  let best: PathFailure | undefined;
  let evaluated = 0;
  for (const path of graph.paths(input.target)) {
    const failure = evaluate(path, input.purpose, input.time);
    if (!failure) return { ok: true, path };
    if (!best || RANK[failure.subIndication] < RANK[best.subIndication]) best = failure;
    if (++evaluated >= MAX_PATHS) break;
  }
  return best ?? notFound(graph);
}

/**
 * The window in which every certificate of `path` is within its validity period, or undefined
 * when there is none (some certificate expired before another became valid).
 */
export function pathValidityWindow(path: readonly ParsedCertificate[]): ValidityWindow | undefined {
  if (path.length === 0) return undefined;
  let notBefore = path[0]!.notBefore;
  let notAfter = path[0]!.notAfter;
  for (const c of path) {
    if (c.notBefore > notBefore) notBefore = c.notBefore;
    if (c.notAfter < notAfter) notAfter = c.notAfter;
  }
  return notBefore <= notAfter ? { notBefore, notAfter } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Building

/** Lower rank = closer to a valid path (reported in preference). */
const RANK: Record<PathSubIndication, number> = {
  EXPIRED: 0,
  NOT_YET_VALID: 1,
  CHAIN_CONSTRAINTS_FAILURE: 2,
  CERTIFICATE_CHAIN_GENERAL_FAILURE: 3,
  NO_CERTIFICATE_CHAIN_FOUND: 4,
};

const entityKeys = new WeakMap<ParsedCertificate, string>();

/** Subject and key: the identity of a CA for loop detection and anchor matching. */
function entityKey(c: ParsedCertificate): string {
  let k = entityKeys.get(c);
  if (k === undefined) {
    k = digest('sha256', Buffer.concat([c.subject.der, c.spki])).toString('hex');
    entityKeys.set(c, k);
  }
  return k;
}

function withinValidity(c: ParsedCertificate, time: Date): boolean {
  return c.notBefore <= time && time <= c.notAfter;
}

/** The certificates that may have issued others, indexed by subject, and the anchors by identity. */
class IssuerGraph {
  private readonly bySubject = new Map<string, ParsedCertificate[]>();
  private readonly anchorByEntity = new Map<string, ParsedCertificate>();
  private steps = 0;
  /** Why the search stopped short, for the NO_CERTIFICATE_CHAIN_FOUND reason. */
  tooLong = false;
  limitHit = false;

  constructor(
    anchors: readonly ParsedCertificate[],
    candidates: readonly ParsedCertificate[],
    private readonly time: Date,
  ) {
    const seen = new Set<string>();
    for (const a of anchors) {
      const k = entityKey(a);
      if (this.anchorByEntity.has(k)) continue;
      this.anchorByEntity.set(k, a);
      this.add(a);
    }
    let taken = 0;
    for (const c of candidates) {
      if (taken >= MAX_CANDIDATES) break;
      const k = entityKey(c);
      const id = digest('sha256', c.der).toString('hex');
      // A candidate with an anchor's name and key is that anchor: the configured one stands in.
      if (seen.has(id) || this.anchorByEntity.has(k)) continue;
      seen.add(id);
      taken++;
      this.add(c);
    }
  }

  private add(c: ParsedCertificate): void {
    const k = c.subject.der.toString('hex');
    const list = this.bySubject.get(k);
    if (list) list.push(c);
    else this.bySubject.set(k, [c]);
  }

  anchorFor(c: ParsedCertificate): ParsedCertificate | undefined {
    return this.anchorByEntity.get(entityKey(c));
  }

  /**
   * Issuers of `c` by name whose key identifier does not contradict `c`'s AKI, best first
   * (RFC 4158 §3.5): key identifiers that match, then valid at the validation time, then anchors.
   */
  private issuersOf(c: ParsedCertificate): ParsedCertificate[] {
    const aki = c.authorityKeyIdentifier;
    const list = (this.bySubject.get(c.issuer.der.toString('hex')) ?? []).filter((i) => !aki || !i.subjectKeyIdentifier || aki.equals(i.subjectKeyIdentifier));
    const score = (i: ParsedCertificate): number =>
      (aki && i.subjectKeyIdentifier ? 4 : 0) + (withinValidity(i, this.time) ? 2 : 0) + (this.anchorByEntity.has(entityKey(i)) ? 1 : 0);
    return list
      .map((i, n) => ({ i, n, s: score(i) }))
      .sort((a, b) => b.s - a.s || a.n - b.n)
      .map((x) => x.i);
  }

  /** Every path from `target` that ends at an anchor, depth-first, within the bounds. */
  *paths(target: ParsedCertificate): Generator<ParsedCertificate[]> {
    const anchor = this.anchorFor(target);
    if (anchor) {
      // The target is itself trusted (path length 1); it is validated as given.
      yield [target];
      return;
    }
    yield* this.extend([target], new Set([entityKey(target)]));
  }

  private *extend(path: ParsedCertificate[], onPath: Set<string>): Generator<ParsedCertificate[]> {
    const last = path[path.length - 1]!;
    for (const issuer of this.issuersOf(last)) {
      if (++this.steps > MAX_STEPS) {
        this.limitHit = true;
        return;
      }
      const k = entityKey(issuer);
      if (onPath.has(k)) continue; // a loop, including a self-signed non-anchor
      const next = [...path, issuer];
      if (this.anchorByEntity.has(k)) {
        yield next;
        continue;
      }
      if (next.length >= MAX_PATH_CERTIFICATES) {
        this.tooLong = true;
        continue;
      }
      onPath.add(k);
      yield* this.extend(next, onPath);
      onPath.delete(k);
    }
  }
}

function notFound(graph: IssuerGraph): PathFailure {
  if (graph.limitHit) {
    return { ok: false, subIndication: 'NO_CERTIFICATE_CHAIN_FOUND', code: 'PATH_SEARCH_LIMIT', reason: 'No path to a trust anchor was found within the search limits' };
  }
  if (graph.tooLong) {
    return {
      ok: false,
      subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
      code: 'PATH_TOO_LONG',
      reason: `No path to a trust anchor of at most ${MAX_PATH_CERTIFICATES} certificates was found`,
    };
  }
  return { ok: false, subIndication: 'NO_CERTIFICATE_CHAIN_FOUND', code: 'PATH_NOT_FOUND', reason: 'The certificate does not chain to a trust anchor' };
}

// ---------------------------------------------------------------------------------------------
// Validation of one path

function who(i: number, n: number): string {
  if (i === 0) return n === 1 ? 'the certificate (a trust anchor)' : 'the end-entity certificate';
  if (i === n - 1) return 'the trust anchor';
  return `CA certificate ${i} of the path`;
}

function fail(path: ParsedCertificate[], i: number, subIndication: PathSubIndication, code: PathFailureCode, what: string): PathFailure {
  return { ok: false, subIndication, code, reason: `${capitalise(who(i, path.length))} ${what}`, path, certIndex: i };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function evaluate(path: ParsedCertificate[], purpose: PathPurpose, time: Date): PathFailure | undefined {
  return checkSignatures(path) ?? checkCaCertificates(path) ?? checkExtensions(path) ?? checkPurpose(path, purpose) ?? checkValidity(path, time);
}

/** Each certificate's signature verifies with the next one's key (§6.1.3 (a)(1)); the anchor's is not checked. */
function checkSignatures(path: ParsedCertificate[]): PathFailure | undefined {
  for (let i = 0; i + 1 < path.length; i++) {
    let key: PublicKeyInfo;
    try {
      key = readPublicKeyInfo(path[i + 1]!.spki);
    } catch {
      return fail(path, i + 1, 'CERTIFICATE_CHAIN_GENERAL_FAILURE', 'PATH_UNSUPPORTED_KEY', 'has a public key this verifier does not support');
    }
    if (!verifyCertificateSignature(path[i]!, key)) {
      return fail(path, i, 'CERTIFICATE_CHAIN_GENERAL_FAILURE', 'PATH_SIGNATURE_INVALID', "has a signature that does not verify with its issuer's key");
    }
  }
  return undefined;
}

/**
 * Every issuing certificate is a CA allowed to sign certificates, and no pathLenConstraint is
 * exceeded (§6.1.4 (k)–(n), §4.2.1.9). Intermediates must be v3 with cA TRUE; the anchor is held
 * to its own extensions when it has them (a v1 anchor is accepted, §6.1.1 (d)).
 */
function checkCaCertificates(path: ParsedCertificate[]): PathFailure | undefined {
  const n = path.length;
  // Non-self-issued intermediates below position i (positions 1..i-1): §4.2.1.9 counts only those.
  let below = 0;
  for (let i = 1; i < n; i++) {
    const c = path[i]!;
    const isAnchor = i === n - 1;
    const bc = c.basicConstraints;
    if (!isAnchor || bc) {
      if (!bc?.ca) return fail(path, i, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_NOT_A_CA', 'issued a certificate but is not a CA (basicConstraints cA is not set)');
    }
    if (c.keyUsage && !c.keyUsage.usages.includes('keyCertSign')) {
      return fail(path, i, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_CA_KEY_USAGE', 'issued a certificate but its key usage does not include keyCertSign');
    }
    if (bc?.pathLen !== undefined && below > bc.pathLen) {
      return fail(path, i, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_LENGTH_CONSTRAINT', `allows ${bc.pathLen} intermediate CA certificate(s) below it, the path has ${below}`);
    }
    if (!c.selfIssued) below++;
  }
  return undefined;
}

/**
 * No certificate carries a critical extension we do not process (§6.1.4 (o)); the anchor's are
 * its configuration and are not judged — except name constraints, which are refused anywhere
 * because ignoring them would accept names they exclude.
 */
function checkExtensions(path: ParsedCertificate[]): PathFailure | undefined {
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path[i]!;
    if (c.extensions.some((x) => x.oid === NAME_CONSTRAINTS_OID)) {
      return fail(path, i, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_NAME_CONSTRAINTS_UNSUPPORTED', 'carries name constraints, which this verifier does not process');
    }
    const isAnchor = n > 1 && i === n - 1;
    if (!isAnchor && c.extensions.some((x) => x.critical && !KNOWN_CRITICAL.has(x.oid))) {
      return fail(path, i, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_UNKNOWN_CRITICAL_EXTENSION', 'carries an unrecognised critical extension');
    }
  }
  return undefined;
}

function allowsSigning(c: ParsedCertificate): boolean {
  return !c.keyUsage || c.keyUsage.usages.some((u) => u === 'digitalSignature' || u === 'nonRepudiation');
}

/** The target's key may be used for `purpose` (§4.2.1.3, §4.2.1.12; RFC 3161 §2.3; RFC 6960 §4.2.2.2). */
function checkPurpose(path: ParsedCertificate[], purpose: PathPurpose): PathFailure | undefined {
  const t = path[0]!;
  const keyUsage = (what: string): PathFailure => fail(path, 0, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_KEY_USAGE', what);
  const eku = (what: string): PathFailure => fail(path, 0, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_EXTENDED_KEY_USAGE', what);
  switch (purpose) {
    case 'signing':
      if (!allowsSigning(t)) return keyUsage('has a key usage that allows neither digitalSignature nor nonRepudiation');
      // An EKU listing only service purposes dedicates the key to that service (RFC 5280 §4.2.1.12).
      if (t.extKeyUsage && t.extKeyUsage.purposes.every((p) => SERVICE_PURPOSES.has(p))) {
        return eku('is dedicated to time-stamping or OCSP signing by its extended key usage');
      }
      return undefined;
    case 'timestamping':
      try {
        // Validity is checked with the rest of the path below, so that EXPIRED stays distinguishable.
        checkTsaCertificate(t, t.notBefore);
      } catch (e) {
        if (!isAppError(e)) throw e;
        const check = String(e.details?.check ?? '');
        if (check === 'tsa-certificate-validity') return undefined;
        if (check === 'tsa-key-usage') return keyUsage('has a key usage that does not allow signing time-stamps');
        if (check === 'tsa-unknown-critical-extension') {
          return fail(path, 0, 'CHAIN_CONSTRAINTS_FAILURE', 'PATH_UNKNOWN_CRITICAL_EXTENSION', 'carries an unrecognised critical extension');
        }
        return eku('is not a time-stamping certificate (RFC 3161 §2.3: one critical extended key usage, id-kp-timeStamping)');
      }
      return undefined;
    case 'ocsp-signing':
      if (!t.extKeyUsage?.purposes.includes(PKI_OID.kpOCSPSigning)) return eku('is not authorised to sign OCSP responses (no id-kp-OCSPSigning)');
      if (!allowsSigning(t)) return keyUsage('has a key usage that does not allow signing');
      return undefined;
    case 'crl-signing':
      if (t.keyUsage && !t.keyUsage.usages.includes('cRLSign')) return keyUsage('has a key usage that does not include cRLSign');
      return undefined;
  }
}

/** Every certificate, the anchor included, is within its validity period at `time` (§6.1.3 (a)(2)). */
function checkValidity(path: ParsedCertificate[], time: Date): PathFailure | undefined {
  let early: number | undefined;
  let late: number | undefined;
  path.forEach((c, i) => {
    if (time < c.notBefore && (early === undefined || c.notBefore > path[early]!.notBefore)) early = i;
    if (time > c.notAfter && (late === undefined || c.notAfter < path[late]!.notAfter)) late = i;
  });
  if (early !== undefined) {
    const f = fail(path, early, 'NOT_YET_VALID', 'PATH_NOT_YET_VALID', `is not valid before ${path[early]!.notBefore.toISOString()}`);
    return { ...f, validFrom: path[early]!.notBefore };
  }
  if (late !== undefined) {
    const expiredAt = path[late]!.notAfter;
    const f = fail(path, late, 'EXPIRED', 'PATH_EXPIRED', `expired on ${expiredAt.toISOString()}`);
    const window = pathValidityWindow(path);
    return { ...f, expiredAt, ...(window ? { outOfBounds: window } : {}) };
  }
  return undefined;
}
