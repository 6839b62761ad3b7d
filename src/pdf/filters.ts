/**
 * Stream decoding for what signing needs to read: cross-reference streams, object streams and
 * DSS entries. FlateDecode (§7.4.4) with the PNG and TIFF predictors (§7.4.4.4); other filters
 * are refused as PDF_UNSUPPORTED (the reader never decodes page content).
 *
 * Decompression is bounded three ways: per stream (`maxStreamBytes`), by ratio to the encoded
 * size once past a floor (`maxDecompressionRatio`), and per document (`maxTotalDecodedBytes`).
 * zlib stops at the bound (maxOutputLength), so a bomb costs at most the bound in memory.
 */
import { constants, inflateSync } from 'node:zlib';
import { limitExceeded, malformed, unsupported } from './errors';
import type { PdfLimits } from './limits';
import { PdfDict, PdfName, type PdfObject, type PdfStream } from './objects';

/** Tracks the document-wide decode budget. */
export class DecodeBudget {
  used = 0;
  constructor(readonly limits: PdfLimits) {}
}

function asArray(o: PdfObject | undefined): PdfObject[] {
  if (o === undefined || o === null) return [];
  return Array.isArray(o) ? o : [o];
}

export function decodeStream(stream: PdfStream, budget: DecodeBudget): Buffer {
  const filters = asArray(stream.dict.get('Filter'));
  const parms = asArray(stream.dict.get('DecodeParms'));
  if (filters.length > 4) throw unsupported('Too many stream filters');
  let data = stream.data;
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i];
    if (!(f instanceof PdfName)) throw malformed('Stream /Filter is not a name');
    const p = parms[i];
    const parm = p instanceof PdfDict ? p : undefined;
    switch (f.name) {
      case 'FlateDecode':
        data = unpredict(inflate(data, budget), parm);
        break;
      default:
        throw unsupported(`Stream filter /${f.name.slice(0, 40)} is not supported here`);
    }
  }
  if (filters.length === 0) charge(budget, data.length);
  return data;
}

function charge(budget: DecodeBudget, n: number): void {
  budget.used += n;
  if (budget.used > budget.limits.maxTotalDecodedBytes) throw limitExceeded('total decoded stream bytes', budget.limits.maxTotalDecodedBytes);
}

function inflate(data: Buffer, budget: DecodeBudget): Buffer {
  const l = budget.limits;
  const byRatio = Math.max(l.ratioFloorBytes, data.length * l.maxDecompressionRatio);
  const remaining = l.maxTotalDecodedBytes - budget.used;
  const allowed = Math.max(0, Math.min(l.maxStreamBytes, byRatio, remaining));
  let out: Buffer;
  try {
    // Z_SYNC_FLUSH: accept a stream whose final block or checksum is missing, as other readers do;
    // the decoded bytes are still checked structurally by the caller.
    out = inflateSync(data, { maxOutputLength: Math.max(1, allowed), finishFlush: constants.Z_SYNC_FLUSH });
  } catch (e) {
    if (e instanceof RangeError || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      if (allowed === remaining) throw limitExceeded('total decoded stream bytes', l.maxTotalDecodedBytes);
      if (allowed === byRatio) throw limitExceeded('decompression ratio', l.maxDecompressionRatio);
      throw limitExceeded('decoded stream size', l.maxStreamBytes);
    }
    throw malformed('FlateDecode data is corrupt');
  }
  charge(budget, out.length);
  return out;
}

function intParm(parm: PdfDict | undefined, key: string, dflt: number, min: number, max: number): number {
  const v = parm?.get(key);
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw malformed(`DecodeParms /${key} out of range`);
  return v;
}

/** Undoes a predictor (§7.4.4.4, Table 9). */
function unpredict(data: Buffer, parm: PdfDict | undefined): Buffer {
  const predictor = intParm(parm, 'Predictor', 1, 1, 15);
  if (predictor === 1) return data;
  const colors = intParm(parm, 'Colors', 1, 1, 32);
  const bpc = intParm(parm, 'BitsPerComponent', 8, 1, 16);
  if (![1, 2, 4, 8, 16].includes(bpc)) throw malformed('DecodeParms /BitsPerComponent invalid');
  const columns = intParm(parm, 'Columns', 1, 1, 1 << 24);
  const bpp = Math.max(1, Math.ceil((colors * bpc) / 8));
  const rowBytes = Math.ceil((colors * bpc * columns) / 8);
  if (predictor === 2) {
    if (bpc !== 8) throw unsupported('TIFF predictor with BitsPerComponent other than 8');
    const out = Buffer.from(data);
    for (let row = 0; row + rowBytes <= out.length; row += rowBytes) {
      for (let i = bpp; i < rowBytes; i++) out[row + i] = (out[row + i]! + out[row + i - bpp]!) & 0xff;
    }
    return out;
  }
  if (predictor < 10) throw malformed('Unknown predictor');
  // PNG predictors: each row is one filter-type byte + rowBytes bytes (RFC 2083 §6).
  const stride = rowBytes + 1;
  const rows = Math.floor(data.length / stride);
  const out = Buffer.alloc(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    const type = data[r * stride]!;
    const src = r * stride + 1;
    const dst = r * rowBytes;
    const prev = dst - rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const raw = data[src + i]!;
      const left = i >= bpp ? out[dst + i - bpp]! : 0;
      const up = r > 0 ? out[prev + i]! : 0;
      const upLeft = r > 0 && i >= bpp ? out[prev + i - bpp]! : 0;
      let v: number;
      switch (type) {
        case 0: v = raw; break;
        case 1: v = raw + left; break;
        case 2: v = raw + up; break;
        case 3: v = raw + ((left + up) >> 1); break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          v = raw + (pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft);
          break;
        }
        default:
          throw malformed('Unknown PNG predictor row type');
      }
      out[dst + i] = v & 0xff;
    }
  }
  return out;
}
