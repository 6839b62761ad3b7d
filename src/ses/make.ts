/**
 * Making GB/T 38540 structures: a seal signed by the platform's seal maker, and a signature
 * (签章) over data by a seal holder. Pure: keys arrive as Signers (the key store signs; private
 * keys never come here), time and certificates are parameters.
 */
import { AppError } from '../errors';
import type { Signer } from '../crypto/key-provider';
import { OID } from '../crypto/algorithms';
import { sm3 } from '../crypto/sm2';
import {
  encodeSealInfo,
  encodeTbsSign,
  parseSESSignature,
  parseSESeal,
  type ExtData,
  type SES_ESPictrueInfo,
  type SES_Signature,
  type SESeal,
} from '../asn1';
import { bits, encodeOid, explicit, octets, seq } from '../asn1/ses-der';

/** GB/T 38540 §7.1 picture types. */
export const SES_PICTURE_TYPES = ['PNG', 'JPG', 'GIF', 'BMP', 'SVG'] as const;
/** GB/T 38540 §7.1 seal types: 1 organisation seal (单位印章), 2 personal seal (个人印章). */
export type SesSealType = 1 | 2;

export interface MakeSealInput {
  /** Vendor id written in the header (Vid). */
  vid: string;
  /** Seal identifier (esID), IA5. */
  esID: string;
  type: SesSealType;
  name: string;
  /** Certificates (DER) of the signers allowed to use this seal (certListType 1). */
  signerCertificates: Buffer[];
  createDate: Date;
  validStart: Date;
  validEnd: Date;
  picture: SES_ESPictrueInfo;
  extDatas?: ExtData[];
  /** The seal maker's certificate (DER) and its SM2 signer. */
  makerCertificate: Buffer;
  maker: Signer;
}

function wholeSeconds(d: Date, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new AppError('VALIDATION_FAILED', `${what} must be a valid date`);
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function requireSm2(signer: Signer, who: string): void {
  if (signer.algorithm !== 'SM2') throw new AppError('VALIDATION_FAILED', `The ${who} key must be an SM2 key (GB/T 38540 requires SM2-with-SM3)`);
}

/** Builds and signs a version-4 SESeal; the maker signs DER(SES_SealInfo) (GB/T 38540 §7.2). */
export async function makeSeal(input: MakeSealInput): Promise<SESeal> {
  requireSm2(input.maker, 'seal maker');
  if (input.signerCertificates.length === 0) throw new AppError('VALIDATION_FAILED', 'A seal lists at least one signer certificate');
  if (!(SES_PICTURE_TYPES as readonly string[]).includes(input.picture.type)) throw new AppError('VALIDATION_FAILED', 'Unsupported seal picture type');
  const validStart = wholeSeconds(input.validStart, 'validStart');
  const validEnd = wholeSeconds(input.validEnd, 'validEnd');
  if (validEnd <= validStart) throw new AppError('VALIDATION_FAILED', 'validEnd must be after validStart');
  const info = encodeSealInfo(
    {
      header: { id: 'ES', version: 4, vid: input.vid },
      esID: input.esID,
      property: {
        type: input.type,
        name: input.name,
        certListType: 1,
        certList: { kind: 'certs', certs: input.signerCertificates },
        createDate: { date: wholeSeconds(input.createDate, 'createDate'), kind: 'generalized' },
        validStart: { date: validStart, kind: 'generalized' },
        validEnd: { date: validEnd, kind: 'generalized' },
      },
      picture: input.picture,
      extDatas: input.extDatas,
    },
    4,
  );
  const signedValue = await input.maker.sign(info);
  return parseSESeal(seq(info, octets(input.makerCertificate), encodeOid(OID.sm2WithSm3), bits(signedValue)));
}

export interface SignSesInput {
  seal: SESeal;
  data: Buffer;
  /** What was signed (IA5): e.g. a file name or an OFD path. */
  propertyInfo: string;
  time: Date;
  /** The signer's certificate (DER): must be in the seal's cert list. */
  signerCertificate: Buffer;
  signer: Signer;
  /** Returns an RFC 3161 TimeStampToken over the given bytes (the signature value). */
  timestamp?: (signatureValue: Buffer) => Promise<Buffer>;
}

/** Builds a version-4 SES_Signature over SM3(data) (GB/T 38540 §8). */
export async function signSes(input: SignSesInput): Promise<SES_Signature> {
  requireSm2(input.signer, 'signer');
  if (input.seal.version !== 4) throw new AppError('VALIDATION_FAILED', 'Only GB/T 38540 (version 4) seals sign new documents');
  // eslint-disable-next-line no-control-regex
  if (!/^[\x20-\x7e]{1,1024}$/.test(input.propertyInfo)) throw new AppError('VALIDATION_FAILED', 'propertyInfo must be 1–1024 printable ASCII characters');
  const certs = input.seal.eSealInfo.property.certList;
  if (certs.kind !== 'certs' || !certs.certs.some((c) => c.equals(input.signerCertificate))) {
    throw new AppError('VALIDATION_FAILED', "The signer's certificate is not in the seal's certificate list");
  }
  const tbs = encodeTbsSign(
    {
      version: 4,
      eseal: input.seal,
      timeInfo: { date: wholeSeconds(input.time, 'time'), kind: 'generalized' },
      dataHash: sm3(input.data),
      propertyInfo: input.propertyInfo,
    },
    4,
  );
  const signature = await input.signer.sign(tbs);
  const token = input.timestamp ? await input.timestamp(signature) : undefined;
  return parseSESSignature(
    seq(tbs, octets(input.signerCertificate), encodeOid(OID.sm2WithSm3), bits(signature), ...(token ? [explicit(0, bits(token))] : [])),
  );
}
