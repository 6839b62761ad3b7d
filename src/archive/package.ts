import { createHash } from 'node:crypto';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { AppError } from '../errors';
import { readCertificate, verifyCertificateSignature, type ParsedCertificate } from '../pki/certificate';
import { decodeDer } from '../pki/der';
import { fromPemAll, toPem } from '../pki/pem';
import { readPublicKeyInfo, verifySignature, type SignatureScheme } from '../pki/signature';
import { ALGORITHMS } from '../crypto/algorithms';
import { verifyTimeStampToken } from '../pki/tsp-token';
import { elementText, extractSignedObject } from './eep';
import { parseEvidenceRecord } from './evidence-record';
import { hashOf, rootFromPath } from './hash-tree';
import type { ArchiveTimestamp } from './ports';
import type { ArchiveRecordView } from './service';

/**
 * The archive package (ZIP): everything needed to check a record decades later without the
 * service. Entries (fixed names, so a verifier never guesses):
 *
 *   content/<file name>        the record's file, as filed
 *   metadata.json              the record (DA/T 46 metadata, registration number, digests, batch)
 *   validation-report.json     the DA/T 70 checks and the verification report at filing time, later re-verifications
 *   evidence-record.ers        RFC 4998 EvidenceRecord, DER
 *   tsa-chain.pem              TSA certificate(s), issuing CA, root CA
 *   eep.xml                    DA/T 48 EEP, signed with a seal of the record's agency
 */

export interface PackageInput {
  record: ArchiveRecordView;
  fileBytes: Buffer;
  evidenceRecord: Buffer;
  batch: { id: string; root: string; size: number; timestamps: Omit<ArchiveTimestamp, 'token'>[] };
  certificates: Buffer[];
  eep: Buffer;
  reverifications: unknown[];
  createdAt: Date;
}

const safeName = (n: string) => n.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').slice(0, 200) || 'record.pdf';

export function buildPackage(p: PackageInput): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const mtime = p.createdAt;
  const { checks, report, forced, ...meta } = p.record;
  zip.addBuffer(p.fileBytes, `content/${safeName(p.record.metadata.fileName)}`, { mtime });
  zip.addBuffer(Buffer.from(JSON.stringify({ ...meta, batch: p.batch }, null, 2)), 'metadata.json', { mtime });
  zip.addBuffer(Buffer.from(JSON.stringify({ checks, report, forced, reverifications: p.reverifications }, null, 2)), 'validation-report.json', { mtime });
  zip.addBuffer(p.evidenceRecord, 'evidence-record.ers', { mtime });
  zip.addBuffer(Buffer.from(p.certificates.map((c) => toPem(c)).join('')), 'tsa-chain.pem', { mtime });
  zip.addBuffer(p.eep, 'eep.xml', { mtime });
  zip.end();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => parts.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(parts)));
    zip.outputStream.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// Offline verification

export const MAX_PACKAGE_ENTRIES = 16;
export const MAX_ENTRY_BYTES = 200 * 1024 * 1024;

export interface PackageCheck {
  name:
    | 'package-structure'
    | 'file-digest'
    | 'evidence-path'
    | 'timestamp-token'
    | 'timestamp-chain'
    | 'eep-content'
    | 'eep-signature'
    | 'stored-report';
  passed: boolean;
  detail: string;
}

export interface PackageVerification {
  passed: boolean;
  checks: PackageCheck[];
  registrationNumber?: string;
  /** Archive time: genTime of the first archive timestamp. */
  archivedAt?: string;
  /** SHA-256 of the root certificate the package chains to (compare with a root you trust). */
  rootFingerprint?: string;
}

function readZip(zipBytes: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zipBytes, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (err, zf) => {
      if (err || !zf) return reject(new AppError('PARSE_ERROR', `not a ZIP file: ${err?.message ?? 'unreadable'}`));
      const out = new Map<string, Buffer>();
      let count = 0;
      zf.on('error', (e: Error) => reject(new AppError('PARSE_ERROR', `ZIP error: ${e.message}`)));
      zf.on('end', () => resolve(out));
      zf.on('entry', (entry: yauzl.Entry) => {
        if (++count > MAX_PACKAGE_ENTRIES) return reject(new AppError('PARSE_ERROR', 'too many entries in the package'));
        if (/\/$/.test(entry.fileName)) return zf.readEntry();
        if (entry.uncompressedSize > MAX_ENTRY_BYTES) return reject(new AppError('PARSE_ERROR', `entry ${entry.fileName} is too large`));
        if (out.has(entry.fileName)) return reject(new AppError('PARSE_ERROR', `duplicate entry ${entry.fileName}`));
        zf.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(new AppError('PARSE_ERROR', `cannot read ${entry.fileName}`));
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c));
          stream.on('error', (se: Error) => reject(new AppError('PARSE_ERROR', `cannot read ${entry.fileName}: ${se.message}`)));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(parts));
            zf.readEntry();
          });
        });
      });
      zf.readEntry();
    });
  });
}

/** The EEP names its algorithm by signature OID only; PSS is the table's (SHA-256, MGF1-SHA-256, salt 32). */
function eepScheme(oid: string | null): SignatureScheme | undefined {
  const spec = Object.values(ALGORITHMS).find((a) => a.signatureOid === oid);
  return spec ? { algorithm: spec.name, ...(spec.saltLength ? { saltLength: spec.saltLength } : {}) } : undefined;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Finds `cert`'s issuer among `pool` and walks up to a self-signed root; returns the path or a reason. */
function chainToRoot(cert: ParsedCertificate, pool: ParsedCertificate[], at: Date): { root: ParsedCertificate } | { error: string } {
  let cur = cert;
  for (let depth = 0; depth < 6; depth++) {
    if (at < cur.notBefore || at > cur.notAfter) return { error: `certificate ${cur.subject.text} is not valid at ${at.toISOString()}` };
    const issuer = pool.find((c) => c.subject.der.equals(cur.issuer.der) && verifyCertificateSignature(cur, readPublicKeyInfo(c.spki)));
    if (!issuer) return { error: `no issuer for ${cur.subject.text} in tsa-chain.pem` };
    if (issuer.der.equals(cur.der)) return { root: cur };
    cur = issuer;
  }
  return { error: 'certificate chain too long' };
}

/**
 * Checks a package without the service: file digest, the evidence path to the timestamped root,
 * every timestamp of the chain (each renewal over the previous token, each TSA certificate
 * valid when the next timestamp was made), the TSA and seal certificates' chains to the
 * package's root (or to `trustedRoots` when given), the EEP signature and content, and the
 * stored report. Never throws for a bad package: the failure is a named check.
 */
export async function verifyPackage(zipBytes: Buffer, options: { trustedRoots?: Buffer[]; now?: Date } = {}): Promise<PackageVerification> {
  const checks: PackageCheck[] = [];
  const add = (name: PackageCheck['name'], passed: boolean, detail: string) => checks.push({ name, passed, detail });
  const done = (extra: Partial<PackageVerification> = {}): PackageVerification => ({ passed: checks.every((c) => c.passed), checks, ...extra });
  const now = options.now ?? new Date();

  let entries: Map<string, Buffer>;
  try {
    entries = await readZip(zipBytes);
  } catch (e) {
    add('package-structure', false, (e as Error).message);
    return done();
  }
  const contentNames = [...entries.keys()].filter((n) => n.startsWith('content/'));
  const missing = ['metadata.json', 'validation-report.json', 'evidence-record.ers', 'tsa-chain.pem', 'eep.xml'].filter((n) => !entries.has(n));
  if (missing.length || contentNames.length !== 1) {
    add('package-structure', false, missing.length ? `missing ${missing.join(', ')}` : `expected one content/ entry, found ${contentNames.length}`);
    return done();
  }
  let meta: { registrationNumber: string; sha256: string; size: number; batch: { root: string }; metadata: { fileName: string } };
  let stored: { report: { indication: string; document: { sha256: string } }; forced: { reason: string } | null };
  let certs: ParsedCertificate[];
  try {
    meta = JSON.parse(entries.get('metadata.json')!.toString('utf8'));
    stored = JSON.parse(entries.get('validation-report.json')!.toString('utf8'));
    certs = fromPemAll(entries.get('tsa-chain.pem')!.toString('utf8')).map((d) => readCertificate(decodeDer(d, { maxBytes: 64 * 1024 })));
    if (typeof meta?.sha256 !== 'string' || typeof meta?.registrationNumber !== 'string') throw new Error('metadata.json lacks sha256/registrationNumber');
  } catch (e) {
    add('package-structure', false, `unreadable package member: ${(e as Error).message}`);
    return done();
  }
  add('package-structure', true, `${entries.size} entries`);
  const file = entries.get(contentNames[0]!)!;
  const fileHash = sha256(file);

  // 1. File digest: the file is the one filed.
  const digestOk = fileHash === meta.sha256 && file.length === meta.size;
  add('file-digest', digestOk, digestOk ? `sha256 ${fileHash}` : `the file's sha256 ${fileHash} (${file.length} bytes) ≠ filed ${meta.sha256} (${meta.size} bytes)`);

  // 2. Evidence path → root covered by the first timestamp; 3. every token of the chain.
  let archivedAt: string | undefined;
  let rootFingerprint: string | undefined;
  try {
    const er = parseEvidenceRecord(entries.get('evidence-record.ers')!);
    if (er.chains.length !== 1) throw new AppError('ERS_MALFORMED', 'expected one archive timestamp chain');
    const chain = er.chains[0]!;
    const first = chain[0]!;
    const root = rootFromPath('sha256', Buffer.from(fileHash, 'hex'), first.reducedHashtree ?? null);
    let pathOk = false;
    const tokens: { genTime: Date; tsa: ParsedCertificate }[] = [];
    for (let i = 0; i < chain.length; i++) {
      const ats = chain[i]!;
      const expected = i === 0 ? root : hashOf('sha256', chain[i - 1]!.timeStamp);
      if (i === 0 && !expected) break;
      if (i > 0 && ats.reducedHashtree) throw new AppError('ERS_MALFORMED', 'a renewal timestamp carries a hash tree');
      let v;
      try {
        v = verifyTimeStampToken({ token: ats.timeStamp, imprint: { hashAlgorithm: 'sha256', digest: expected! }, certificates: certs.map((c) => c.der) });
      } catch (e) {
        const detail = (e as AppError).details?.check ?? (e as Error).message;
        if (i === 0 && (detail === 'imprint' || /imprint/i.test(String(detail)))) break;
        add('timestamp-token', false, `archive timestamp ${i + 1} of ${chain.length} does not verify (${detail})`);
        return done();
      }
      if (i === 0) {
        pathOk = true;
        archivedAt = v.tstInfo.genTime.toISOString();
      }
      tokens.push({ genTime: v.tstInfo.genTime, tsa: v.signerCertificate });
    }
    add('evidence-path', pathOk, pathOk ? `the file's hash leads to root ${root!.toString('hex')}, which the first archive timestamp covers` : "the file's hash does not lead to the timestamped root");
    if (!pathOk) return done();
    add('timestamp-token', true, `${tokens.length} archive timestamp(s) verify, each renewal over the previous token`);

    // RFC 4998 §5.3: each timestamp valid when the next was made; the newest valid now.
    const problems: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const at = i + 1 < tokens.length ? tokens[i + 1]!.genTime : now;
      if (i > 0 && tokens[i]!.genTime < tokens[i - 1]!.genTime) problems.push(`timestamp ${i + 1} is older than timestamp ${i}`);
      const c = chainToRoot(tokens[i]!.tsa, certs, at);
      if ('error' in c) problems.push(`timestamp ${i + 1}: ${c.error}`);
      else {
        rootFingerprint = sha256(c.root.der);
        if (options.trustedRoots && !options.trustedRoots.some((r) => r.equals(c.root.der))) problems.push(`timestamp ${i + 1}: the TSA does not chain to a trusted root`);
      }
    }
    add('timestamp-chain', problems.length === 0, problems.length ? problems.join('; ') : `TSA certificates chain to root ${rootFingerprint}`);
  } catch (e) {
    add('evidence-path', false, `evidence record: ${(e as Error).message}`);
    return done();
  }

  // 4. EEP: content and signature.
  const eep = entries.get('eep.xml')!;
  const xml = eep.toString('utf8');
  const encoded = elementText(xml, '编码数据');
  const regNo = elementText(xml, '档号');
  const eepOk = encoded !== null && Buffer.from(encoded, 'base64').equals(file) && regNo === meta.registrationNumber;
  add('eep-content', eepOk, eepOk ? 'the EEP holds the file and the registration number' : 'the EEP does not hold this file or this registration number');
  const signed = extractSignedObject(eep);
  const sigB64 = elementText(xml, '签名结果');
  const certB64 = elementText(xml, '证书');
  try {
    if (!signed || !sigB64 || !certB64) throw new Error('the EEP has no single signed object, signature and certificate');
    const cert = readCertificate(decodeDer(Buffer.from(certB64, 'base64'), { maxBytes: 64 * 1024 }));
    const scheme = eepScheme(elementText(xml, '签名算法标识'));
    if (!scheme) throw new Error('unknown signature algorithm');
    if (!verifySignature(readPublicKeyInfo(cert.spki), scheme, signed, Buffer.from(sigB64, 'base64'))) throw new Error('the signature over <被签名对象> does not verify');
    const signedAt = new Date(elementText(xml, '签名时间') ?? '');
    const chain = chainToRoot(cert, [...certs, cert], Number.isNaN(signedAt.getTime()) ? now : signedAt);
    if ('error' in chain) throw new Error(`seal certificate: ${chain.error}`);
    if (options.trustedRoots && !options.trustedRoots.some((r) => r.equals(chain.root.der))) throw new Error('the seal certificate does not chain to a trusted root');
    add('eep-signature', true, `signed by ${cert.subject.text}`);
  } catch (e) {
    add('eep-signature', false, (e as Error).message);
  }

  // 5. The stored report is about this file, and it passed (or the filing was forced, with a reason).
  const reportOk = stored?.report?.document?.sha256 === fileHash && (stored.report.indication === 'TOTAL_PASSED' || Boolean(stored.forced?.reason));
  add(
    'stored-report',
    reportOk,
    reportOk
      ? `filing report ${stored.report.indication}${stored.forced ? ` (forced: ${stored.forced.reason})` : ''}`
      : `the stored report is not a passing report about this file (${stored?.report?.indication ?? 'missing'})`,
  );
  return done({ registrationNumber: meta.registrationNumber, archivedAt, rootFingerprint });
}
