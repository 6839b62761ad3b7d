/**
 * The signing module's error codes (stable, SCREAMING_SNAKE; never renamed once shipped):
 *
 * - CMS_MALFORMED       ParseError: not DER, not a CMS SignedData, or breaks RFC 5652 rules.
 * - CMS_UNSUPPORTED     ParseError: well-formed CMS we do not handle (a content type other
 *                       than SignedData, no or several SignerInfos, no signed attributes,
 *                       an unknown version).
 * - CADES_INVALID_INPUT ValidationError: a caller passed inputs the builder cannot use.
 *
 * Existing codes reused: CERT_MALFORMED (a certificate given to the builder), PKI_SIGNER_MISMATCH
 * (the Signer's key is not the certificate's), TSA_BAD_RESPONSE / TSA_UNAVAILABLE (timestampers).
 */
import { DerError } from '../pki/der';
import { ParseError, ValidationError } from '../errors';

export const CMS_MALFORMED = 'CMS_MALFORMED';
export const CMS_UNSUPPORTED = 'CMS_UNSUPPORTED';
export const CADES_INVALID_INPUT = 'CADES_INVALID_INPUT';

/** Raised inside the parser for structures we refuse without them being malformed. */
export class UnsupportedCms extends Error {}

/** Maps the reader's internal errors to the public ParseError codes; anything else propagates. */
export function cmsParseError(e: unknown): never {
  if (e instanceof DerError) throw new ParseError(`CMS signature is malformed: ${e.message}`, CMS_MALFORMED, { cause: e });
  if (e instanceof UnsupportedCms) throw new ParseError(`CMS signature is not supported: ${e.message}`, CMS_UNSUPPORTED, { cause: e });
  throw e;
}

export function invalidInput(pointer: string, detail: string): ValidationError {
  return new ValidationError(`Invalid signing input: ${detail}`, [{ pointer, detail }], CADES_INVALID_INPUT);
}
