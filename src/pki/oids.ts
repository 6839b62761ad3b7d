/** Object identifiers the PKI layer writes or checks, with where each is defined. */
export const PKI_OID = {
  // X.520 attribute types (RFC 5280 §4.1.2.4, Appendix A)
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  /** X.520 organizationIdentifier (ETSI EN 319 412-1 §5.1.4). */
  organizationIdentifier: '2.5.4.97',

  // Certificate and CRL extensions (RFC 5280 §4.2, §5.2, §5.3)
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  cRLDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',

  // Key purposes and access methods
  kpTimeStamping: '1.3.6.1.5.5.7.3.8',
  kpOCSPSigning: '1.3.6.1.5.5.7.3.9',
  adOcsp: '1.3.6.1.5.5.7.48.1',
  adCaIssuers: '1.3.6.1.5.5.7.48.2',

  // OCSP (RFC 6960 §4.2.1, §4.4)
  ocspBasic: '1.3.6.1.5.5.7.48.1.1',
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
  ocspAcceptableResponses: '1.3.6.1.5.5.7.48.1.4',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  ocspServiceLocator: '1.3.6.1.5.5.7.48.1.7',
  ocspPrefSigAlgs: '1.3.6.1.5.5.7.48.1.8',

  // CMS and RFC 3161
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  ctTSTInfo: '1.2.840.113549.1.9.16.1.4',
  /** ESS signing-certificate (RFC 2634 §5.4), read when verifying others' tokens. */
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  /** ESS signing-certificate-v2 (RFC 5035 §3). */
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
} as const;
