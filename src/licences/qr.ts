/**
 * The QR code printed on a licence (ISO/IEC 18004), as geometry: the library (npm `qrcode`)
 * chooses the version and mask and places the modules; this file turns its module matrix into
 * horizontal runs, which the renderer draws as filled rectangles — vector, so the code stays
 * sharp at any zoom or print resolution and costs a few hundred bytes of content stream.
 */
import { create } from 'qrcode';

/** A dark run on one row, in module units from the top-left of the symbol (quiet zone excluded). */
export interface QrRun {
  row: number;
  col: number;
  length: number;
}

export interface QrMatrix {
  /** Modules per side (21 for version 1, +4 per version). */
  size: number;
  version: number;
  runs: QrRun[];
}

/** Light modules required around the symbol (ISO/IEC 18004 §6.3.8). */
export const QR_QUIET_ZONE = 4;
/**
 * Longest text accepted. The URL is short in practice (origin + /v/ + a compact JWS); the bound
 * keeps the symbol at a version a phone camera reads from a printed A4 page.
 */
export const QR_MAX_TEXT = 1200;

/**
 * Level M (≈15 % recovery): a seal or a fold may cover part of a printed code, and M keeps the
 * symbol small enough for a ~110 pt square at ~0.8 pt per module for a typical URL.
 */
export function qrMatrix(text: string): QrMatrix {
  const qr = create(text, { errorCorrectionLevel: 'M' });
  const size = qr.modules.size;
  const runs: QrRun[] = [];
  for (let row = 0; row < size; row++) {
    let start = -1;
    for (let col = 0; col <= size; col++) {
      const dark = col < size && Boolean(qr.modules.get(row, col));
      if (dark && start < 0) start = col;
      if (!dark && start >= 0) {
        runs.push({ row, col: start, length: col - start });
        start = -1;
      }
    }
  }
  return { size, version: qr.version, runs };
}
