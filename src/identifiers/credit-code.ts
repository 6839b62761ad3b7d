/**
 * Unified social credit code (GB 32100-2015): 18 characters — registration authority (1),
 * category (1), region code (6 digits), organisation code (9), check character (1).
 * Alphabet without I, O, S, V, Z; value = index; weights 3^i mod 31; check =
 * alphabet[(31 − Σ mod 31) mod 31].
 */
export const CREDIT_CODE_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export type CreditCodeProblem = 'LENGTH' | 'CHARACTER' | 'REGION' | 'CHECK_DIGIT';

export function creditCodeCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_ALPHABET.indexOf(first17[i]);
    if (v < 0) throw new RangeError('character outside the GB 32100 alphabet');
    sum += v * WEIGHTS[i];
  }
  return CREDIT_CODE_ALPHABET[(31 - (sum % 31)) % 31];
}

/** Returns null when valid, else what is wrong. Upper case only: codes are printed that way. */
export function checkCreditCode(code: string): CreditCodeProblem | null {
  if (code.length !== 18) return 'LENGTH';
  for (const ch of code) if (!CREDIT_CODE_ALPHABET.includes(ch)) return 'CHARACTER';
  if (!/^\d{6}$/.test(code.slice(2, 8))) return 'REGION';
  return creditCodeCheckChar(code.slice(0, 17)) === code[17] ? null : 'CHECK_DIGIT';
}

export function isValidCreditCode(code: string): boolean {
  return checkCreditCode(code) === null;
}

/** Builds a valid code from its first 17 characters (tests, fixtures). */
export function withCreditCodeCheck(first17: string): string {
  return first17 + creditCodeCheckChar(first17);
}
