/**
 * Identifiers of e-licences and their holders.
 *
 * GB/T 36904-2018 licence identifier:
 *   1.2.156.3005.2.<typeCode>.<issuerCode>.<serial>.<version>.<check>
 * The check character is ISO 7064 MOD 37,36 over typeCode‖issuerCode‖serial‖version with the
 * dots removed, alphabet 0-9A-Z (STANDARDS.md). The serial length rule (up to 20 of 0-9A-Z) is
 * unconfirmed against the normative text; we issue 10-digit date-free decimal serials.
 */
export const LICENCE_OID_PREFIX = '1.2.156.3005.2';
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** ISO 7064 MOD 37,36 (hybrid system, M = 36) check character over `[0-9A-Z]*`. */
export function mod3736CheckChar(body: string): string {
  let p = 36;
  for (const ch of body) {
    const v = ALNUM.indexOf(ch);
    if (v < 0) throw new RangeError(`character ${JSON.stringify(ch)} is outside 0-9A-Z`);
    let t = (p + v) % 36;
    if (t === 0) t = 36;
    p = (2 * t) % 37;
  }
  return ALNUM[(37 - p) % 36];
}

export interface LicenceIdentifierParts {
  typeCode: string;
  issuerCode: string;
  serial: string;
  /** 3 digits, e.g. '001'. */
  version: string;
  check: string;
}

const PART = /^[0-9A-Z]+$/;

export function formatLicenceIdentifier(p: Omit<LicenceIdentifierParts, 'check'>): string {
  for (const [k, v] of Object.entries(p)) {
    if (!PART.test(v)) throw new RangeError(`${k} must be 0-9A-Z, got ${JSON.stringify(v)}`);
  }
  if (!/^\d{3}$/.test(p.version)) throw new RangeError('version must be 3 digits');
  if (p.serial.length > 20) throw new RangeError('serial is at most 20 characters');
  const check = mod3736CheckChar(p.typeCode + p.issuerCode + p.serial + p.version);
  return `${LICENCE_OID_PREFIX}.${p.typeCode}.${p.issuerCode}.${p.serial}.${p.version}.${check}`;
}

/** Parses and checks an identifier; null when malformed or the check character is wrong. */
export function parseLicenceIdentifier(s: string): LicenceIdentifierParts | null {
  if (typeof s !== 'string' || s.length > 200 || !s.startsWith(LICENCE_OID_PREFIX + '.')) return null;
  const rest = s.slice(LICENCE_OID_PREFIX.length + 1).split('.');
  if (rest.length !== 5) return null;
  const [typeCode, issuerCode, serial, version, check] = rest;
  if (![typeCode, issuerCode, serial].every((x) => PART.test(x)) || !/^\d{3}$/.test(version) || !/^[0-9A-Z]$/.test(check)) return null;
  if (serial.length > 20) return null;
  if (mod3736CheckChar(typeCode + issuerCode + serial + version) !== check) return null;
  return { typeCode, issuerCode, serial, version, check };
}

export function isValidLicenceIdentifier(s: string): boolean {
  return parseLicenceIdentifier(s) !== null;
}

/** GB 11643-1999 resident identity number: 17 digits + ISO 7064 MOD 11-2 check (0-9 or X). */
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
export function residentIdCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('17 digits expected');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i];
  return '10X98765432'[sum % 11];
}

export type ResidentIdProblem = 'LENGTH' | 'CHARACTER' | 'BIRTH_DATE' | 'CHECK_DIGIT';
export function checkResidentId(code: string): ResidentIdProblem | null {
  if (typeof code !== 'string' || code.length !== 18) return 'LENGTH';
  if (!/^\d{17}[0-9X]$/.test(code)) return 'CHARACTER';
  const y = Number(code.slice(6, 10));
  const m = Number(code.slice(10, 12));
  const d = Number(code.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return 'BIRTH_DATE';
  if (residentIdCheckChar(code.slice(0, 17)) !== code[17]) return 'CHECK_DIGIT';
  return null;
}
