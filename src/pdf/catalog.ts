/**
 * Catalog edits shared by signing and DSS: the PAdES extension declaration and the version.
 *
 * ETSI EN 319 142-1 §5.1 (and ISO 32000-2 §12.8): PAdES structures (ETSI.* sub-filters, DSS,
 * document time-stamps) are PDF 2.0 features; a PDF 1.7 file using them declares the ESIC
 * developer extension (ISO 32000-1 §7.12) in the catalog. pyHanko does the same.
 */
import { PdfDict, name } from './objects';
import type { PdfDocument } from './reader';

/**
 * Returns a copy of the catalog with /Extensions /ESIC (BaseVersion 1.7, level 1) and /Version
 * at least 1.7, or undefined when nothing needs to change.
 */
export function withPadesDeclarations(doc: PdfDocument, catalog: PdfDict): PdfDict | undefined {
  const [major, minor] = doc.version();
  if (major >= 2) return undefined;
  let changed = false;
  const out = catalog.clone();
  if (major < 1 || (major === 1 && minor < 7)) {
    out.set('Version', name('1.7'));
    changed = true;
  }
  const ext = doc.resolveDict(catalog.get('Extensions'));
  const esic = doc.resolveDict(ext?.get('ESIC'));
  const level = esic?.get('ExtensionLevel');
  if (!(typeof level === 'number' && level >= 1)) {
    const newExt = ext ? ext.clone() : new PdfDict();
    newExt.set('ESIC', new PdfDict().set('BaseVersion', name('1.7')).set('ExtensionLevel', 1));
    out.set('Extensions', newExt);
    changed = true;
  }
  return changed ? out : undefined;
}
