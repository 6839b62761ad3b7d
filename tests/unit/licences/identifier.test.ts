import fc from 'fast-check';
import { checkResidentId, formatLicenceIdentifier, isValidLicenceIdentifier, mod3736CheckChar, parseLicenceIdentifier, residentIdCheckChar } from '../../../src/licences/identifier';

const REAL = '1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0';

describe('GB/T 36904 licence identifier', () => {
  it('validates the real identifier from STANDARDS.md (MOD 37,36 check 0)', () => {
    expect(isValidLicenceIdentifier(REAL)).toBe(true);
    expect(parseLicenceIdentifier(REAL)).toEqual({ typeCode: '11100000000013338W009', issuerCode: '11330105002500287C', serial: '2025052201', version: '002', check: '0' });
    expect(mod3736CheckChar('11100000000013338W00911330105002500287C2025052201002')).toBe('0');
  });

  it('rejects every single-character change of the real identifier', () => {
    const alnum = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const start = '1.2.156.3005.2.'.length;
    for (let i = start; i < REAL.length; i++) {
      if (REAL[i] === '.') continue;
      for (const c of alnum) {
        if (c === REAL[i]) continue;
        const mutated = REAL.slice(0, i) + c + REAL.slice(i + 1);
        expect([mutated, isValidLicenceIdentifier(mutated)]).toEqual([mutated, false]);
      }
    }
  });

  it('formats identifiers that parse back, for any parts', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9A-Z]{1,21}$/), fc.stringMatching(/^[0-9A-Z]{1,18}$/), fc.stringMatching(/^[0-9A-Z]{1,20}$/), fc.integer({ min: 0, max: 999 }), (t, i, s, v) => {
          const id = formatLicenceIdentifier({ typeCode: t, issuerCode: i, serial: s, version: String(v).padStart(3, '0') });
          expect(parseLicenceIdentifier(id)).toMatchObject({ typeCode: t, issuerCode: i, serial: s });
        }),
    );
  });

  it('rejects malformed input without throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        expect(typeof isValidLicenceIdentifier(s)).toBe('boolean');
      }),
    );
    for (const bad of ['', '1.2.156.3005.2', REAL + '.1', REAL.replace('.002.', '.02.'), REAL.toLowerCase(), REAL.replace('1.2.156', '1.2.157')]) {
      expect(isValidLicenceIdentifier(bad)).toBe(false);
    }
  });
});

describe('GB 11643 resident identity number', () => {
  it('validates the STANDARDS.md example and rejects a wrong check digit', () => {
    expect(residentIdCheckChar('11010519491231002')).toBe('X');
    expect(checkResidentId('11010519491231002X')).toBeNull();
    expect(checkResidentId('110105194912310021')).toBe('CHECK_DIGIT');
    expect(checkResidentId('110105194913310021')).toBe('BIRTH_DATE');
    expect(checkResidentId('1101051949123100')).toBe('LENGTH');
    expect(checkResidentId('11010519491231002x')).toBe('CHARACTER');
  });
});
