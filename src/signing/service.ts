import { createHash } from 'node:crypto';
import type { Principal } from '../api-keys';
import type { CertificateAuthority, TimeStampAuthority } from '../ca';
import { signerFor, type KeyRouter } from '../crypto';
import { ValidationError } from '../errors';
import type { LogService } from '../log/service';
import { addDss, byteRangeBytes, embedSignature, preparePdfSignature, readPdf, signPdf } from '../pdf';
import { buildCertId, buildOcspRequest } from '../pki';
import type { SealService, SealText } from '../seals';
import type { CertificateStore } from '../store/ports';
import { sealAppearanceStream } from './appearance';
import { buildCadesSignature } from './cades';
import { tsaTimestamper } from './timestamper';
import { signSes } from '../ses/make';
import { AppError } from '../errors';

export type SignatureFormat = 'cades' | 'pades' | 'ses';
export type SignatureLevel = 'B-B' | 'B-T' | 'B-LT' | 'B-LTA';

export interface SignRequest {
  sealId: string;
  format: SignatureFormat;
  level: SignatureLevel;
  document: Buffer;
  /** SES only: what was signed (TBS_Sign.propertyInfo, printable ASCII); default describes the data. */
  propertyInfo?: string;
  /** PAdES only. A visible seal when page/x/y/width are given (PDF points, origin bottom-left). */
  pades?: { page?: number; x?: number; y?: number; width?: number; reason?: string; location?: string };
}

export interface SignResult {
  bytes: Buffer;
  contentType: string;
  logIndex: number;
}

export interface SigningDeps {
  seals: SealService;
  ca: CertificateAuthority;
  tsa: TimeStampAuthority;
  keys: KeyRouter;
  log: LogService;
  certificates: CertificateStore;
  clock?: () => Date;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/**
 * Signs a document with an agency seal: CAdES detached (B-B, B-T) for any file, PAdES
 * (B-B … B-LTA) for PDFs, always as an incremental update. Every signature is a logged event
 * (and its key use another), written before the signed document is returned.
 */
export class SigningService {
  private readonly clock: () => Date;

  constructor(private readonly d: SigningDeps) {
    this.clock = d.clock ?? (() => new Date());
  }

  async sign(actor: Principal, req: SignRequest): Promise<SignResult> {
    if (req.format === 'cades' && (req.level === 'B-LT' || req.level === 'B-LTA')) {
      throw new ValidationError('CAdES signatures are made at B-B or B-T here', [{ pointer: '/level', detail: 'use B-B or B-T with format=cades' }], 'VALIDATION_FAILED');
    }
    if (req.format === 'ses' && (req.level === 'B-LT' || req.level === 'B-LTA')) {
      throw new ValidationError('GB/T 38540 signatures are made at B-B (no time-stamp) or B-T here', [{ pointer: '/level', detail: 'use B-B or B-T with format=ses' }], 'VALIDATION_FAILED');
    }
    const seal = await this.d.seals.assertUsable(actor, req.sealId);
    // SM2 seals sign GB/T 38540 structures only: CMS here hashes with SHA-256 and an SM2 key would
    // need SM3 and the SM2 CMS identifiers (GM/T 0010), which are not implemented.
    if (req.format === 'ses' && seal.algorithm !== 'SM2') throw new AppError('SES_REQUIRES_SM2', `Seal ${seal.id} is not an SM2 seal: format=ses needs one`);
    if (req.format !== 'ses' && seal.algorithm === 'SM2') {
      throw new ValidationError('SM2 seals sign in the GB/T 38540 format', [{ pointer: '/format', detail: 'use format=ses with an SM2 seal' }], 'VALIDATION_FAILED');
    }
    const certRecord = await this.d.certificates.get(seal.certificateSerial);
    const certificate = Buffer.from(certRecord!.der, 'base64');
    const chain = this.d.ca.chain();
    const context = { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode };
    const signer = await signerFor(this.d.keys, seal.keyId, { ...context, purpose: req.format });
    const timestamp = req.level === 'B-B' ? undefined : tsaTimestamper((q) => this.d.tsa.respond(q, context).then((r) => r.der));
    const now = this.clock();

    let bytes: Buffer;
    if (req.format === 'ses') {
      const sesSeal = await this.d.seals.sesSeal(actor, seal.id);
      bytes = (
        await signSes({
          seal: sesSeal,
          data: req.document,
          propertyInfo: req.propertyInfo ?? `eseal:data;size=${req.document.length};sha256=${sha256(req.document).toString('hex')}`,
          time: now,
          signerCertificate: certificate,
          signer,
          timestamp,
        })
      ).der;
    } else if (req.format === 'cades') {
      bytes = (await buildCadesSignature({ signer, certificate, chain, content: req.document, profile: 'cades', signingTime: now, timestamp })).der;
    } else {
      const sealText = () => this.d.seals.appearanceInput(actor, seal.id);
      bytes = await this.pades(req, { signer, certificate, chain, timestamp, now, context, sealText });
    }
    const signedSha256 = sha256(bytes).toString('hex');
    const receipt = await this.d.log.append({
      type: 'document.signed',
      eventId: `document.signed:${signedSha256}`,
      subject: { sealId: seal.id, agencyCode: seal.agencyCode, format: req.format, level: req.level, certificateSerial: seal.certificateSerial },
      digests: { sha256: sha256(req.document).toString('hex'), signedSha256 },
      actor: context,
      keyId: seal.keyId,
    });
    const contentType = req.format === 'cades' ? 'application/pkcs7-signature' : req.format === 'ses' ? 'application/octet-stream' : 'application/pdf';
    return { bytes, contentType, logIndex: receipt.index };
  }

  private async pades(
    req: SignRequest,
    s: {
      signer: Awaited<ReturnType<typeof signerFor>>;
      certificate: Buffer;
      chain: Buffer[];
      timestamp: ReturnType<typeof tsaTimestamper> | undefined;
      now: Date;
      context: { apiKeyId: string | null; agencyCode: string | null };
      /** The names the visible seal shows; read only when there is one. */
      sealText: () => Promise<SealText>;
    },
  ): Promise<Buffer> {
    const o = req.pades ?? {};
    const visible = o.x !== undefined || o.y !== undefined || o.width !== undefined || o.page !== undefined;
    let appearance;
    if (visible) {
      if (o.x === undefined || o.y === undefined) {
        throw new ValidationError('A visible seal needs x and y', [{ pointer: o.x === undefined ? '/x' : '/y', detail: 'is required with a visible seal' }]);
      }
      const width = o.width ?? 120;
      appearance = { page: o.page ?? 1, rect: [o.x, o.y, o.x + width, o.y + width] as [number, number, number, number], stream: sealAppearanceStream(width, await s.sealText()) };
    }
    // Size the placeholder from the real CMS: chain, signature and, for B-T, the token.
    const signed = await signPdf(
      req.document,
      { subFilter: 'ETSI.CAdES.detached', signingTime: s.now, reason: o.reason, location: o.location, appearance, contentsSize: s.timestamp ? 16 * 1024 : 8 * 1024 },
      async (tbs) => (await buildCadesSignature({ signer: s.signer, certificate: s.certificate, chain: s.chain, contentDigest: sha256(tbs), profile: 'pades', timestamp: s.timestamp })).der,
    );
    let pdf = signed.pdf;
    if (req.level === 'B-LT' || req.level === 'B-LTA') pdf = await this.withValidationData(pdf, s.certificate, await this.afterNow());
    if (req.level === 'B-LTA') {
      const prepared = preparePdfSignature(pdf, { subFilter: 'ETSI.RFC3161', contentsSize: 12 * 1024 });
      const token = await tsaTimestamper((q) => this.d.tsa.respond(q, s.context).then((r) => r.der))(byteRangeBytes(prepared));
      pdf = embedSignature(prepared, token);
      // The document timestamp's own validation data (same TSA and CA), so B-LTA validates offline too.
      pdf = await this.withValidationData(pdf, s.certificate, await this.afterNow());
    }
    readPdf(pdf); // the result must read back
    return pdf;
  }

  /**
   * The start of the next whole second. OCSP and CRL times are whole seconds (RFC 5280), and
   * validators (pyHanko, EU DSS) take revocation data as fresh only when it was produced after
   * the time-stamp, so validation data waits for the next second (at most 1 s at B-LT/B-LTA).
   */
  private async afterNow(): Promise<Date> {
    const now = this.clock().getTime();
    const next = Math.floor(now / 1000) * 1000 + 1000;
    await new Promise((r) => setTimeout(r, next - now));
    return new Date(next);
  }

  /** B-LT: a DSS with the chain, the TSA and OCSP certificates, OCSP responses and CRLs, all issued after `notBefore`. */
  private async withValidationData(pdf: Buffer, leaf: Buffer, notBefore: Date): Promise<Buffer> {
    const ca = this.d.ca;
    const ocsps = [];
    for (const cert of [leaf, ca.tsa.der]) {
      ocsps.push(await ca.respondOcsp(buildOcspRequest({ certIds: [buildCertId(cert, ca.issuing.der)] })));
    }
    return addDss(pdf, {
      certs: [leaf, ca.issuing.der, ca.root.der, ca.tsa.der, ca.ocsp.der],
      ocsps,
      crls: [await ca.crl('issuing', notBefore), await ca.crl('root', notBefore)],
      vri: true,
    });
  }
}
