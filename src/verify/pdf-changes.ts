/**
 * What changed in a PDF after a signed revision (STANDARDS.md verifier checklist items 3–5):
 * each incremental update is compared with the revision before it as a resolved object graph,
 * never as bytes, and every difference is classified as allowed or not. The comparison is done
 * once per revision (pdf-signatures.ts); a signature's changes are those of the revisions after
 * its own.
 *
 * How (ISO 32000-1 §12.8.2.2 DocMDP; ISO 32000-2 §12.8.2.2.2; ETSI EN 319 142-1 §5.4; the
 * 2019–21 attacks: incremental saving, shadow hide / replace / hide-and-replace, evil
 * annotation, sneaky signature, certification abuse):
 *
 * 1. Each revision's graph is walked from the trailer's /Root and /Info, following every
 *    reference (object streams and cross-reference streams are the reader's business), and
 *    each object is tagged with the roles it is reached under: catalog, page tree, page
 *    content, page resources, annotation, appearance (of a widget or of another annotation),
 *    AcroForm, field, signature dictionary, DSS, Info, /Extensions, other. The walks share one
 *    budget (GraphBudget); past it the revision is `change-analysis-incomplete` (disallowed).
 * 2. Objects reachable in both revisions whose values differ are "changed"; objects reachable
 *    only in the newer one are "added". Values are compared structurally (references by number
 *    and generation, streams by dictionary and encoded bytes).
 * 3. Rules explain changes; whatever no rule explains is disallowed.
 *    Allowed, whatever the certification (PAdES: validation data may always be added):
 *      `dss-added`, `dss-updated` (objects reached only through the catalog's /DSS);
 *      `catalog-extensions-updated` (/Extensions, /Version);
 *      `document-timestamp-added` (a new /DocTimeStamp field; on a certified document only
 *      with an invisible widget: ISO 32000-2 §12.8.2.2.2 and PAdES let B-LTA proceed after any
 *      certification, which item 5 read literally would forbid for a new field);
 *      `info-updated` (/Info changes limited to /ModDate and /Producer).
 *    Allowed unless the policy forbids:
 *      `signature-added`: a new signature field (field, widget, signature dictionary,
 *      appearance) in /AcroForm /Fields and a page's /Annots, or an existing empty signature
 *      field signed. After a certification only existing empty fields may be signed (STANDARDS
 *      item 5; a new visible one is the "sneaky signature"), and nothing with /P 1;
 *      `signature-field-added` (an empty one): only on an uncertified document;
 *      `form-field-filled` (/V, /AS, /AP of existing fields and their widgets): unless /P 1;
 *      `annotation-added` / `-removed` / `-changed`, `annotations-reordered`: only under a
 *      certification with /P 3.
 *    Without a certification the policy is UNCERTIFIED_POLICY (/P 2, as pyHanko assumes):
 *    approval signatures do not forbid changes, but an annotation added after signing is
 *    content the signer never saw, so it is reported as disallowed.
 *    Always disallowed: `page-content-changed` (a page's /Contents or a content stream),
 *    `object-changed` (page tree, page resources, fonts, /Info, anything else reachable),
 *    `catalog-changed` (any other catalog or /AcroForm key, e.g. /OpenAction, /Names,
 *    /NeedAppearances, /Perms; a switched /Root), `form-field-added`, `form-field-removed`,
 *    `form-field-changed`, `signature-changed` (a signature dictionary, field or widget
 *    touched after signing), `annotation-changed` for a widget's appearance stream rewritten
 *    outside a form fill, `object-added` (a new object no rule explains),
 *    `unparseable-update` (an object the strict reader refuses), `dss-removed`.
 * 4. Any object that becomes reachable, or changes, while its cross-reference entry points at
 *    bytes that were already in the file is `xref-repointed` (shadow hide and hide-and-replace:
 *    the object was written, unused, before signing), as is an object whose entry is freed
 *    (an overlay hidden). Checked first, so no rule can explain it away.
 *
 * Widgets of a new signature field are reported with their field (allowed or not), not again
 * as annotations; new objects only a disallowed change refers to are part of that change.
 * Past MAX_CHANGES_PER_REVISION findings, disallowed ones are only counted.
 */
import { PdfDict, PdfName, PdfRef, PdfStream, PdfString, type PdfDocument, type PdfObject } from '../pdf';
import type { PdfAnalysis, PdfSignatureCandidate } from './pdf-signatures';
import type { DocumentChange } from './report';

/** Role bits (an object reached along several paths has several). */
export const ROLE = {
  CATALOG: 1 << 0,
  PAGE: 1 << 1,
  CONTENT: 1 << 2,
  PAGE_RES: 1 << 3,
  ANNOTS: 1 << 4,
  ANNOT: 1 << 5,
  AP_ANNOT: 1 << 6,
  AP_WIDGET: 1 << 7,
  ACROFORM: 1 << 8,
  FIELDS: 1 << 9,
  FIELD: 1 << 10,
  SIGDICT: 1 << 11,
  DSS: 1 << 12,
  INFO: 1 << 13,
  EXT: 1 << 14,
  OTHER: 1 << 15,
} as const;

/** A value the strict reader refused (a malformed object in an update). */
export class BrokenObject {
  constructor(readonly reason: string) {}
}

export interface GraphNode {
  ref: PdfRef;
  value: PdfObject | BrokenObject;
  roles: number;
  /** 1-based page the object was first reached from, where there is one. */
  page?: number;
}

/** One revision's reachable object graph. */
export interface RevisionSnapshot {
  /** 1-based revision number. */
  revision: number;
  doc: PdfDocument;
  /** Offset just past this revision's %%EOF (and EOL). */
  end: number;
  rootKey: string;
  infoKey?: string;
  nodes: Map<string, GraphNode>;
}

/** What the certification signature (if any) permits for changes made in a revision. */
export interface ChangePolicy {
  /** A certification signature closes an earlier revision. */
  certified: boolean;
  /** DocMDP /P in force: the certification's, or 2 (pyHanko's default) without one. */
  p: 1 | 2 | 3;
}

/**
 * The policy after approval signatures only: that of DocMDP /P 2 (pyHanko's default). Form
 * filling and signing stay allowed (a form field restyled to look like content and refilled
 * later, the shadow "replace via form", is reported as `form-field-filled`); annotations do not.
 */
export const UNCERTIFIED_POLICY: Readonly<ChangePolicy> = Object.freeze({ certified: false, p: 2 });

/** Bounds the total work of the graph walks over all revisions (checklist item 7). */
export class GraphBudget {
  constructor(public left: number) {}
}

export class GraphBudgetExceeded extends Error {
  constructor() {
    super('object graph comparison budget exhausted');
  }
}

const MAX_VALUE_DEPTH = 256;
/** Findings listed per revision before the rest are only counted (reports stay bounded). */
const MAX_CHANGES_PER_REVISION = 100;

// ---------------------------------------------------------------------------------------------
// Walking one revision

type Path = (string | number)[];

function nameIn(d: PdfObject | BrokenObject | undefined, key: string): string | undefined {
  if (d instanceof PdfStream) d = d.dict;
  return d instanceof PdfDict ? d.nameOf(key) : undefined;
}

/** The role of a reference found at `path` inside an object reached under `role` (0: do not follow). */
function childRole(role: number, path: Path, holder: PdfObject | BrokenObject): number {
  const k0 = path[0];
  switch (role) {
    case ROLE.CATALOG:
      if (k0 === 'Pages') return ROLE.PAGE;
      if (k0 === 'AcroForm') return path.length === 1 ? ROLE.ACROFORM : acroFormChild(path.slice(1));
      if (k0 === 'DSS') return ROLE.DSS;
      if (k0 === 'Perms') return ROLE.SIGDICT;
      if (k0 === 'Extensions') return ROLE.EXT;
      return ROLE.OTHER;
    case ROLE.ACROFORM:
      return acroFormChild(path);
    case ROLE.FIELDS:
      return ROLE.FIELD;
    case ROLE.PAGE:
      if (Array.isArray(holder)) return ROLE.PAGE; // an indirect /Kids array
      if (k0 === 'Parent') return 0;
      if (k0 === 'Kids') return ROLE.PAGE;
      if (k0 === 'Annots') return path.length === 1 ? ROLE.ANNOTS : ROLE.ANNOT;
      if (k0 === 'Contents') return ROLE.CONTENT;
      return ROLE.PAGE_RES;
    case ROLE.ANNOTS:
      return ROLE.ANNOT;
    case ROLE.ANNOT:
      if (k0 === 'P') return 0;
      if (k0 === 'Parent' || k0 === 'Kids') return ROLE.FIELD;
      if (k0 === 'AP') return nameIn(holder, 'Subtype') === 'Widget' ? ROLE.AP_WIDGET : ROLE.AP_ANNOT;
      if (k0 === 'V') return nameIn(holder, 'FT') === 'Sig' ? ROLE.SIGDICT : ROLE.FIELD;
      return ROLE.ANNOT;
    case ROLE.FIELD:
      if (k0 === 'P' || k0 === 'Parent') return 0;
      if (k0 === 'AP') return ROLE.AP_WIDGET;
      if (k0 === 'V') return nameIn(holder, 'FT') === 'Sig' ? ROLE.SIGDICT : ROLE.FIELD;
      return ROLE.FIELD;
    default:
      return role;
  }
}

function acroFormChild(path: Path): number {
  if (path[0] === 'Fields') return path.length === 1 ? ROLE.FIELDS : ROLE.FIELD;
  return ROLE.ACROFORM;
}

/** Calls `cb` for every reference inside `value` with the path of keys/indexes leading to it. */
function forEachRef(value: PdfObject | BrokenObject, cb: (ref: PdfRef, path: Path) => void): void {
  const rec = (o: PdfObject, path: Path, depth: number): void => {
    if (depth > MAX_VALUE_DEPTH) return;
    if (o instanceof PdfRef) cb(o, path);
    else if (Array.isArray(o)) o.forEach((v, i) => rec(v, [...path, i], depth + 1));
    else if (o instanceof PdfDict) for (const [k, v] of o.map) rec(v, [...path, k], depth + 1);
    else if (o instanceof PdfStream) rec(o.dict, path, depth + 1);
  };
  if (!(value instanceof BrokenObject)) rec(value, [], 0);
}

function fetch(doc: PdfDocument, ref: PdfRef): PdfObject | BrokenObject {
  try {
    return doc.getObject(ref);
  } catch (e) {
    return new BrokenObject(e instanceof Error ? e.message.slice(0, 200) : 'unreadable object');
  }
}

/**
 * An object's value parsed for the previous revision, when it is certainly the same here: the
 * same cross-reference entry (for a compressed object, the same object stream too), read
 * cleanly, and no indirect /Length whose object a later update could change (which would make
 * the same bytes parse differently).
 */
function reusable(prev: RevisionSnapshot | undefined, doc: PdfDocument, ref: PdfRef): PdfObject | BrokenObject | undefined {
  const old = prev?.nodes.get(ref.key);
  if (!prev || !old || old.value instanceof BrokenObject) return undefined;
  if (old.value instanceof PdfStream && old.value.dict.get('Length') instanceof PdfRef) return undefined;
  if (entryKey(prev.doc, ref.num) !== entryKey(doc, ref.num)) return undefined;
  const e = doc.xrefEntry(ref.num);
  if (e?.type === 2) {
    const stm = fetch(prev.doc, new PdfRef(e.a, doc.xrefEntry(e.a)?.b ?? 0));
    if (!(stm instanceof PdfStream) || stm.dict.get('Length') instanceof PdfRef) return undefined;
  }
  return old.value;
}

/**
 * Page numbers by page object (§7.7.3: leaves of the page tree in order), for reports only: a
 * tree the reader would refuse (cycles, shared nodes) numbers what it can.
 */
function numberPages(doc: PdfDocument, get: (ref: PdfRef) => PdfObject | BrokenObject, budget: GraphBudget): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Set<string>();
  const root = asDict(get(doc.trailer.root))?.get('Pages');
  const walk = (ref: PdfObject | undefined, depth: number): void => {
    if (!(ref instanceof PdfRef) || seen.has(ref.key) || depth > doc.limits.maxDepth || out.size >= doc.limits.maxPages) return;
    seen.add(ref.key);
    if (--budget.left < 0) throw new GraphBudgetExceeded();
    const d = asDict(get(ref));
    if (!d) return;
    const kids = d.get('Kids');
    const list = kids instanceof PdfRef ? get(kids) : kids;
    if (d.nameOf('Type') === 'Pages' || (d.nameOf('Type') === undefined && list !== undefined)) {
      if (Array.isArray(list)) for (const k of list) walk(k, depth + 1);
    } else {
      out.set(ref.key, out.size + 1);
    }
  };
  walk(root, 0);
  return out;
}

/**
 * Walks one revision's object graph from the trailer (see the module comment). `prev`, the
 * snapshot of the revision before, lets unchanged objects be taken over without parsing them
 * again.
 */
export function snapshotRevision(doc: PdfDocument, revision: number, end: number, budget: GraphBudget, prev?: RevisionSnapshot): RevisionSnapshot {
  const nodes = new Map<string, GraphNode>();
  const values = new Map<string, PdfObject | BrokenObject>();
  const get = (ref: PdfRef): PdfObject | BrokenObject => {
    let v = values.get(ref.key);
    if (v === undefined) {
      v = reusable(prev, doc, ref) ?? fetch(doc, ref);
      values.set(ref.key, v);
    }
    return v;
  };
  const pageNumbers = numberPages(doc, get, budget);
  const stack: [PdfRef, number, number | undefined][] = [[doc.trailer.root, ROLE.CATALOG, undefined]];
  if (doc.trailer.info) stack.push([doc.trailer.info, ROLE.INFO, undefined]);
  while (stack.length > 0) {
    const [ref, role, page] = stack.pop()!;
    let node = nodes.get(ref.key);
    if (node && (node.roles & role) !== 0) continue;
    if (--budget.left < 0) throw new GraphBudgetExceeded();
    if (!node) {
      node = { ref, value: get(ref), roles: 0, page };
      nodes.set(ref.key, node);
    }
    node.roles |= role;
    const own = role === ROLE.PAGE ? pageNumbers.get(ref.key) : undefined;
    node.page ??= own ?? page;
    const here = own ?? page;
    const value = node.value;
    forEachRef(value, (child, path) => {
      const r = childRole(role, path, value);
      if (r !== 0) stack.push([child, r, here]);
    });
  }
  return { revision, doc, end, rootKey: doc.trailer.root.key, infoKey: doc.trailer.info?.key, nodes };
}

// ---------------------------------------------------------------------------------------------
// Comparing values

/** Structural equality: references by number and generation, streams by dictionary and encoded bytes. */
export function sameValue(a: PdfObject | BrokenObject | undefined, b: PdfObject | BrokenObject | undefined, depth = 0): boolean {
  if (a === b) return true;
  if (depth > MAX_VALUE_DEPTH) return false;
  if (a instanceof BrokenObject || b instanceof BrokenObject) return a instanceof BrokenObject && b instanceof BrokenObject;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (a instanceof PdfName) return b instanceof PdfName && a.name === b.name;
  if (a instanceof PdfString) return b instanceof PdfString && a.bytes.equals(b.bytes);
  if (a instanceof PdfRef) return b instanceof PdfRef && a.num === b.num && a.gen === b.gen;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i], depth + 1));
  if (a instanceof PdfDict) {
    if (!(b instanceof PdfDict) || a.map.size !== b.map.size) return false;
    for (const [k, v] of a.map) if (!b.map.has(k) || !sameValue(v, b.map.get(k), depth + 1)) return false;
    return true;
  }
  if (a instanceof PdfStream) return b instanceof PdfStream && a.data.equals(b.data) && sameValue(a.dict, b.dict, depth + 1);
  return false;
}

function asDict(v: PdfObject | BrokenObject | undefined): PdfDict | undefined {
  if (v instanceof PdfStream) return v.dict;
  return v instanceof PdfDict ? v : undefined;
}

/** Keys whose values differ between two dictionaries. */
function differingKeys(a: PdfDict | undefined, b: PdfDict | undefined): string[] {
  const keys = new Set([...(a?.map.keys() ?? []), ...(b?.map.keys() ?? [])]);
  return [...keys].filter((k) => !sameValue(a?.get(k), b?.get(k)));
}

/** A name for a report: only safe characters, bounded (names come from the file). */
function safeName(n: string): string {
  const s = n.replace(/[^A-Za-z0-9._-]/g, '?').slice(0, 40);
  return n.length > 40 ? `${s}…` : s;
}

function keyList(keys: string[]): string {
  const shown = keys.slice(0, 8).map((k) => `/${safeName(k)}`);
  return shown.join(', ') + (keys.length > 8 ? ` and ${keys.length - 8} more` : '');
}

const refString = (key: string): string => `${key} R`;

/** Where an object's bytes are: its offset, or its object stream's offset; undefined when free or absent. */
function location(doc: PdfDocument, num: number): number | undefined {
  const e = doc.xrefEntry(num);
  if (!e || e.type === 0) return undefined;
  if (e.type === 1) return e.a;
  const s = doc.xrefEntry(e.a);
  return s && s.type === 1 ? s.a : undefined;
}

function entryKey(doc: PdfDocument, num: number, nested = false): string {
  const e = doc.xrefEntry(num);
  if (!e || e.type === 0) return 'free';
  if (e.type === 1 || nested) return `${e.type}:${e.a}:${e.b}`;
  // A compressed object moves when its object stream does.
  return `2:${e.a}:${e.b}:${entryKey(doc, e.a, true)}`;
}

// ---------------------------------------------------------------------------------------------
// Classifying one update

/** A widget is invisible when its /Rect has no area or its flags hide it (§12.5.3: Hidden 2, NoView 32). */
function isInvisibleWidget(doc: PdfDocument, w: PdfDict): boolean {
  const f = safeResolve(doc, w.get('F'));
  if (typeof f === 'number' && Number.isInteger(f) && (f & (2 | 32)) !== 0) return true;
  const r = safeResolve(doc, w.get('Rect'));
  if (!Array.isArray(r) || r.length !== 4) return true; // no rectangle: nothing is drawn
  const n = r.map((x) => safeResolve(doc, x));
  if (!n.every((x): x is number => typeof x === 'number')) return true;
  return Math.abs(n[2]! - n[0]!) === 0 || Math.abs(n[3]! - n[1]!) === 0;
}

function safeResolve(doc: PdfDocument, o: PdfObject | undefined): PdfObject | undefined {
  try {
    return doc.resolve(o);
  } catch {
    return undefined;
  }
}

/** Field type, following /Parent (§12.7.3.1: /FT is inheritable). */
function fieldType(doc: PdfDocument, d: PdfDict): string | undefined {
  let cur: PdfDict | undefined = d;
  for (let i = 0; cur && i < 32; i++) {
    const ft = cur.nameOf('FT');
    if (ft) return ft;
    cur = asDict(safeResolve(doc, cur.get('Parent')));
  }
  return undefined;
}

/** Classifies everything revision `next` changed relative to `prev` (consecutive revisions). */
export function classifyRevision(prev: RevisionSnapshot, next: RevisionSnapshot, policy: ChangePolicy): DocumentChange[] {
  return new RevisionClassifier(prev, next, policy).run();
}

class RevisionClassifier {
  private readonly changes: DocumentChange[] = [];
  private readonly changed = new Set<string>();
  private readonly added = new Set<string>();
  private readonly handled = new Set<string>();
  /** Widgets of new or newly signed signature fields: reported with their field, not as annotations. */
  private readonly signatureWidgets = new Set<string>();
  private readonly pagesDone = new Set<number>();
  private suppressed = 0;

  constructor(
    private readonly prev: RevisionSnapshot,
    private readonly next: RevisionSnapshot,
    private readonly policy: ChangePolicy,
  ) {
    for (const [k, n] of prev.nodes) {
      const m = next.nodes.get(k);
      if (m && !sameValue(n.value, m.value)) this.changed.add(k);
    }
    for (const k of next.nodes.keys()) if (!prev.nodes.has(k)) this.added.add(k);
  }

  private get touched(): string[] {
    return [...this.changed, ...this.added].filter((k) => !this.handled.has(k));
  }

  private report(kind: string, allowed: boolean, description: string, key?: string, page?: number): void {
    // The list is attacker-sized: past a bound, disallowed findings are only counted.
    if (this.changes.length >= MAX_CHANGES_PER_REVISION && !allowed) {
      this.suppressed++;
      return;
    }
    const c: DocumentChange = { revision: this.next.revision, kind, allowed, description };
    if (key !== undefined) c.object = refString(key);
    if (page !== undefined) c.page = page;
    this.changes.push(c);
  }

  private valueB(key: string): PdfObject | BrokenObject | undefined {
    return this.next.nodes.get(key)?.value;
  }

  private valueA(key: string): PdfObject | BrokenObject | undefined {
    return this.prev.nodes.get(key)?.value;
  }

  private resolveB(o: PdfObject | undefined): PdfObject | BrokenObject | undefined {
    return o instanceof PdfRef ? this.next.nodes.get(o.key)?.value ?? safeResolve(this.next.doc, o) : o;
  }

  private resolveA(o: PdfObject | undefined): PdfObject | BrokenObject | undefined {
    return o instanceof PdfRef ? this.prev.nodes.get(o.key)?.value ?? safeResolve(this.prev.doc, o) : o;
  }

  /** Marks the new objects reachable from `value` (through new objects only) as explained. */
  private claimNew(value: PdfObject | BrokenObject | undefined): void {
    const stack: (PdfObject | BrokenObject | undefined)[] = [value];
    while (stack.length > 0) {
      const v = stack.pop();
      if (v === undefined) continue;
      forEachRef(v, (r) => {
        if (this.added.has(r.key) && !this.handled.has(r.key)) {
          this.handled.add(r.key);
          stack.push(this.valueB(r.key));
        }
      });
    }
  }

  private claimKey(key: string): void {
    if (this.handled.has(key)) return;
    this.handled.add(key);
    if (this.added.has(key)) this.claimNew(this.valueB(key));
  }

  run(): DocumentChange[] {
    this.brokenObjects();
    this.repointed();
    this.catalog();
    this.dss();
    this.acroForm();
    this.pages();
    this.fields();
    this.annotations();
    this.info();
    this.rest();
    if (this.suppressed > 0) {
      this.changes.push({ revision: this.next.revision, kind: 'object-changed', allowed: false, description: `${this.suppressed} further disallowed changes in this revision are not listed` });
    }
    return this.changes;
  }

  /** Objects of the update the strict reader refuses: never ignored. */
  private brokenObjects(): void {
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      if (this.valueB(k) instanceof BrokenObject) {
        this.handled.add(k);
        this.report('unparseable-update', false, 'An object of this update cannot be read by the strict reader', k);
      }
    }
  }

  /** Shadow hide / hide-and-replace: an entry re-pointed at bytes already in the file, or freed. */
  private repointed(): void {
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      const num = this.next.nodes.get(k)!.ref.num;
      const entryChanged = entryKey(this.prev.doc, num) !== entryKey(this.next.doc, num);
      const loc = location(this.next.doc, num);
      const node = this.next.nodes.get(k)!;
      const page = this.prev.nodes.get(k)?.page ?? node.page;
      if (loc === undefined && entryChanged && this.changed.has(k)) {
        this.handled.add(k);
        this.report('xref-repointed', false, 'An object in use at the previous revision was freed (its cross-reference entry no longer points at it)', k, page);
      } else if (loc !== undefined && loc < this.prev.end && (entryChanged || this.added.has(k))) {
        this.handled.add(k);
        this.claimNew(node.value);
        this.report(
          'xref-repointed',
          false,
          this.added.has(k)
            ? 'An object already in the file but unused at the previous revision is now used (shadow attack)'
            : 'A cross-reference entry was re-pointed at an older object in the file (shadow attack)',
          k,
          page,
        );
      }
    }
  }

  private catalog(): void {
    const { prev, next } = this;
    if (prev.rootKey !== next.rootKey) {
      // A switched catalog is one finding; its keys are not compared one by one.
      this.handled.add(next.rootKey);
      this.report('catalog-changed', false, 'The trailer /Root names a different catalog object', next.rootKey);
      return;
    }
    if (!this.changed.has(next.rootKey) && !this.added.has(next.rootKey)) return;
    this.handled.add(next.rootKey);
    const a = asDict(this.valueA(prev.rootKey));
    const b = asDict(this.valueB(next.rootKey));
    if (!b) {
      this.report('catalog-changed', false, 'The catalog is not a dictionary', next.rootKey);
      return;
    }
    const bad: string[] = [];
    let ext = false;
    for (const k of differingKeys(a, b)) {
      if (k === 'DSS' || k === 'AcroForm') continue; // their own rules
      if (k === 'Extensions' || k === 'Version') ext = true;
      else bad.push(k);
    }
    if (bad.length > 0) this.report('catalog-changed', false, `The catalog changed: ${keyList(bad)}`, next.rootKey);
    if (ext) {
      this.claimNew(b.get('Extensions'));
      this.report('catalog-extensions-updated', true, 'The catalog /Extensions or /Version was updated (PAdES declarations)', next.rootKey);
    }
    // An indirect /Extensions dictionary rewritten in place.
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      if (this.roles(k, 'next') === ROLE.EXT && (this.roles(k, 'prev') & ~ROLE.EXT) === 0) {
        this.claimKey(k);
        if (!ext) this.report('catalog-extensions-updated', true, 'The catalog /Extensions were updated (PAdES declarations)', k);
        ext = true;
      }
    }
  }

  private roles(key: string, which: 'prev' | 'next'): number {
    return (which === 'prev' ? this.prev : this.next).nodes.get(key)?.roles ?? 0;
  }

  /** ETSI EN 319 142-1 §5.4.2: validation data may be added after any signature, even /P 1 certification. */
  private dss(): void {
    const a = asDict(this.valueA(this.prev.rootKey));
    const b = asDict(this.valueB(this.next.rootKey));
    const entryChanged = !sameValue(a?.get('DSS'), b?.get('DSS'));
    let touched = false;
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      if (this.roles(k, 'next') === ROLE.DSS && (this.roles(k, 'prev') & ~ROLE.DSS) === 0) {
        this.handled.add(k);
        touched = true;
      }
    }
    if (!entryChanged && !touched) return;
    const dssRef = b?.get('DSS');
    if (b && !b.has('DSS')) {
      this.report('dss-removed', false, 'The document security store (/DSS) was removed', this.next.rootKey);
      return;
    }
    const key = dssRef instanceof PdfRef ? dssRef.key : undefined;
    if (a?.has('DSS')) this.report('dss-updated', true, 'Validation data was added to the document security store (/DSS)', key);
    else this.report('dss-added', true, 'A document security store (/DSS) with validation data was added', key);
  }

  private acroForm(): void {
    const catA = asDict(this.valueA(this.prev.rootKey));
    const catB = asDict(this.valueB(this.next.rootKey));
    const formEntryB = catB?.get('AcroForm');
    const formA = asDict(this.resolveA(catA?.get('AcroForm')));
    const formB = asDict(this.resolveB(formEntryB));
    const formKeyB = formEntryB instanceof PdfRef ? formEntryB.key : undefined;
    const fa = this.resolveA(formA?.get('Fields'));
    const fb = this.resolveB(formB?.get('Fields'));
    if (sameValue(formA, formB) && sameValue(fa, fb)) return;
    if (formKeyB) this.handled.add(formKeyB);
    if (!formB) {
      this.report('catalog-changed', false, 'The interactive form (/AcroForm) was removed', this.next.rootKey);
      return;
    }
    const bad = differingKeys(formA, formB).filter((k) => k !== 'Fields' && k !== 'SigFlags');
    if (bad.length > 0) this.report('catalog-changed', false, `The interactive form (/AcroForm) changed: ${keyList(bad)}`, formKeyB ?? this.next.rootKey);
    const fieldsEntry = formB.get('Fields');
    if (fieldsEntry instanceof PdfRef) this.handled.add(fieldsEntry.key);
    const oldFields = Array.isArray(fa) ? fa : [];
    const newFields = Array.isArray(fb) ? fb : [];
    const has = (list: PdfObject[], f: PdfObject) => list.some((x) => sameValue(x, f));
    for (const f of oldFields) {
      if (!has(newFields, f)) this.report('form-field-removed', false, 'A form field was removed from /AcroForm /Fields', f instanceof PdfRef ? f.key : undefined);
    }
    for (const f of newFields) if (!has(oldFields, f)) this.newField(f);
  }

  /** A field that joined /AcroForm /Fields in this update. */
  private newField(f: PdfObject): void {
    if (!(f instanceof PdfRef)) {
      this.report('form-field-added', false, 'A form field that is not an indirect object was added');
      return;
    }
    const d = asDict(this.valueB(f.key));
    const page = this.next.nodes.get(f.key)?.page;
    if (!d || !this.added.has(f.key)) {
      this.claimKey(f.key);
      this.report('form-field-added', false, 'An existing object was added to /AcroForm /Fields', f.key, page);
      return;
    }
    this.handled.add(f.key);
    this.claimNew(d);
    if (d.nameOf('FT') !== 'Sig') {
      this.report('form-field-added', false, `A form field (/FT /${safeName(d.nameOf('FT') ?? 'none')}) was added after signing`, f.key, page);
      return;
    }
    // §12.7.3.1: the widget is the field itself (merged) or its kids.
    const widgets: PdfDict[] = [];
    const widgetKeys: string[] = [];
    if (d.nameOf('Subtype') === 'Widget') {
      widgets.push(d);
      widgetKeys.push(f.key);
    } else {
      const kids = this.resolveB(d.get('Kids'));
      for (const k of Array.isArray(kids) ? kids : []) {
        const w = k instanceof PdfRef ? asDict(this.valueB(k.key)) : undefined;
        if (!(k instanceof PdfRef) || !w || w.nameOf('Subtype') !== 'Widget' || w.has('T') || !this.added.has(k.key)) {
          this.report('form-field-added', false, 'A new signature field has a kid that is not a new widget annotation', f.key, page);
          return;
        }
        widgets.push(w);
        widgetKeys.push(k.key);
      }
    }
    const visible = widgets.some((w) => !isInvisibleWidget(this.next.doc, w));
    const v = d.get('V');
    if (v instanceof PdfRef && !this.added.has(v.key)) {
      // Two fields claiming one signature (a sneaky-signature variant): never a new signature.
      for (const k of widgetKeys) this.signatureWidgets.add(k);
      this.report('signature-changed', false, 'A new signature field points at a signature dictionary that already existed', v.key, page);
      return;
    }
    const sig = asDict(this.resolveB(v));
    const sigKey = v instanceof PdfRef ? v.key : f.key;
    const { certified, p } = this.policy;
    let kind: string;
    let allowed: boolean;
    let why = '';
    if (v === undefined) {
      kind = 'signature-field-added';
      allowed = !certified;
      if (!allowed) why = ': a certified document allows no new fields';
    } else if (sig?.nameOf('Type') === 'DocTimeStamp') {
      kind = 'document-timestamp-added';
      allowed = !certified || !visible;
      if (!allowed) why = ': a visible widget on a certified document (sneaky signature)';
    } else {
      // STANDARDS item 5: after a certification, signatures go in fields that already existed.
      kind = 'signature-added';
      allowed = !certified;
      if (!allowed) {
        why = p === 1
          ? ': the certification (DocMDP /P 1) allows no signatures'
          : visible
            ? ': a new visible signature field on a certified document (sneaky signature)'
            : ': a certified document allows signatures only in fields that existed when it was certified';
      }
    }
    // Its widgets are accounted for by this report, allowed or not.
    for (const k of widgetKeys) this.signatureWidgets.add(k);
    const label = kind === 'signature-field-added' ? 'An empty signature field was added' : kind === 'document-timestamp-added' ? 'A document time-stamp was added' : 'A signature was added';
    this.report(kind, allowed, `${label} in a new field${why}`, sigKey, page);
  }

  /** Page tree nodes and page /Annots arrays. */
  private pages(): void {
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      const rolesA = this.roles(k, 'prev');
      if (!this.changed.has(k)) continue;
      const page = this.prev.nodes.get(k)!.page;
      if (rolesA & ROLE.PAGE) {
        this.handled.add(k);
        const a = asDict(this.valueA(k));
        const b = asDict(this.valueB(k));
        if (!a || !b) {
          this.claimNew(this.valueB(k));
          this.report('object-changed', false, 'The page tree changed', k, page);
          continue;
        }
        const keys = differingKeys(a, b);
        const other = keys.filter((x) => x !== 'Annots' && x !== 'Contents');
        if (keys.includes('Contents')) this.report('page-content-changed', false, "The page's /Contents changed", k, page);
        if (other.length > 0) {
          const tree = a?.nameOf('Type') === 'Pages' || a?.has('Kids');
          this.report('object-changed', false, tree ? `The page tree changed: ${keyList(other)}` : `The page changed: ${keyList(other)}`, k, page);
        }
        if (keys.includes('Annots') && page !== undefined) this.annots(page, this.resolveA(a?.get('Annots')), this.resolveB(b?.get('Annots')), k);
        // New objects only this page refers to (e.g. a replacement content stream) are part of its change.
        if (keys.some((x) => x !== 'Annots')) for (const x of keys) if (x !== 'Annots') this.claimNew(b?.get(x));
      } else if (rolesA & ROLE.ANNOTS && page !== undefined) {
        this.handled.add(k);
        this.annots(page, this.valueA(k), this.valueB(k), k);
      }
    }
  }

  /** A page's /Annots: new entries must be new signature widgets, unless /P 3 allows annotations. */
  private annots(page: number, before: PdfObject | BrokenObject | undefined, after: PdfObject | BrokenObject | undefined, key: string): void {
    if (this.pagesDone.has(page)) return;
    this.pagesDone.add(page);
    const oldList = Array.isArray(before) ? before : [];
    const newList = Array.isArray(after) ? after : [];
    const annotsAllowed = this.policy.certified && this.policy.p === 3;
    const kept = oldList.filter((o) => newList.some((n) => sameValue(o, n)));
    const keptInNew = newList.filter((n) => oldList.some((o) => sameValue(o, n)));
    if (!kept.every((o, i) => sameValue(o, keptInNew[i]))) {
      this.report('annotations-reordered', annotsAllowed, "The order of the page's annotations changed", key, page);
    }
    for (const o of oldList) {
      if (!newList.some((n) => sameValue(o, n))) {
        this.report('annotation-removed', annotsAllowed, 'An annotation was removed', o instanceof PdfRef ? o.key : key, page);
      }
    }
    for (const n of newList) {
      if (oldList.some((o) => sameValue(o, n))) continue;
      if (n instanceof PdfRef && this.signatureWidgets.has(n.key)) continue;
      const d = asDict(n instanceof PdfRef ? this.valueB(n.key) : n);
      if (n instanceof PdfRef) this.claimKey(n.key);
      else this.claimNew(n);
      const subtype = safeName(d?.nameOf('Subtype') ?? 'unknown');
      const why = annotsAllowed ? '' : this.policy.certified ? ' (the certification does not allow annotations)' : ' (content the signer did not see)';
      this.report('annotation-added', annotsAllowed, `A /${subtype} annotation was added${why}`, n instanceof PdfRef ? n.key : key, page);
    }
  }

  /** Existing fields and their widgets: signing an empty signature field, or filling a form. */
  private fields(): void {
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      const rolesA = this.roles(k, 'prev');
      if (!this.changed.has(k) || !(rolesA & ROLE.FIELD)) continue;
      this.handled.add(k);
      const page = this.prev.nodes.get(k)!.page;
      const a = asDict(this.valueA(k));
      const b = asDict(this.valueB(k));
      if (!a || !b) {
        this.report('form-field-changed', false, 'A form field changed', k, page);
        continue;
      }
      const keys = differingKeys(a, b);
      const ft = fieldType(this.prev.doc, a);
      if (ft === 'Sig' && (a.has('T') || a.nameOf('Subtype') !== 'Widget')) {
        const signing = !a.has('V') && b.has('V');
        if (signing && keys.every((x) => x === 'V' || x === 'AP')) {
          const v = b.get('V');
          const sig = asDict(this.resolveB(v));
          const ts = sig?.nameOf('Type') === 'DocTimeStamp';
          const allowed = ts || this.policy.p !== 1;
          if (v instanceof PdfRef && !this.added.has(v.key)) {
            this.report('signature-changed', false, 'An empty signature field now points at an object that already existed', k, page);
            continue;
          }
          this.claimNew(b.get('V'));
          this.claimAppearance(b.get('AP'));
          this.signatureWidgets.add(k);
          this.report(
            ts ? 'document-timestamp-added' : 'signature-added',
            allowed,
            `${ts ? 'A document time-stamp' : 'A signature'} was added in an existing empty signature field${allowed ? '' : ' (the certification allows no changes)'}`,
            v instanceof PdfRef ? v.key : k,
            page,
          );
        } else {
          this.report('signature-changed', false, `A signature field changed: ${keyList(keys)}`, k, page);
        }
        continue;
      }
      const isWidgetOnly = !a.has('T') && a.nameOf('Subtype') === 'Widget';
      if (ft === 'Sig' && isWidgetOnly) {
        // The separate widget of a signature field: its appearance may change when the field is signed.
        const parent = a.get('Parent');
        const pa = parent instanceof PdfRef ? asDict(this.valueA(parent.key)) : undefined;
        const pb = parent instanceof PdfRef ? asDict(this.valueB(parent.key)) : undefined;
        if (keys.every((x) => x === 'AP' || x === 'AS') && pa && pb && !pa.has('V') && pb.has('V') && sameValue(a.get('Parent'), b.get('Parent'))) {
          this.claimAppearance(b.get('AP'));
          this.signatureWidgets.add(k);
        } else {
          this.report('signature-changed', false, `A signature widget changed: ${keyList(keys)}`, k, page);
        }
        continue;
      }
      const fill = isWidgetOnly ? ['AS', 'AP'] : ['V', 'AS', 'AP'];
      if (keys.every((x) => fill.includes(x))) {
        const allowed = this.policy.p !== 1;
        this.claimNew(b.get('V'));
        this.claimAppearance(b.get('AP'));
        this.report('form-field-filled', allowed, `A form field was filled in${allowed ? '' : ' (the certification, DocMDP /P 1, allows no changes)'}`, k, page);
      } else {
        this.report('form-field-changed', false, `A form field changed: ${keyList(keys)}`, k, page);
      }
    }
  }

  /** The appearance of a field being filled or signed: new streams, and widget-only streams rewritten in place. */
  private claimAppearance(ap: PdfObject | BrokenObject | undefined, depth = 0): void {
    if (ap === undefined || depth > 64) return;
    this.claimNew(ap);
    forEachRef(ap, (r) => {
      if (this.changed.has(r.key) && !this.handled.has(r.key) && (this.roles(r.key, 'prev') & ~ROLE.AP_WIDGET) === 0 && (this.roles(r.key, 'next') & ~ROLE.AP_WIDGET) === 0) {
        this.handled.add(r.key);
        this.claimAppearance(this.valueB(r.key), depth + 1);
      }
    });
  }

  /** Existing annotations (not fields) and their appearances: only /P 3 allows changing them. */
  private annotations(): void {
    const allowed = this.policy.certified && this.policy.p === 3;
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      const ra = this.roles(k, 'prev');
      if (!this.changed.has(k) || !(ra & (ROLE.ANNOT | ROLE.AP_ANNOT | ROLE.AP_WIDGET))) continue;
      if (ra & ~(ROLE.ANNOT | ROLE.AP_ANNOT | ROLE.AP_WIDGET)) continue; // also used elsewhere: the generic rule
      this.handled.add(k);
      this.claimNew(this.valueB(k));
      const page = this.prev.nodes.get(k)!.page;
      if (ra & ROLE.AP_WIDGET) this.report('annotation-changed', false, 'The appearance of a form field or signature widget changed', k, page);
      else this.report('annotation-changed', allowed, `An annotation changed${allowed ? '' : ' (not covered by the signature)'}`, k, page);
    }
  }

  /** The document information dictionary: /ModDate and /Producer updates are routine on save. */
  private info(): void {
    const a = asDict(this.prev.infoKey ? this.valueA(this.prev.infoKey) : undefined);
    const b = asDict(this.next.infoKey ? this.valueB(this.next.infoKey) : undefined);
    const infoTouched = this.touched.filter((k) => this.roles(k, 'next') === ROLE.INFO && (this.roles(k, 'prev') & ~ROLE.INFO) === 0);
    if (sameValue(a, b) && infoTouched.length === 0) return;
    for (const k of infoTouched) this.claimKey(k);
    const keys = differingKeys(a, b);
    const routine = keys.every((k) => k === 'ModDate' || k === 'Producer') && infoTouched.every((k) => k === this.next.infoKey);
    if (routine) this.report('info-updated', true, `The document information dictionary was updated: ${keyList(keys)}`, this.next.infoKey);
    else this.report('object-changed', false, `The document information dictionary changed: ${keyList(keys)}`, this.next.infoKey);
  }

  /** Whatever no rule explained: disallowed. */
  private rest(): void {
    const left = this.touched;
    for (const k of left) {
      if (this.handled.has(k) || !this.changed.has(k)) continue;
      this.handled.add(k);
      const ra = this.roles(k, 'prev');
      const page = this.prev.nodes.get(k)!.page;
      this.claimNew(this.valueB(k));
      if (ra & ROLE.CONTENT) this.report('page-content-changed', false, 'A page content stream changed (shadow "replace")', k, page);
      else if (ra & ROLE.CATALOG) this.report('catalog-changed', false, 'The catalog changed', k);
      else if (ra & ROLE.SIGDICT) this.report('signature-changed', false, 'A signature dictionary changed', k);
      else if (ra & ROLE.PAGE_RES) this.report('object-changed', false, 'A page resource (font, image, form XObject…) changed', k, page);
      else if (ra & (ROLE.ACROFORM | ROLE.FIELDS)) this.report('catalog-changed', false, 'The interactive form (/AcroForm) changed', k);
      else if (ra & (ROLE.FIELD | ROLE.ANNOT | ROLE.AP_ANNOT | ROLE.AP_WIDGET)) this.report('object-changed', false, 'An object used by a form field or annotation changed', k, page);
      else this.report('object-changed', false, 'An object of the document changed', k, page);
    }
    for (const k of this.touched) {
      if (this.handled.has(k)) continue; // claimed while this loop ran
      if (this.handled.has(k)) continue;
      this.handled.add(k);
      this.claimNew(this.valueB(k));
      this.report('object-added', false, 'An object was added that no allowed change explains', k, this.next.nodes.get(k)?.page);
    }
  }
}

/**
 * The changes after a signature's revision: those of every later revision, then the bytes
 * after the last one. The analysis has already compared the revisions (once for all
 * signatures); `bytes` is the analysed file, kept in the signature for callers' symmetry. Empty when the coverage is PARTIAL (there is no signed revision to
 * compare from; the coverage check fails instead).
 */
export function classifyChanges(_bytes: Buffer, analysis: PdfAnalysis, signature: PdfSignatureCandidate): DocumentChange[] {
  const k = signature.signedRevision;
  if (!analysis.readable || k === undefined) return [];
  return [...analysis.revisions.slice(k).flatMap((r) => r.changes), ...analysis.trailing];
}
