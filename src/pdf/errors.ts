/**
 * The PDF layer's errors. Every failure caused by the input file is a ParseError with one of a
 * few stable codes, so a caller (and the malformed-input tests) can rely on "a bad file only
 * ever gives a PDF_* parse error":
 *
 * - PDF_MALFORMED (400): the bytes are not a PDF this reader accepts (syntax, xref, structure).
 * - PDF_LIMIT_EXCEEDED (400): a bound was hit (size, objects, nesting, decompression ratio).
 * - PDF_ENCRYPTED (422): the file is encrypted (trailer /Encrypt); signing needs the plain file.
 * - PDF_UNSUPPORTED (422): a valid PDF using a feature this layer does not handle.
 *
 * Failures caused by the caller's options are ValidationErrors (PDF_SIGN_OPTIONS_INVALID,
 * PDF_SIGNATURE_TOO_LARGE, 422) or ConflictErrors (PDF_FIELD_CONFLICT: the field name is taken;
 * PDF_CHANGES_NOT_PERMITTED: a certification signature forbids any change), both 409.
 */
import { ConflictError, ParseError, ValidationError, type FieldError } from '../errors';

export const PDF_ERROR = {
  MALFORMED: 'PDF_MALFORMED',
  LIMIT_EXCEEDED: 'PDF_LIMIT_EXCEEDED',
  ENCRYPTED: 'PDF_ENCRYPTED',
  UNSUPPORTED: 'PDF_UNSUPPORTED',
  SIGN_OPTIONS_INVALID: 'PDF_SIGN_OPTIONS_INVALID',
  SIGNATURE_TOO_LARGE: 'PDF_SIGNATURE_TOO_LARGE',
  FIELD_CONFLICT: 'PDF_FIELD_CONFLICT',
  CHANGES_NOT_PERMITTED: 'PDF_CHANGES_NOT_PERMITTED',
} as const;

/** Thrown deep inside the reader; `at` is the byte offset where the problem was seen. */
export function malformed(message: string, at?: number, cause?: unknown): ParseError {
  return new ParseError(at === undefined ? message : `${message} (at byte ${at})`, PDF_ERROR.MALFORMED, {
    details: at === undefined ? undefined : { offset: at },
    cause,
  });
}

export function limitExceeded(what: string, limit: number): ParseError {
  return new ParseError(`The PDF exceeds a limit: ${what} (limit ${limit})`, PDF_ERROR.LIMIT_EXCEEDED, {
    details: { limit },
  });
}

export function encrypted(): ParseError {
  return new ParseError('The PDF is encrypted; remove the encryption before signing', PDF_ERROR.ENCRYPTED, { status: 422 });
}

export function unsupported(message: string): ParseError {
  return new ParseError(message, PDF_ERROR.UNSUPPORTED, { status: 422 });
}

export function invalidOption(pointer: string, detail: string): ValidationError {
  const errors: FieldError[] = [{ pointer, detail }];
  return new ValidationError(`Invalid PDF signing option ${pointer}: ${detail}`, errors, PDF_ERROR.SIGN_OPTIONS_INVALID);
}

export function fieldConflict(message: string): ConflictError {
  return new ConflictError(message, PDF_ERROR.FIELD_CONFLICT);
}

export function changesNotPermitted(message: string): ConflictError {
  return new ConflictError(message, PDF_ERROR.CHANGES_NOT_PERMITTED);
}

/** True for the errors a bad input file may produce (what the property tests allow). */
export function isPdfInputError(e: unknown): boolean {
  return (
    e instanceof ParseError &&
    (e.code === PDF_ERROR.MALFORMED || e.code === PDF_ERROR.LIMIT_EXCEEDED || e.code === PDF_ERROR.ENCRYPTED || e.code === PDF_ERROR.UNSUPPORTED)
  );
}
