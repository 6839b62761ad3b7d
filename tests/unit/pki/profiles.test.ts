import { PROFILES, PKI_OID, getProfile, isProfileName } from '../../../src/pki';

describe('certificate profiles (data)', () => {
  it('keeps every profile internally consistent', () => {
    for (const p of Object.values(PROFILES)) {
      expect(getProfile(p.name)).toBe(p);
      expect(p.defaultValidityDays).toBeLessThanOrEqual(p.maxValidityDays);
      expect(p.algorithms.length).toBeGreaterThan(0);
      expect(p.requiredSubject).toContain('cn');
      // CA keys sign certificates and CRLs; end-entity keys never do (RFC 5280 §4.2.1.3).
      const signsCerts = p.keyUsage.usages.includes('keyCertSign');
      expect(signsCerts).toBe(p.basicConstraints.ca);
      expect(p.keyUsage.critical).toBe(true);
    }
    expect(isProfileName('seal')).toBe(true);
    expect(isProfileName('toString')).toBe(false);
  });

  it('encodes the hierarchy and purposes the service relies on', () => {
    expect(PROFILES['root-ca']).toMatchObject({ selfSigned: true, basicConstraints: { ca: true, pathLen: 1 }, urls: [] });
    expect(PROFILES['issuing-ca'].basicConstraints).toEqual({ ca: true, pathLen: 0 });
    expect(PROFILES.seal.keyUsage.usages).toEqual(['digitalSignature', 'nonRepudiation']);
    expect(PROFILES.seal.requiredSubject).toEqual(expect.arrayContaining(['o', 'cn', 'organizationIdentifier']));
    expect(PROFILES.timestamping.extKeyUsage).toEqual({ critical: true, purposes: [PKI_OID.kpTimeStamping] });
    expect(PROFILES['ocsp-signing']).toMatchObject({ ocspNoCheck: true, extKeyUsage: { purposes: [PKI_OID.kpOCSPSigning] } });
    expect(PROFILES['ocsp-signing'].urls).not.toContain('ocsp');
    expect(PROFILES['log-signing'].extKeyUsage).toBeUndefined();
  });
});
