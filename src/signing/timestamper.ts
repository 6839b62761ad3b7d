/**
 * Timestampers for CAdES B-T: each turns a SignerInfo signature value into an RFC 3161
 * TimeStampToken whose messageImprint is the SHA-256 of that value (ETSI EN 319 122-1 signature-time-stamp,
 * RFC 3161 Appendix A).
 *
 * - `tsaTimestamper(respond)`: any function that answers a DER TimeStampReq with a DER
 *   TimeStampResp — our own TSA (`(req) => tsa.respond(req).then((r) => r.der)`) or a transport.
 * - `remoteTimestamper(options)`: external TSAs over HTTP through src/pki's requestTimestamp
 *   (failover, content types, size limits).
 *
 * Both check what comes back with src/pki's verifyTimeStampToken: status granted, imprint and
 * nonce echoed, the TSA's signature and signing-certificate-v2, the TSA certificate's purpose.
 * The TSA certificate's chain and revocation are the verifier's business, not the signer's.
 */
import { randomBytes } from 'node:crypto';
import type { AlgorithmName } from '../crypto/algorithms';
import { AppError, isAppError } from '../errors';
import { digest } from '../pki/hashes';
import { buildTimeStampReq, parseTimeStampReq } from '../pki/tsp';
import { parseTimeStampResp, verifyTimeStampToken } from '../pki/tsp-token';
import { requestTimestamp, type RequestTimestampInput } from '../pki/tsa-client';
import type { Timestamper } from './cades';

export interface TimestamperOptions {
  /** Randomness for the nonce (default node:crypto randomBytes); injected by tests. */
  random?: (n: number) => Buffer;
  /** reqPolicy to ask for; the token must then carry it. */
  policy?: string;
  /** TSA certificate(s), when the token might not carry them. */
  certificates?: readonly Buffer[];
  allowedAlgorithms?: readonly AlgorithmName[];
}

const NONCE_BYTES = 16;

function badResponse(message: string, cause?: unknown): AppError {
  return new AppError('TSA_BAD_RESPONSE', 'The time-stamping authority answered with an unacceptable response', {
    cause,
    details: { reason: message },
  });
}

/**
 * A Timestamper over `respond`: builds the TimeStampReq (SHA-256 imprint of the signature
 * value, a random 128-bit nonce, certReq TRUE), calls `respond`, and returns the verified token.
 * Throws TSA_UNAVAILABLE when `respond` fails, TSA_BAD_RESPONSE for an unusable answer.
 */
export function tsaTimestamper(respond: (request: Buffer) => Promise<Buffer>, options: TimestamperOptions = {}): Timestamper {
  const random = options.random ?? randomBytes;
  return async (signatureValue) => {
    const imprint = digest('sha256', signatureValue);
    const request = buildTimeStampReq({ hashAlg: 'sha256', digest: imprint, nonce: random(NONCE_BYTES), certReq: true, policy: options.policy });
    // The nonce as the request encodes it (random bytes become a positive INTEGER), for the echo check.
    const nonce = parseTimeStampReq(request).nonce;
    let replyDer: Buffer;
    try {
      replyDer = await respond(request);
    } catch (e) {
      throw new AppError('TSA_UNAVAILABLE', 'No time-stamping service could be reached', { cause: e });
    }
    try {
      const reply = parseTimeStampResp(replyDer);
      if (reply.status !== 'granted' && reply.status !== 'grantedWithMods') {
        throw badResponse(`TSA answered ${reply.status}${reply.failInfo.length ? ` (${reply.failInfo.join(', ')})` : ''}`);
      }
      const verified = verifyTimeStampToken({
        token: reply.token!,
        imprint: { hashAlgorithm: 'sha256', digest: imprint },
        nonce,
        certificates: options.certificates,
        allowedAlgorithms: options.allowedAlgorithms,
        acceptedPolicies: options.policy ? [options.policy] : undefined,
      });
      // certReq TRUE: the TSA must include its certificate (RFC 3161 §2.4.1), so verifiers need nothing else.
      if (!verified.token.certificates.some((c) => c.der.equals(verified.signerCertificate.der))) {
        throw badResponse('certificate requested but not included');
      }
      return reply.token!;
    } catch (e) {
      if (isAppError(e) && e.code === 'TSA_BAD_RESPONSE') throw e;
      if (isAppError(e)) throw badResponse(e.code, e);
      throw e;
    }
  };
}

export type RemoteTimestamperOptions = Omit<RequestTimestampInput, 'digest' | 'hashAlg' | 'nonce' | 'certReq'> & {
  random?: (n: number) => Buffer;
};

/** A Timestamper over external TSAs (src/pki requestTimestamp: failover, verified replies, certReq TRUE). */
export function remoteTimestamper(options: RemoteTimestamperOptions): Timestamper {
  const { random = randomBytes, ...rest } = options;
  return async (signatureValue) => {
    const result = await requestTimestamp({
      ...rest,
      digest: digest('sha256', signatureValue),
      hashAlg: 'sha256',
      nonce: random(NONCE_BYTES),
      certReq: true,
    });
    return result.token;
  };
}
