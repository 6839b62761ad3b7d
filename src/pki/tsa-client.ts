/**
 * RFC 3161 §3.4 client over HTTP: POST application/timestamp-query, expect
 * application/timestamp-reply, verify what comes back, fail over to the next URL.
 *
 * The transport is injectable (`fetch`), the nonce comes from the caller, and the reply is
 * checked with the same verifier as any other token: status granted, imprint and nonce echoed,
 * signature, signing-certificate-v2 and TSA certificate purpose. The TSA certificate's chain
 * and revocation are left to the caller's trust policy.
 */
import type { AlgorithmName } from '../crypto/algorithms';
import { AppError, isAppError } from '../errors';
import type { HashName } from './hashes';
import { buildTimeStampReq, parseTimeStampReq } from './tsp';
import { parseTimeStampResp, verifyTimeStampToken, type ParsedTSTInfo } from './tsp-token';
import type { ParsedCertificate } from './certificate';

export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: Uint8Array; signal: AbortSignal },
) => Promise<FetchResponseLike>;

export interface RequestTimestampInput {
  /** TSA endpoints, tried in order. */
  urls: readonly string[];
  /** The digest to time-stamp (e.g. of a signature value). */
  digest: Buffer;
  hashAlg: HashName;
  /** Random from the caller (bytes or a positive bigint). */
  nonce: Buffer | bigint;
  /** Ask the TSA to include its certificate (recommended; otherwise pass `certificates`). */
  certReq: boolean;
  /** Per-URL timeout. */
  timeoutMs: number;
  /** reqPolicy, if a specific policy is wanted. */
  policy?: string;
  /** TSA certificate(s) to verify with when the token does not carry them. */
  certificates?: readonly Buffer[];
  allowedAlgorithms?: readonly AlgorithmName[];
  /** Largest reply accepted (default 256 KiB). */
  maxResponseBytes?: number;
  fetch?: FetchLike;
}

export interface TimestampResult {
  /** The TimeStampToken (ContentInfo DER) as received. */
  token: Buffer;
  url: string;
  tstInfo: ParsedTSTInfo;
  signerCertificate: ParsedCertificate;
}

const REPLY_TYPES = new Set(['application/timestamp-reply', 'application/timestamp-response']);

/** Attempts are reported without query strings or credentials. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

class Attempt extends Error {
  constructor(
    readonly kind: 'unavailable' | 'bad-response',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Settles with `p`, or rejects when `signal` aborts (for transports that ignore the signal). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    p.then(resolve, reject);
  });
}

async function attempt(url: string, body: Buffer, nonce: Buffer | undefined, input: RequestTimestampInput, fetchFn: FetchLike): Promise<TimestampResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), input.timeoutMs);
  let bytes: Buffer;
  try {
    let res: FetchResponseLike;
    try {
      res = await untilAborted(
        fetchFn(url, {
          method: 'POST',
          headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
          body,
          signal: controller.signal,
        }),
        controller.signal,
      );
    } catch (e) {
      throw new Attempt('unavailable', controller.signal.aborted ? 'timed out' : 'request failed', { cause: e });
    }
    // Server-side trouble is worth retrying elsewhere; a 4xx means the TSA refused our request.
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new Attempt('unavailable', `HTTP ${res.status}`);
    if (res.status !== 200) throw new Attempt('bad-response', `HTTP ${res.status}`);
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!REPLY_TYPES.has(type)) throw new Attempt('bad-response', 'unexpected content type');
    const max = input.maxResponseBytes ?? 256 * 1024;
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > max) throw new Attempt('bad-response', 'reply too large');
    try {
      bytes = Buffer.from(await untilAborted(res.arrayBuffer(), controller.signal));
    } catch (e) {
      throw new Attempt('unavailable', controller.signal.aborted ? 'timed out' : 'reading the reply failed', { cause: e });
    }
    if (bytes.length > max) throw new Attempt('bad-response', 'reply too large');
  } finally {
    clearTimeout(timer);
  }

  try {
    const resp = parseTimeStampResp(bytes);
    if (resp.status !== 'granted' && resp.status !== 'grantedWithMods') {
      throw new Attempt('bad-response', `TSA answered ${resp.status}${resp.failInfo.length ? ` (${resp.failInfo.join(', ')})` : ''}`);
    }
    const verified = verifyTimeStampToken({
      token: resp.token!,
      imprint: { hashAlgorithm: input.hashAlg, digest: input.digest },
      nonce,
      certificates: input.certificates,
      allowedAlgorithms: input.allowedAlgorithms,
      acceptedPolicies: input.policy ? [input.policy] : undefined,
    });
    if (input.certReq && !verified.token.certificates.some((c) => c.der.equals(verified.signerCertificate.der))) {
      throw new Attempt('bad-response', 'certificate requested but not included');
    }
    return { token: resp.token!, url, tstInfo: verified.tstInfo, signerCertificate: verified.signerCertificate };
  } catch (e) {
    if (e instanceof Attempt) throw e;
    if (isAppError(e)) throw new Attempt('bad-response', e.code, { cause: e });
    throw e;
  }
}

/**
 * Requests a time-stamp token for `digest`, trying `urls` in order. Throws AppError
 * TSA_UNAVAILABLE when no TSA could be reached, TSA_BAD_RESPONSE when at least one answered
 * with something unusable (refusal, malformed or unverifiable token). `details.attempts` lists
 * what happened at each URL.
 */
export async function requestTimestamp(input: RequestTimestampInput): Promise<TimestampResult> {
  if (!Array.isArray(input.urls) || input.urls.length === 0) {
    throw new AppError('TSA_UNAVAILABLE', 'No time-stamping service is configured');
  }
  const body = buildTimeStampReq({ hashAlg: input.hashAlg, digest: input.digest, nonce: input.nonce, certReq: input.certReq, policy: input.policy });
  // The nonce as the request encodes it (random bytes become a positive INTEGER), for the echo check.
  const nonce = parseTimeStampReq(body).nonce;
  const fetchFn: FetchLike = input.fetch ?? ((url, init) => fetch(url, init));
  const attempts: { url: string; outcome: string }[] = [];
  const causes: unknown[] = [];
  let sawBadResponse = false;
  for (const url of input.urls) {
    try {
      return await attempt(url, body, nonce, input, fetchFn);
    } catch (e) {
      if (!(e instanceof Attempt)) throw e;
      attempts.push({ url: safeUrl(url), outcome: `${e.kind}: ${e.message}` });
      causes.push(e);
      if (e.kind === 'bad-response') sawBadResponse = true;
    }
  }
  const cause = new AggregateError(causes, 'every time-stamping service failed');
  if (sawBadResponse) {
    throw new AppError('TSA_BAD_RESPONSE', 'The time-stamping service returned an unusable response', { cause, details: { attempts } });
  }
  throw new AppError('TSA_UNAVAILABLE', 'No time-stamping service could be reached', { cause, details: { attempts } });
}
