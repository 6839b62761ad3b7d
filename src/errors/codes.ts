/**
 * The code table: every error the service can answer with. A code is SCREAMING_SNAKE and never
 * renamed once shipped; clients match on it. Status and title are what the problem+json mapper
 * writes (RFC 9457); the type URI is derived from the code.
 */
export const ERROR_CODES = {
  // 400 — the request itself is malformed
  VALIDATION_FAILED: { status: 400, title: 'The request did not pass validation' },
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  INVALID_CREDIT_CODE: { status: 400, title: 'The unified social credit code is invalid' },
  INVALID_QUERY: { status: 400, title: 'A query parameter is invalid' },
  INVALID_ID: { status: 400, title: 'The identifier in the path is malformed' },
  PARSE_ERROR: { status: 400, title: 'The submitted structure could not be parsed' },
  // 401/403 — who is asking
  UNAUTHENTICATED: { status: 401, title: 'A valid API key is required' },
  FORBIDDEN_ROLE: { status: 403, title: 'The API key lacks the role this operation needs' },
  FORBIDDEN_AGENCY: { status: 403, title: "The API key may not act on another agency's resources" },
  // 404/405/409/413/415
  NOT_FOUND: { status: 404, title: 'The resource does not exist' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route' },
  NOT_ACCEPTABLE: { status: 406, title: 'None of the requested media types can be produced' },
  CONFLICT: { status: 409, title: 'The request conflicts with the current state' },
  DUPLICATE: { status: 409, title: 'A resource with this identity already exists' },
  STATE_CONFLICT: { status: 409, title: 'The resource is not in a state that allows this change' },
  ALREADY_REVOKED: { status: 409, title: 'The resource is already revoked' },
  SEAL_SUSPENDED: { status: 409, title: 'The seal is suspended' },
  SEAL_REVOKED: { status: 409, title: 'The seal is revoked' },
  SEAL_CERTIFICATE_INVALID: { status: 409, title: "The seal's certificate is not valid now" },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body exceeds the limit for this route' },
  RATE_LIMITED: { status: 429, title: 'Too many requests from this client; retry after the time in Retry-After' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request content type is not accepted by this route' },
  // PKI (src/pki, src/ca)
  CERT_MALFORMED: { status: 400, title: 'The certificate could not be parsed' },
  CRL_MALFORMED: { status: 400, title: 'The CRL could not be parsed' },
  OCSP_MALFORMED_REQUEST: { status: 400, title: 'The OCSP request is malformed' },
  TSP_MALFORMED_REQUEST: { status: 400, title: 'The time-stamp request is malformed' },
  PKI_INVALID_INPUT: { status: 400, title: 'Invalid input to a PKI operation' },
  PKI_PROFILE_VIOLATION: { status: 400, title: 'The request violates the certificate profile' },
  PKI_SIGNER_MISMATCH: { status: 500, title: "The signer's key does not match the issuer certificate" },
  PEM_MALFORMED: { status: 400, title: 'The PEM text could not be parsed' },
  OCSP_MALFORMED_RESPONSE: { status: 502, title: 'The OCSP response could not be parsed' },
  TSP_MALFORMED_RESPONSE: { status: 502, title: 'The time-stamp response could not be parsed' },
  TSP_MALFORMED_TOKEN: { status: 400, title: 'The time-stamp token could not be parsed' },
  TSP_TOKEN_INVALID: { status: 422, title: 'The time-stamp token does not verify' },
  TSP_TOKEN_NOT_ACCEPTED: { status: 422, title: 'The time-stamp token is not acceptable by policy' },
  TSA_UNAVAILABLE: { status: 502, title: 'No time-stamping authority answered' },
  TSA_BAD_RESPONSE: { status: 502, title: 'The time-stamping authority answered with an unacceptable response' },
  // CMS / CAdES (src/signing)
  CMS_MALFORMED: { status: 400, title: 'The CMS signature could not be parsed' },
  CMS_UNSUPPORTED: { status: 422, title: 'The CMS signature uses a structure this service does not handle' },
  CADES_INVALID_INPUT: { status: 400, title: 'Invalid CAdES signing input' },
  // PDF (src/pdf)
  PDF_MALFORMED: { status: 400, title: 'The PDF could not be read' },
  PDF_LIMIT_EXCEEDED: { status: 400, title: 'The PDF exceeds a size, object, depth or decompression bound' },
  PDF_ENCRYPTED: { status: 422, title: 'Encrypted PDFs cannot be signed' },
  PDF_UNSUPPORTED: { status: 422, title: 'The PDF uses a feature this service does not support' },
  PDF_SIGN_OPTIONS_INVALID: { status: 400, title: 'Invalid PDF signing options' },
  PDF_SIGNATURE_TOO_LARGE: { status: 422, title: 'The signature does not fit the reserved space' },
  PDF_FIELD_CONFLICT: { status: 409, title: 'The signature field name is already used' },
  PDF_CHANGES_NOT_PERMITTED: { status: 409, title: 'The document is certified and permits no changes' },
  // transparency log core (src/log)
  LOG_INVALID_RANGE: { status: 400, title: 'The log index, size or range is invalid' },
  LOG_INVALID_HASH: { status: 400, title: 'A hash has the wrong length' },
  JCS_NON_FINITE_NUMBER: { status: 400, title: 'JSON canonicalization: non-finite number' },
  JCS_UNSUPPORTED_VALUE: { status: 400, title: 'JSON canonicalization: value not representable in JSON' },
  JCS_CYCLE: { status: 400, title: 'JSON canonicalization: cyclic structure' },
  JCS_TOO_DEEP: { status: 400, title: 'JSON canonicalization: nested too deeply' },
  NOTE_MALFORMED: { status: 400, title: 'The signed note is malformed' },
  NOTE_TOO_LARGE: { status: 413, title: 'The signed note is too large' },
  NOTE_INVALID_VERIFIER_KEY: { status: 400, title: 'The note verifier key is malformed' },
  CHECKPOINT_MALFORMED: { status: 400, title: 'The checkpoint is malformed' },
  NOTE_SIGNATURE_INVALID: { status: 422, title: 'A note signature does not verify' },
  NOTE_NOT_VERIFIED: { status: 422, title: 'No trusted signature on the note' },
  CHECKPOINT_ORIGIN_MISMATCH: { status: 422, title: 'The checkpoint is for another log' },
  UNKNOWN_AGENCY: { status: 422, title: 'The referenced agency is not registered' },
  // e-licences (src/licences)
  LICENCE_DATA_INVALID: { status: 400, title: 'The licence request does not satisfy its type (each bad field is listed)' },
  LOOKUP_PURPOSE_REQUIRED: { status: 400, title: 'A licence confirmation lookup must state its purpose' },
  LICENCE_SEAL_UNSUITABLE: { status: 422, title: 'The seal cannot sign licence credentials' },
  LICENCE_REVOKED: { status: 409, title: 'The licence is revoked' },
  LICENCE_NO_PDF: { status: 409, title: 'The licence was issued without a PDF rendition' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, title: 'The idempotency key was already used for a different licence' },
  // e-archive (src/archive)
  ARCHIVE_CHECKS_FAILED: { status: 422, title: 'The record failed a required DA/T 70 filing check' },
  ARCHIVE_METADATA_INVALID: { status: 400, title: 'The archive metadata is missing or invalid' },
  ARCHIVE_FORCE_NOT_ALLOWED: { status: 403, title: 'Only a platform admin may force a filing, with a stated reason' },
  ARCHIVE_EVIDENCE_PENDING: { status: 409, title: 'The record has no archive timestamp yet' },
  ERS_MALFORMED: { status: 400, title: 'The evidence record (RFC 4998) could not be parsed' },
  ARCHIVE_RETENTION_NOT_ELAPSED: { status: 409, title: 'The retention period of the record has not elapsed (or it is permanent)' },
  ARCHIVE_LEGAL_HOLD: { status: 409, title: 'The record is under a legal hold' },
  ARCHIVE_DISPOSED: { status: 410, title: 'The record was disposed of; only its tombstone remains' },
  // GB/T 38540 seals and signatures (src/asn1/ses-*.ts, src/ses)
  SES_SEAL_MALFORMED: { status: 400, title: 'The electronic seal (SESeal) could not be parsed' },
  SES_SIGNATURE_MALFORMED: { status: 400, title: 'The electronic signature (SES_Signature) could not be parsed' },
  SES_REQUIRES_SM2: { status: 409, title: 'GB/T 38540 seals and signatures need an SM2 seal' },
  // licence rendering and public QR page (src/licences/render.ts, src/http/routes/public-licence.ts)
  LICENCE_FACE_UNRENDERABLE: { status: 422, title: "The licence face cannot be printed in its type's layout" },
  LICENCE_NOT_GENUINE: { status: 404, title: 'The QR token does not identify a licence issued here' },
  LICENCE_FONT_UNAVAILABLE: { status: 503, title: 'No CJK font is available to render licences' },
  // 5xx — our side
  KEY_UNAVAILABLE: { status: 500, title: 'The key could not be used' },
  KEY_STORE_UNAVAILABLE: { status: 503, title: 'The key store is not reachable' },
  MASTER_KEY_INVALID: { status: 500, title: 'The master key is missing or malformed' },
  STORE_UNAVAILABLE: { status: 503, title: 'The store is not reachable' },
  UPSTREAM_FAILED: { status: 502, title: 'An upstream service failed' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of the `type` URIs in problem responses; each code has a stable page under it. */
export const PROBLEM_TYPE_BASE = 'https://eseal.invalid/problems/';

export function problemType(code: string): string {
  return PROBLEM_TYPE_BASE + code.toLowerCase().replace(/_/g, '-');
}
