/**
 * The PDF layer for PAdES: a strict, bounded reader, signature placeholders written as
 * incremental updates, CMS embedding, and the DSS for B-LT. Pure functions over Buffers: no
 * HTTP, database, clock or randomness (the signing time and the CMS come from the caller).
 */
export {
  preparePdfSignature,
  embedSignature,
  signPdf,
  byteRangeBytes,
  byteRangeDigest,
  MAX_CONTENTS_SIZE,
  DEFAULT_CONTENTS_SIZE,
  type PdfSubFilter,
  type PrepareSignatureOptions,
  type SignPdfOptions,
  type PreparedSignature,
  type SignedPdf,
  type SignatureAppearance,
  type ByteRange,
} from './sign';
export { addDss, type DssInput } from './dss';
export {
  readPdf,
  PdfDocument,
  type PdfReadOptions,
  type PdfPage,
  type PdfRect,
  type PdfField,
  type PdfSignatureInfo,
  type PdfTrailer,
  type PdfRawDictionary,
} from './reader';
export { DEFAULT_PDF_LIMITS, type PdfLimits } from './limits';
export { PDF_ERROR, isPdfInputError } from './errors';
export {
  PdfDict,
  PdfName,
  PdfString,
  PdfRef,
  PdfStream,
  name,
  ref,
  textString,
  decodeTextString,
  pdfDate,
  type PdfObject,
} from './objects';
export { serialize, formatNumber } from './serialize';
export type { XrefKind, XrefEntry } from './xref';
