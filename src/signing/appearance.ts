import { ValidationError } from '../errors';
import { emptySealAppearance, sealAppearance, type SealText } from '../seals';

/**
 * The visible seal of a PAdES signature: PDF operators for a square form XObject of `size`
 * points — red ring, star, the agency's name on the arc and the seal's purpose beneath (see
 * src/seals/appearance.ts). Decoration never stops a signature: text the seal cannot show (too
 * long, forbidden characters) or no text at all gives ring and star only, and without a CJK font
 * the names are left out.
 */
export function sealAppearanceStream(size: number, text?: SealText): Buffer {
  if (text) {
    try {
      return sealAppearance(text).pdfStream(size);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e; // a bad size fails again below, as it should
    }
  }
  return emptySealAppearance().pdfStream(size);
}
