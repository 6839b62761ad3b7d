import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fromPemAll } from '../../src/pki';
import { Verifier } from '../../src/verify/engine';
import { RevocationChecker } from '../../src/verify/revocation';
import type { VerificationReport } from '../../src/verify/report';

/**
 * The attack corpus (tests/vectors/attacks/, made by scripts/make-attack-vectors.ts) through the
 * verifier, offline, with the clock the manifest gives (so the certificates and the embedded
 * revocation data are current however much later this runs). STANDARDS.md "Verifier checklist
 * against known PDF attacks"; issue #6.
 *
 * Every attack must end TOTAL_FAILED or list a change with `allowed: false`, and is never
 * TOTAL_PASSED without that flag; each file's own expectation comes from the manifest:
 * `{ indication }` exactly, `{ disallowedChange: true }` (a change with allowed === false on some
 * signature), or `{ anyOf: [...] }`.
 */

const DIR = path.join(__dirname, '..', 'vectors', 'attacks');

type Expected =
  | { indication: 'TOTAL_PASSED' | 'TOTAL_FAILED' | 'INDETERMINATE' }
  | { disallowedChange: true }
  | { anyOf: Expected[] };

interface ManifestVector {
  file: string;
  kind: 'baseline' | 'attack';
  base?: string;
  attack?: string;
  how: string;
  expected: Expected;
  size: number;
  sha256: string;
}

interface Manifest {
  verificationTime: string;
  trustAnchors: string;
  vectors: ManifestVector[];
}

const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;
const verificationTime = new Date(manifest.verificationTime);
const anchors = fromPemAll(fs.readFileSync(path.join(DIR, manifest.trustAnchors), 'latin1'));

const verifier = new Verifier({
  trustAnchors: anchors,
  revocation: new RevocationChecker({ mode: 'offline' }),
  clock: () => verificationTime,
});

const disallowed = (r: VerificationReport) => r.signatures.some((s) => s.changes.some((c) => c.allowed === false));

function meets(r: VerificationReport, e: Expected): boolean {
  if ('anyOf' in e) return e.anyOf.some((x) => meets(r, x));
  if ('disallowedChange' in e) return disallowed(r);
  return r.indication === e.indication;
}

/** The parts of a report that explain an outcome, for failure messages. */
function summary(r: VerificationReport): string {
  const bad = (checks: VerificationReport['checks']) => checks.filter((c) => c.result === 'failed' || c.result === 'indeterminate').map((c) => `${c.name}${c.code ? `:${c.code}` : ''}`);
  return JSON.stringify(
    {
      indication: r.indication,
      subIndication: r.subIndication,
      revisions: r.document.revisions,
      checks: bad(r.checks),
      signatures: r.signatures.map((s) => ({
        id: s.id,
        type: s.type,
        indication: s.indication,
        subIndication: s.subIndication,
        coverage: s.coverage,
        modifiedAfterSigning: s.modifiedAfterSigning,
        changes: s.changes.map((c) => `${c.kind}${c.object ? ` ${c.object}` : ''} r${c.revision}${c.allowed ? '' : ' DISALLOWED'}`),
        checks: bad(s.checks),
      })),
    },
    null,
    1,
  );
}

const describeExpected = (e: Expected): string =>
  'anyOf' in e ? e.anyOf.map(describeExpected).join(' or ') : 'disallowedChange' in e ? 'a change with allowed: false' : e.indication;

describe('attack corpus (tests/vectors/attacks)', () => {
  it('the manifest lists every file in the directory, with the bytes it was generated with', () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.pdf')).sort();
    expect(manifest.vectors.map((v) => v.file).sort()).toEqual(files);
    for (const v of manifest.vectors) {
      const bytes = fs.readFileSync(path.join(DIR, v.file));
      expect({ file: v.file, sha256: createHash('sha256').update(bytes).digest('hex') }).toEqual({ file: v.file, sha256: v.sha256 });
    }
    expect(anchors.length).toBeGreaterThan(0);
  });

  it('README.md has one line per file', () => {
    const readme = fs.readFileSync(path.join(DIR, 'README.md'), 'utf8');
    for (const v of manifest.vectors) expect(readme.split('\n').filter((l) => l.startsWith(`- \`${v.file}\``))).toHaveLength(1);
  });

  it('covers every attack class issue #6 asks for', () => {
    const names = manifest.vectors.map((v) => v.file).join('\n');
    for (const required of [
      'incremental-page-content',
      'flip-range1',
      'flip-range2',
      'byterange-shrunk',
      'contents-zeroed',
      'truncated-in-range1',
      'truncated-in-contents',
      'truncated-before',
      'signature-wrapping',
      'usf-contents-missing',
      'usf-contents-null',
      'usf-byterange-missing',
      'usf-byterange-zeros',
      'usf-byterange-negative',
      'isa-xref-trailer-only',
      'shadow-hide-',
      'shadow-replace',
      'shadow-hide-and-replace',
      'evil-annotation',
      'garbage-after-eof',
      'sneaky-signature',
    ]) {
      expect({ required, present: names.includes(required) }).toEqual({ required, present: true });
    }
  });

  const baselines = manifest.vectors.filter((v) => v.kind === 'baseline');
  const attacks = manifest.vectors.filter((v) => v.kind === 'attack');

  it.each(baselines.map((v) => [v.file, v] as const))('baseline %s verifies as the manifest says, with no disallowed change', async (_file, v) => {
    const r = await verifier.verifyPdf(fs.readFileSync(path.join(DIR, v.file)));
    if (!meets(r, v.expected) || disallowed(r)) throw new Error(`${v.file}: expected ${describeExpected(v.expected)} and no disallowed change; got ${summary(r)}`);
    expect(r.signatures.length).toBeGreaterThan(0);
    if (v.file.includes('certified')) expect(r.signatures[0]!.type).toBe('certification');
  });

  it.each(attacks.map((v) => [v.file, v] as const))('attack %s is caught', async (_file, v) => {
    const r = await verifier.verifyPdf(fs.readFileSync(path.join(DIR, v.file)));
    // The invariant for every attack: never TOTAL_PASSED unless a disallowed change is flagged.
    if (r.indication === 'TOTAL_PASSED' && !disallowed(r)) throw new Error(`${v.file} (${v.attack}) is TOTAL_PASSED with no disallowed change: ${summary(r)}`);
    if (!(r.indication === 'TOTAL_FAILED' || disallowed(r))) throw new Error(`${v.file} (${v.attack}) is neither TOTAL_FAILED nor flagged: ${summary(r)}`);
    // The variant's own expectation.
    if (!meets(r, v.expected)) throw new Error(`${v.file} (${v.attack}): expected ${describeExpected(v.expected)}; got ${summary(r)}`);
    // A flagged change is reported on the signature it concerns, as a modification after signing.
    if (disallowed(r)) {
      for (const s of r.signatures.filter((x) => x.changes.some((c) => !c.allowed))) expect(s.modifiedAfterSigning).toBe(true);
    }
  });
});
