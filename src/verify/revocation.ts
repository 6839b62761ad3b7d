/**
 * Revocation status of one certificate for the verifier: OCSP responses (RFC 6960) and CRLs
 * (RFC 5280 §5, §6.3), from the document itself, from our own CA, or fetched over HTTP.
 *
 * Sources, in order; the first that answers `good` or `revoked` wins:
 *   1. id-pkix-ocsp-nocheck on an OCSP responder certificate (RFC 6960 §4.2.2.2.1): not checked;
 *   2. the file's DSS (PAdES B-LT): every OCSP response, then every CRL — a `revoked` from any of
 *      them beats a `good` from another;
 *   3. `local`: our own CA answering directly (OCSP request → response, issuer → CRL);
 *   4. online mode only: the OCSP responders of the certificate's AIA (RFC 5280 §4.2.2.1, POST
 *      application/ocsp-request, RFC 6960 Appendix A.1), then its CRL distribution points
 *      (§4.2.1.13, HTTP GET). Only http(s) URLs whose host is on `allowHosts` are fetched, with a
 *      timeout and a size cap, redirects refused.
 *
 * An OCSP response counts (RFC 6960 §3.2) when it is `successful`, names this certificate
 * (CertID, any hash), is signed by the issuer itself or by a responder the issuer certified
 * directly with id-kp-OCSPSigning (§4.2.2.2; the responder certificate is validated as a path of
 * two with the issuer as its anchor, at producedAt), and is not from the future. A CRL counts
 * (RFC 5280 §6.3.3) when it is a complete CRL of the issuer's name signed with the issuer's key
 * (cRLSign), its scope (issuingDistributionPoint) covers the certificate, and it has no
 * unknown critical extension. Indirect and delta CRLs are not used.
 *
 * Freshness (EN 319 102-1 §5.2.5): a `good` proves the status at `time` (the best signature time)
 * when the data was issued at or after `time` (thisUpdate ≥ time − skew) — the way B-LT data
 * in a file proves status long after it went stale — or when it is current at the validation
 * time (nextUpdate ≥ validationTime; without nextUpdate, thisUpdate within a day). The same rule
 * applies to every source. A CRL issued after the certificate expired proves nothing about it
 * (CAs drop expired certificates from CRLs, §3.3), unless it carries ExpiredCertsOnCRL
 * (X.509 §8.5.2.12). A `revoked` from valid data counts whatever its age.
 *
 * Host allow-list: with `allowHosts` absent or empty nothing is fetched, loopback included. URLs
 * come from certificates, and a verifier that follows them anywhere is an SSRF primitive; the
 * loopback interface is where a service's unprotected admin endpoints live, so it gets no
 * exception. Entries are a host name or IP (any port) or `host:port` (that port only).
 *
 * Known limitation: a delegated responder's own revocation is not checked (RFC 6960
 * §4.2.2.2.1 leaves it to the client); our responders carry ocsp-nocheck.
 */
import {
  buildCertId,
  buildOcspRequest,
  matchCertId,
  parseOcspResponse,
  verifyOcspResponseSignature,
  type ParsedBasicOcspResponse,
  type ParsedSingleResponse,
} from '../pki/ocsp';
import { parseCrl, verifyCrlSignature, type ParsedCrl } from '../pki/crl';
import type { ParsedCertificate } from '../pki/certificate';
import { DerError, decodeDer, isContext, readExplicit, readGeneralizedTime, readImplicitConstructed, readSequence } from '../pki/der';
import { digest } from '../pki/hashes';
import { PKI_OID } from '../pki/oids';
import type { FetchResponseLike } from '../pki/tsa-client';
import type { RevocationReason } from '../store/ports';
import { validatePath } from './path';

// ---------------------------------------------------------------------------------------------
// Types

export type RevocationMode = 'online' | 'offline';

/**
 * The HTTP transport: `fetch`-compatible (a wider init than the TSA client's FetchLike, which
 * only POSTs). `arrayBuffer()` may reject when the body exceeds the cap.
 */
export type RevocationFetchLike = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array; signal: AbortSignal },
) => Promise<FetchResponseLike>;

/** Our own CA, asked directly instead of over HTTP. Either may answer undefined ("not mine"). */
export interface LocalRevocationSource {
  /** An OCSP request (DER) → the OCSPResponse (DER). */
  ocsp?(requestDer: Buffer): Promise<Buffer | undefined>;
  /** The current CRL (DER) of `issuer`. */
  crl?(issuer: ParsedCertificate): Promise<Buffer | undefined>;
}

export interface RevocationCheckerOptions {
  /** `offline` never touches the network: only the file's data and `local` are used. */
  mode: RevocationMode;
  /** Defaults to the global fetch, with redirects refused and the body read under the size cap. */
  fetch?: RevocationFetchLike;
  /** Hosts that may be fetched from (see the module comment); absent or empty: none. */
  allowHosts?: readonly string[];
  /** Per request (default 5000). */
  timeoutMs?: number;
  /** Largest OCSP response or CRL accepted from the network (default 8 MiB). */
  maxResponseBytes?: number;
  local?: LocalRevocationSource;
  /** Wall clock for cache expiry (default: the system clock). */
  clock?: () => Date;
  /** Cached fetched/local responses, least recently used evicted (default 256, and 64 MiB; 0 disables). */
  cacheSize?: number;
  /** Tolerance for clocks that disagree, in both directions (default 60 000 ms). */
  skewMs?: number;
}

export interface RevocationCheckInput {
  cert: ParsedCertificate;
  issuer: ParsedCertificate;
  /** The time the status must be known for: the best signature time. */
  time: Date;
  validationTime: Date;
  /** Revocation values found in the file (PAdES DSS, CAdES revocation-values). */
  dss?: { ocsps: readonly Buffer[]; crls: readonly Buffer[] };
  anchors: readonly ParsedCertificate[];
  /** Certificates found in the file: a delegated OCSP responder's certificate may be among them. */
  candidates: readonly ParsedCertificate[];
}

/** Where a status came from. `dss-*`: the file; `local-*`: our CA; `ocsp`/`crl`: fetched. */
export type EvidenceSource = 'dss-ocsp' | 'dss-crl' | 'local-ocsp' | 'local-crl' | 'ocsp' | 'crl';
export type RevocationSource = EvidenceSource | 'ocsp-nocheck';

/** The revocation data a status rests on, kept so B-LT augmentation and archives can embed it. */
export interface RevocationEvidence {
  source: EvidenceSource;
  /** What `data` is: an OCSPResponse or a CertificateList. */
  kind: 'ocsp' | 'crl';
  /** The DER used, as received. */
  data: Buffer;
  /** OCSP producedAt; for a CRL its thisUpdate. */
  producedAt: Date;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Where it was fetched from (no query string), for `ocsp` and `crl`. */
  url?: string;
}

export type RevocationUnknownCode = 'TRY_LATER' | 'REVOCATION_UNAVAILABLE' | 'REVOCATION_INVALID';

export type RevocationGood = { status: 'good' } & RevocationEvidence;
export type RevocationRevoked = { status: 'revoked'; revokedAt: Date; reason?: RevocationReason } & RevocationEvidence;

export type RevocationResult =
  | RevocationGood
  /** The certificate is an OCSP responder's with ocsp-nocheck: no data, by design. */
  | { status: 'good'; source: 'ocsp-nocheck' }
  | RevocationRevoked
  | {
      status: 'unknown';
      /**
       * REVOCATION_INVALID: data about the certificate was found but did not verify or parse;
       * TRY_LATER: nothing usable now (offline, unreachable, stale, `tryLater`), maybe later;
       * REVOCATION_UNAVAILABLE: no source to ask (no URL, host not allowed, responder does not know it).
       */
      code: RevocationUnknownCode;
      reason: string;
      /** What was tried and what came of it, in order. */
      tried: string[];
    };

// ---------------------------------------------------------------------------------------------
// Limits and constants

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_RESPONSE_BYTES = 8 << 20;
const DEFAULT_CACHE_SIZE = 256;
/** The cache also holds at most this many bytes (CRLs can be large). */
const CACHE_MAX_BYTES = 64 << 20;
const DEFAULT_SKEW_MS = 60_000;
/** Data without nextUpdate is current for this long after thisUpdate. */
const NO_NEXT_UPDATE_MAX_AGE_MS = 24 * 3600_000;
/** Items of each kind read from a file, and URLs of each kind taken from a certificate. */
const MAX_DSS_ITEMS = 64;
const MAX_URLS = 4;

/** CRL extensions this module processes (RFC 5280 §5.2); any other critical one refuses the CRL. */
const CRL_EXT = {
  authorityKeyIdentifier: PKI_OID.authorityKeyIdentifier,
  cRLNumber: PKI_OID.cRLNumber,
  deltaCRLIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  freshestCRL: '2.5.29.46',
  authorityInfoAccess: PKI_OID.authorityInfoAccess,
  /** X.509 (2016) §8.5.2.12: entries are kept for certificates that expired after this date. */
  expiredCertsOnCRL: '2.5.29.60',
} as const;
const KNOWN_CRL_EXTENSIONS = new Set<string>(Object.values(CRL_EXT));
/** CRL entry extensions (§5.3): certificateIssuer (indirect CRLs) is deliberately not among them. */
const KNOWN_ENTRY_EXTENSIONS = new Set<string>([PKI_OID.reasonCode, '2.5.29.24' /* invalidityDate */]);

// ---------------------------------------------------------------------------------------------
// Evaluating one OCSP response or CRL (pure)

interface EvalContext {
  cert: ParsedCertificate;
  issuer: ParsedCertificate;
  time: Date;
  validationTime: Date;
  skewMs: number;
  candidates: readonly ParsedCertificate[];
}

type FailClass = 'invalid' | 'transient' | 'unavailable';

type Verdict =
  | { kind: 'answer'; result: RevocationGood | RevocationRevoked }
  /** Well-formed data that is not about this certificate (another certificate, issuer or scope). */
  | { kind: 'skip'; note: string }
  | { kind: 'fail'; cls: FailClass; note: string };

const failed = (cls: FailClass, note: string): Verdict => ({ kind: 'fail', cls, note });
const skipped = (note: string): Verdict => ({ kind: 'skip', note });

/** Whether a `good` issued at thisUpdate proves the status at `ctx.time` (see the module comment). */
function provesGood(thisUpdate: Date, nextUpdate: Date | undefined, ctx: EvalContext): boolean {
  if (thisUpdate.getTime() >= ctx.time.getTime() - ctx.skewMs) return true;
  if (nextUpdate) return nextUpdate.getTime() >= ctx.validationTime.getTime();
  return thisUpdate.getTime() >= ctx.validationTime.getTime() - NO_NEXT_UPDATE_MAX_AGE_MS;
}

function fromTheFuture(t: Date, ctx: EvalContext): boolean {
  return t.getTime() > ctx.validationTime.getTime() + ctx.skewMs;
}

function responderIdMatches(basic: ParsedBasicOcspResponse, c: ParsedCertificate): boolean {
  const id = basic.responderId;
  return 'byKey' in id ? digest('sha1', c.publicKeyBits).equals(id.byKey) : c.subject.der.equals(id.byName);
}

/**
 * The certificate whose key signed the response, if it is authorised (RFC 6960 §4.2.2.2): the
 * issuer itself, or a certificate the issuer signed directly, with id-kp-OCSPSigning, valid
 * when the response was produced. A CA other than the issuer is not authorised.
 */
function authorisedResponder(basic: ParsedBasicOcspResponse, ctx: EvalContext): ParsedCertificate | undefined {
  if (responderIdMatches(basic, ctx.issuer)) return ctx.issuer;
  for (const r of [...basic.certificates, ...ctx.candidates]) {
    if (!responderIdMatches(basic, r)) continue;
    const p = validatePath({ target: r, candidates: [], anchors: [ctx.issuer], time: basic.producedAt, purpose: 'ocsp-signing' });
    if (p.ok && p.path.length === 2) return r;
  }
  return undefined;
}

function findSingle(basic: ParsedBasicOcspResponse, ctx: EvalContext): ParsedSingleResponse | undefined {
  return basic.responses.find((s) => s.certId.serialHex === ctx.cert.serialHex && matchCertId(s.certId, ctx.issuer));
}

function evaluateOcsp(der: Buffer, ctx: EvalContext, source: EvidenceSource, url?: string): Verdict {
  let parsed;
  try {
    parsed = parseOcspResponse(der);
  } catch {
    return failed('invalid', 'malformed OCSP response');
  }
  switch (parsed.status) {
    case 'successful':
      break;
    case 'tryLater':
    case 'internalError':
      return failed('transient', `responder answered ${parsed.status}`);
    default:
      return failed('unavailable', `responder answered ${parsed.status}`);
  }
  const basic = parsed.basic!;
  const single = findSingle(basic, ctx);
  if (!single) return skipped('the response is not about this certificate');
  let verified = false;
  const responder = authorisedResponder(basic, ctx);
  if (!responder) return failed('invalid', 'the OCSP response is not signed by the issuer or a responder it authorised');
  try {
    verified = verifyOcspResponseSignature(basic, responder.spki);
  } catch {
    verified = false;
  }
  if (!verified) return failed('invalid', 'the OCSP response signature does not verify');
  if (fromTheFuture(basic.producedAt, ctx) || fromTheFuture(single.thisUpdate, ctx)) return failed('invalid', 'the OCSP response is dated in the future');
  if (single.nextUpdate && single.nextUpdate < single.thisUpdate) return failed('invalid', 'the OCSP response has nextUpdate before thisUpdate');

  const evidence: RevocationEvidence = {
    source,
    kind: 'ocsp',
    data: parsed.der,
    producedAt: basic.producedAt,
    thisUpdate: single.thisUpdate,
    ...(single.nextUpdate ? { nextUpdate: single.nextUpdate } : {}),
    ...(url ? { url } : {}),
  };
  const st = single.status;
  if (st.type === 'revoked') {
    return { kind: 'answer', result: { status: 'revoked', revokedAt: st.revokedAt, ...(st.reason ? { reason: st.reason } : {}), ...evidence } };
  }
  if (st.type === 'unknown') return failed('unavailable', 'the responder does not know the certificate');
  if (!provesGood(single.thisUpdate, single.nextUpdate, ctx)) return failed('transient', 'the OCSP response is too old to prove the status at the time required');
  return { kind: 'answer', result: { status: 'good', ...evidence } };
}

/** IssuingDistributionPoint (RFC 5280 §5.2.5), the parts that decide the CRL's scope. */
interface IssuingDistributionPoint {
  uris: string[];
  relativeName: boolean;
  onlyUserCerts: boolean;
  onlyCaCerts: boolean;
  onlySomeReasons: boolean;
  indirectCrl: boolean;
  onlyAttributeCerts: boolean;
}

/*
 *   IssuingDistributionPoint ::= SEQUENCE {
 *        distributionPoint          [0] DistributionPointName OPTIONAL,
 *        onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
 *        onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
 *        onlySomeReasons            [3] ReasonFlags OPTIONAL,
 *        indirectCRL                [4] BOOLEAN DEFAULT FALSE,
 *        onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
 *   DistributionPointName ::= CHOICE {
 *        fullName                [0]     GeneralNames,
 *        nameRelativeToCRLIssuer [1]     RelativeDistinguishedName }
 */
function readIssuingDistributionPoint(value: Buffer): IssuingDistributionPoint {
  const r = readSequence(decodeDer(value), 'IssuingDistributionPoint');
  const out: IssuingDistributionPoint = {
    uris: [],
    relativeName: false,
    onlyUserCerts: false,
    onlyCaCerts: false,
    onlySomeReasons: false,
    indirectCrl: false,
    onlyAttributeCerts: false,
  };
  const dp = r.optionalContext(0);
  if (dp) {
    // A tagged CHOICE is explicitly tagged (X.680 §31.2.7).
    const choice = readExplicit(dp, 0, 'distributionPoint');
    if (isContext(choice, 0)) {
      for (const g of readImplicitConstructed(choice, 0, 'fullName').node.children) {
        // uniformResourceIdentifier [6] IA5String; other name forms cannot match our URIs.
        if (g.tagClass === 'context' && g.tagNumber === 6 && !g.constructed) out.uris.push(g.content.toString('latin1'));
      }
    } else {
      out.relativeName = true;
    }
  }
  const flag = (tag: number): boolean => {
    const n = r.optionalContext(tag);
    if (!n) return false;
    if (n.constructed || n.content.length !== 1) throw new DerError('IssuingDistributionPoint: malformed BOOLEAN');
    return n.content[0] === 0xff;
  };
  out.onlyUserCerts = flag(1);
  out.onlyCaCerts = flag(2);
  out.onlySomeReasons = r.optionalContext(3) !== undefined;
  out.indirectCrl = flag(4);
  out.onlyAttributeCerts = flag(5);
  r.end();
  return out;
}

/** Why the CRL does not cover the certificate (§6.3.3 (b)), or undefined when it does. */
function outOfScope(crl: ParsedCrl, cert: ParsedCertificate): string | undefined {
  const ext = crl.extensions.find((x) => x.oid === CRL_EXT.issuingDistributionPoint);
  if (crl.extensions.some((x) => x.oid === CRL_EXT.deltaCRLIndicator)) return 'delta CRLs are not used';
  if (!ext) return undefined;
  const idp = readIssuingDistributionPoint(ext.value);
  if (idp.indirectCrl || idp.onlySomeReasons || idp.relativeName || idp.onlyAttributeCerts) return 'a partitioned or indirect CRL this verifier does not use';
  if (idp.uris.length > 0 && !idp.uris.some((u) => cert.crlDistributionPoints.includes(u))) return "the CRL's distribution point is not the certificate's";
  const isCa = cert.basicConstraints?.ca ?? false;
  if (idp.onlyUserCerts && isCa) return 'the CRL covers end-entity certificates only';
  if (idp.onlyCaCerts && !isCa) return 'the CRL covers CA certificates only';
  return undefined;
}

/** Whether the CRL still lists `cert` if it was revoked, i.e. it was issued before the certificate expired. */
function stillListed(crl: ParsedCrl, cert: ParsedCertificate): boolean {
  if (crl.thisUpdate <= cert.notAfter) return true;
  const ext = crl.extensions.find((x) => x.oid === CRL_EXT.expiredCertsOnCRL);
  if (!ext) return false;
  return readGeneralizedTime(decodeDer(ext.value), 'expiredCertsOnCRL') <= cert.notAfter;
}

function evaluateCrl(der: Buffer, ctx: EvalContext, source: EvidenceSource, url?: string): Verdict {
  let crl: ParsedCrl;
  try {
    crl = parseCrl(der);
  } catch {
    return failed('invalid', 'malformed CRL');
  }
  try {
    return judgeCrl(crl, ctx, source, url);
  } catch {
    // DerError from an extension value: the CRL is malformed even if its outer structure parsed.
    return failed('invalid', 'malformed CRL extension');
  }
}

function judgeCrl(crl: ParsedCrl, ctx: EvalContext, source: EvidenceSource, url?: string): Verdict {
  const { cert, issuer } = ctx;
  if (!crl.issuer.der.equals(issuer.subject.der)) return skipped('the CRL is from another issuer');
  if (crl.authorityKeyIdentifier && issuer.subjectKeyIdentifier && !crl.authorityKeyIdentifier.equals(issuer.subjectKeyIdentifier)) {
    return skipped("the CRL is signed with another of the issuer's keys");
  }
  if (crl.extensions.some((x) => x.critical && !KNOWN_CRL_EXTENSIONS.has(x.oid))) return failed('invalid', 'the CRL has an unrecognised critical extension');
  const scope = outOfScope(crl, cert);
  if (scope) return skipped(scope);
  // §6.3.3 (f): the CRL issuer's key must be allowed to sign CRLs.
  if (issuer.keyUsage && !issuer.keyUsage.usages.includes('cRLSign')) return failed('invalid', 'the issuer may not sign CRLs');
  let verified: boolean;
  try {
    verified = verifyCrlSignature(crl, issuer.spki);
  } catch {
    verified = false;
  }
  if (!verified) return failed('invalid', 'the CRL signature does not verify');
  if (fromTheFuture(crl.thisUpdate, ctx)) return failed('invalid', 'the CRL is dated in the future');
  if (crl.nextUpdate && crl.nextUpdate < crl.thisUpdate) return failed('invalid', 'the CRL has nextUpdate before thisUpdate');

  const evidence: RevocationEvidence = {
    source,
    kind: 'crl',
    data: crl.der,
    producedAt: crl.thisUpdate,
    thisUpdate: crl.thisUpdate,
    ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
    ...(url ? { url } : {}),
  };
  const entry = crl.revoked.find((e) => e.serialHex === cert.serialHex);
  if (entry) {
    if (entry.extensions.some((x) => x.critical && !KNOWN_ENTRY_EXTENSIONS.has(x.oid))) return failed('invalid', 'the CRL entry has an unrecognised critical extension');
    // removeFromCRL belongs to delta CRLs (§5.3.1); in a complete CRL it is an error.
    if (entry.reason === 'removeFromCRL') return failed('invalid', 'the CRL entry says removeFromCRL in a complete CRL');
    return { kind: 'answer', result: { status: 'revoked', revokedAt: entry.revokedAt, ...(entry.reason ? { reason: entry.reason } : {}), ...evidence } };
  }
  if (!stillListed(crl, cert)) return failed('transient', 'the CRL was issued after the certificate expired, so it no longer lists it');
  if (!provesGood(crl.thisUpdate, crl.nextUpdate, ctx)) return failed('transient', 'the CRL is too old to prove the status at the time required');
  return { kind: 'answer', result: { status: 'good', ...evidence } };
}

// ---------------------------------------------------------------------------------------------
// Transport

/** Attempts are reported without query strings or credentials. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

class TooLarge extends Error {}

/** Settles with `p`, or rejects when `signal` aborts (for transports that ignore the signal). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    p.then(resolve, reject);
  });
}

/** Reads a fetch body, giving up as soon as it passes `max` bytes. */
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<ArrayBuffer> {
  if (!body) return new ArrayBuffer(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new TooLarge('response too large');
    }
    chunks.push(value);
  }
  const all = Buffer.concat(chunks);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.length) as ArrayBuffer;
}

/** The global fetch, refusing redirects (they would escape the allow-list) and capping the body. */
function defaultFetch(max: number): RevocationFetchLike {
  return async (url, init) => {
    const res = await fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal, redirect: 'error' });
    return { status: res.status, headers: res.headers, arrayBuffer: () => readCapped(res.body, max) };
  };
}

type Fetched = { ok: true; bytes: Buffer } | { ok: false; verdict: Verdict };

/** A small LRU of DER responses with their expiry (nextUpdate), bounded in entries and bytes. */
class ResponseCache {
  private readonly entries = new Map<string, { der: Buffer; expiresAt: number }>();
  private bytes = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string, now: number): Buffer | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.delete(key);
    if (e.expiresAt <= now) return undefined;
    this.insert(key, e);
    return e.der;
  }

  set(key: string, der: Buffer, expiresAt: number): void {
    if (this.maxEntries <= 0 || der.length > this.maxBytes) return;
    this.delete(key);
    this.insert(key, { der, expiresAt });
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) this.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.der.length;
  }

  private insert(key: string, e: { der: Buffer; expiresAt: number }): void {
    this.entries.set(key, e);
    this.bytes += e.der.length;
  }
}

// ---------------------------------------------------------------------------------------------
// The checker

/** What one check went through: the notes for `tried` and the worst class of failure. */
class Attempts {
  readonly tried: string[] = [];
  private readonly seen = new Set<FailClass>();
  private readonly first = new Map<FailClass, string>();

  note(where: string, v: Verdict): void {
    if (v.kind === 'answer') return;
    this.tried.push(`${where}: ${v.note}`);
    if (v.kind === 'fail') {
      this.seen.add(v.cls);
      if (!this.first.has(v.cls)) this.first.set(v.cls, `${where}: ${v.note}`);
    }
  }

  info(text: string): void {
    this.tried.push(text);
  }

  /** The outcome when nothing answered: invalid data outranks transient trouble, which outranks absence. */
  unknown(fallback: { code: RevocationUnknownCode; reason: string }): RevocationResult {
    for (const [cls, code] of [
      ['invalid', 'REVOCATION_INVALID'],
      ['transient', 'TRY_LATER'],
      ['unavailable', 'REVOCATION_UNAVAILABLE'],
    ] as const) {
      if (this.seen.has(cls)) return { status: 'unknown', code, reason: this.first.get(cls)!, tried: this.tried };
    }
    return { status: 'unknown', ...fallback, tried: this.tried };
  }
}

/**
 * Finds the revocation status of certificates for the verifier. One instance serves many
 * verifications (its cache is shared); `check` never throws for bad data or a bad network.
 */
export class RevocationChecker {
  readonly mode: RevocationMode;
  private readonly fetchFn: RevocationFetchLike;
  private readonly allowHosts: string[];
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly local?: LocalRevocationSource;
  private readonly clock: () => Date;
  private readonly skewMs: number;
  private readonly cache: ResponseCache;

  constructor(options: RevocationCheckerOptions) {
    if (options.mode !== 'online' && options.mode !== 'offline') throw new TypeError('RevocationChecker: mode must be online or offline');
    this.mode = options.mode;
    this.maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.fetchFn = options.fetch ?? defaultFetch(this.maxBytes);
    this.allowHosts = (options.allowHosts ?? []).map((h) => h.trim().toLowerCase()).filter((h) => h.length > 0);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.local = options.local;
    this.clock = options.clock ?? (() => new Date());
    this.skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
    this.cache = new ResponseCache(options.cacheSize ?? DEFAULT_CACHE_SIZE, CACHE_MAX_BYTES);
  }

  async check(input: RevocationCheckInput): Promise<RevocationResult> {
    const { cert, issuer } = input;
    const attempts = new Attempts();
    if (!cert.issuer.der.equals(issuer.subject.der)) {
      return { status: 'unknown', code: 'REVOCATION_INVALID', reason: 'the issuer given is not the certificate issuer', tried: [] };
    }
    // RFC 6960 §4.2.2.2.1: a responder certificate with nocheck is trusted for its lifetime.
    if (cert.ocspNoCheck && cert.extKeyUsage?.purposes.includes(PKI_OID.kpOCSPSigning)) return { status: 'good', source: 'ocsp-nocheck' };

    const ctx: EvalContext = {
      cert,
      issuer,
      time: input.time,
      validationTime: input.validationTime,
      skewMs: this.skewMs,
      candidates: input.candidates,
    };

    const fromFile = this.fromDss(input.dss, ctx, attempts);
    if (fromFile) return fromFile;

    const fromLocal = await this.fromLocal(ctx, attempts);
    if (fromLocal) return fromLocal;

    if (this.mode === 'offline') {
      return attempts.unknown({ code: 'TRY_LATER', reason: 'no revocation data in the file or from the local CA, and online checking is off' });
    }
    const fetched = await this.fromNetwork(ctx, attempts);
    if (fetched) return fetched;
    return attempts.unknown({ code: 'REVOCATION_UNAVAILABLE', reason: 'the certificate names no OCSP responder or CRL distribution point' });
  }

  /** The file's data: a `revoked` anywhere wins, otherwise the first `good`. */
  private fromDss(dss: RevocationCheckInput['dss'], ctx: EvalContext, attempts: Attempts): RevocationResult | undefined {
    if (!dss) return undefined;
    let good: RevocationGood | undefined;
    const consider = (v: Verdict, where: string): RevocationRevoked | undefined => {
      if (v.kind === 'skip') return undefined; // data about other certificates is normal in a DSS
      if (v.kind === 'fail') {
        attempts.note(where, v);
        return undefined;
      }
      if (v.result.status === 'revoked') return v.result;
      good ??= v.result;
      return undefined;
    };
    const ocsps = dss.ocsps.slice(0, MAX_DSS_ITEMS);
    for (let i = 0; i < ocsps.length; i++) {
      const revoked = consider(guarded(() => evaluateOcsp(ocsps[i]!, ctx, 'dss-ocsp')), `dss-ocsp #${i}`);
      if (revoked) return revoked;
    }
    const crls = dss.crls.slice(0, MAX_DSS_ITEMS);
    for (let i = 0; i < crls.length; i++) {
      const revoked = consider(guarded(() => evaluateCrl(crls[i]!, ctx, 'dss-crl')), `dss-crl #${i}`);
      if (revoked) return revoked;
    }
    return good;
  }

  /** Our own CA: OCSP first, then its CRL. */
  private async fromLocal(ctx: EvalContext, attempts: Attempts): Promise<RevocationResult | undefined> {
    const local = this.local;
    if (!local) return undefined;
    if (local.ocsp) {
      const v = await this.cached(`local-ocsp|${certIdKey(ctx)}`, (der) => evaluateOcsp(der, ctx, 'local-ocsp'), async () => {
        const request = buildOcspRequest({ certIds: [buildCertId(ctx.cert.der, ctx.issuer.der, 'sha256')] });
        return local.ocsp!(request);
      });
      attempts.note('local-ocsp', v);
      if (v.kind === 'answer') return v.result;
    }
    if (local.crl) {
      const key = `local-crl|${digest('sha256', Buffer.concat([ctx.issuer.subject.der, ctx.issuer.spki])).toString('hex')}`;
      const v = await this.cached(key, (der) => evaluateCrl(der, ctx, 'local-crl'), () => local.crl!(ctx.issuer));
      attempts.note('local-crl', v);
      if (v.kind === 'answer') return v.result;
    }
    return undefined;
  }

  /** AIA OCSP responders, then CRL distribution points. */
  private async fromNetwork(ctx: EvalContext, attempts: Attempts): Promise<RevocationResult | undefined> {
    const ocspUrls = ctx.cert.ocspUrls.slice(0, MAX_URLS);
    const crlUrls = ctx.cert.crlDistributionPoints.slice(0, MAX_URLS);
    if (ocspUrls.length > 0) {
      // RFC 5019 §2.1.1: SHA-1 CertIDs are what every responder understands; the response is
      // signed and matched to the certificate, so the hash carries no security weight here.
      let request: Buffer | undefined;
      try {
        request = buildOcspRequest({ certIds: [buildCertId(ctx.cert.der, ctx.issuer.der, 'sha1')] });
      } catch {
        attempts.info('ocsp: could not build a request for this certificate');
      }
      for (const url of request ? ocspUrls : []) {
        const v = await this.cached(`ocsp|${url}|${certIdKey(ctx)}`, (der) => evaluateOcsp(der, ctx, 'ocsp', safeUrl(url)), () =>
          this.fetchBytes(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' }, body: request }),
        );
        attempts.note(`ocsp ${safeUrl(url)}`, v);
        if (v.kind === 'answer') return v.result;
      }
    }
    for (const url of crlUrls) {
      const v = await this.cached(`crl|${url}`, (der) => evaluateCrl(der, ctx, 'crl', safeUrl(url)), () =>
        this.fetchBytes(url, { method: 'GET', headers: { accept: 'application/pkix-crl' } }),
      );
      attempts.note(`crl ${safeUrl(url)}`, v);
      if (v.kind === 'answer') return v.result;
    }
    return undefined;
  }

  /**
   * A cached DER when there is a live one that still answers, otherwise `obtain`'s. Answers with
   * a nextUpdate in the future are cached until then; nothing else is.
   */
  private async cached(key: string, evaluate: (der: Buffer) => Verdict, obtain: () => Promise<Buffer | undefined | Fetched>): Promise<Verdict> {
    const hit = this.cache.get(key, this.clock().getTime());
    if (hit) {
      const v = guarded(() => evaluate(hit));
      if (v.kind === 'answer') return v;
      this.cache.delete(key);
    }
    let got: Buffer | undefined | Fetched;
    try {
      got = await obtain();
    } catch {
      return failed('transient', 'the source failed');
    }
    let der: Buffer;
    if (got === undefined) return failed('unavailable', 'no answer for this certificate');
    if (Buffer.isBuffer(got)) der = got;
    else if (got.ok) der = got.bytes;
    else return got.verdict;
    const v = guarded(() => evaluate(der));
    // Fetched or asked for this very certificate: data about something else is wrong data.
    if (v.kind === 'skip') return failed('invalid', v.note);
    if (v.kind === 'answer' && v.result.nextUpdate && v.result.nextUpdate.getTime() > this.clock().getTime()) {
      this.cache.set(key, v.result.data, v.result.nextUpdate.getTime());
    }
    return v;
  }

  /** Whether `url` may be fetched: http(s), no credentials, host on the allow-list. */
  private permitted(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return 'not a valid URL';
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'not an http(s) URL';
    if (u.username || u.password) return 'URL with credentials';
    const host = u.host.toLowerCase();
    const hostname = u.hostname.toLowerCase();
    if (!this.allowHosts.some((h) => h === host || h === hostname)) return 'host not on the allow-list';
    return undefined;
  }

  private async fetchBytes(url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array }): Promise<Fetched> {
    const refused = this.permitted(url);
    if (refused) return { ok: false, verdict: failed('unavailable', `not fetched: ${refused}`) };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      let res: FetchResponseLike;
      try {
        res = await untilAborted(this.fetchFn(url, { ...init, signal: controller.signal }), controller.signal);
      } catch {
        return { ok: false, verdict: failed('transient', controller.signal.aborted ? 'timed out' : 'request failed') };
      }
      if (res.status !== 200) {
        const transient = res.status >= 500 || res.status === 429 || res.status === 408;
        return { ok: false, verdict: failed(transient ? 'transient' : 'unavailable', `HTTP ${res.status}`) };
      }
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > this.maxBytes) return { ok: false, verdict: failed('invalid', 'response too large') };
      let bytes: Buffer;
      try {
        bytes = Buffer.from(await untilAborted(res.arrayBuffer(), controller.signal));
      } catch (e) {
        if (e instanceof TooLarge) return { ok: false, verdict: failed('invalid', 'response too large') };
        return { ok: false, verdict: failed('transient', controller.signal.aborted ? 'timed out' : 'reading the response failed') };
      }
      if (bytes.length > this.maxBytes) return { ok: false, verdict: failed('invalid', 'response too large') };
      return { ok: true, bytes };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A cache key naming the certificate as a CertID does: issuer name and key, serial number. */
function certIdKey(ctx: EvalContext): string {
  return digest('sha256', Buffer.concat([ctx.issuer.subject.der, ctx.issuer.publicKeyBits, Buffer.from(ctx.cert.serialHex, 'hex')])).toString('hex');
}

/**
 * Evaluating untrusted bytes must not throw out of `check`: the parsers raise ParseError, but a
 * key or extension value can still make a lower layer throw. Any such error makes the item
 * invalid data.
 */
function guarded(f: () => Verdict): Verdict {
  try {
    return f();
  } catch {
    return failed('invalid', 'unreadable revocation data');
  }
}
