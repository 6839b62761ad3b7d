/** Object identifiers CAdES adds to the PKI layer's (src/pki/oids.ts), with where each is defined. */
export const CADES_OID = {
  /** id-data (RFC 5652 §4): the eContentType of a detached CAdES/PAdES signature. */
  data: '1.2.840.113549.1.7.1',
  /** id-aa-signatureTimeStampToken (RFC 3161 Appendix A; ETSI EN 319 122-1 signature-time-stamp). */
  signatureTimeStampToken: '1.2.840.113549.1.9.16.2.14',
} as const;
