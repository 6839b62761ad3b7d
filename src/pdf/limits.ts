/**
 * Bounds for reading untrusted PDFs (STANDARDS.md, verifier checklist item 7). Every loop and
 * recursion in the reader is bounded by one of these or by the input's length.
 */
export interface PdfLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Highest object number + 1 (cross-reference entries) accepted. ISO 32000-1 Annex C: 8 388 607. */
  maxObjects: number;
  /** Deepest nesting of arrays and dictionaries inside one object (and of page/field trees). */
  maxDepth: number;
  /** Largest decoded size of one stream. */
  maxStreamBytes: number;
  /** Largest decoded/encoded ratio for one stream once it is past `ratioFloorBytes`. */
  maxDecompressionRatio: number;
  /** Decoded size below which the ratio is not checked (small streams compress very well). */
  ratioFloorBytes: number;
  /** Total bytes decoded for one document (xref streams, object streams, DSS entries). */
  maxTotalDecodedBytes: number;
  /** Cross-reference sections followed through /Prev and /XRefStm. */
  maxXrefSections: number;
  /** Pages in the page tree. */
  maxPages: number;
  /** Fields visited in the AcroForm field tree. */
  maxFields: number;
}

export const DEFAULT_PDF_LIMITS: Readonly<PdfLimits> = Object.freeze({
  maxBytes: 512 * 1024 * 1024,
  maxObjects: 4_000_000,
  maxDepth: 64,
  maxStreamBytes: 64 * 1024 * 1024,
  maxDecompressionRatio: 200,
  ratioFloorBytes: 1024 * 1024,
  maxTotalDecodedBytes: 256 * 1024 * 1024,
  maxXrefSections: 4096,
  maxPages: 100_000,
  maxFields: 100_000,
});

export function resolveLimits(partial?: Partial<PdfLimits>): PdfLimits {
  return { ...DEFAULT_PDF_LIMITS, ...(partial ?? {}) };
}
