/**
 * The electronic seal: GB/T 38540-2020 §7 ("version 4") and, read-only in practice, the older
 * GM/T 0031-2014 form ("version 2"; its header carries version 1 or 2). Every parsed structure
 * keeps its original DER (`der`) so signatures are checked over what was received, never over a
 * re-encoding; `encode*` rebuild the DER from the fields and reproduce DER input byte for byte.
 *
 * GB/T 38540-2020 (version 4):
 *
 *   SESeal ::= SEQUENCE {
 *     eSealInfo    SES_SealInfo,
 *     cert         OCTET STRING,          -- the seal maker's certificate (DER)
 *     signAlgID    OBJECT IDENTIFIER,     -- 1.2.156.10197.1.501 SM2-with-SM3
 *     signedValue  BIT STRING }           -- maker's signature over DER(eSealInfo)
 *
 *   SES_SealInfo ::= SEQUENCE {
 *     header       SES_Header,
 *     esID         IA5String,
 *     property     SES_ESPropertyInfo,
 *     picture      SES_ESPictrueInfo,
 *     extDatas     ExtensionDatas OPTIONAL }
 *
 *   SES_Header ::= SEQUENCE { ID IA5String ("ES"), version INTEGER (4), Vid IA5String }
 *
 *   SES_ESPropertyInfo ::= SEQUENCE {
 *     type          INTEGER,
 *     name          UTF8String,
 *     certListType  INTEGER,               -- 1: certificates, 2: certificate digests
 *     certList      SES_CertList,
 *     createDate    GeneralizedTime,
 *     validStart    GeneralizedTime,
 *     validEnd      GeneralizedTime }
 *
 *   SES_CertList ::= CHOICE { certs CertInfoList, certDigestList CertDigestList }
 *   CertInfoList ::= SEQUENCE OF OCTET STRING
 *   CertDigestList ::= SEQUENCE OF CertDigestObj
 *   CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }
 *
 *   SES_ESPictrueInfo ::= SEQUENCE {        -- sic: the standard's spelling
 *     type    IA5String,                   -- "PNG" | "JPG" | "GIF" | "BMP" | "SVG"
 *     data    OCTET STRING,
 *     width   INTEGER,                     -- millimetres
 *     height  INTEGER }
 *
 *   ExtensionDatas ::= SEQUENCE OF ExtData
 *   ExtData ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 *
 * GM/T 0031-2014 (version 2):
 *
 *   SESeal ::= SEQUENCE { esealInfo SES_SealInfo, signInfo SES_SignInfo }
 *   SES_SignInfo ::= SEQUENCE { cert OCTET STRING, signatureAlgorithm OBJECT IDENTIFIER, signData BIT STRING }
 *   SES_ESPropertyInfo ::= SEQUENCE { type INTEGER, name UTF8String, certList SEQUENCE OF OCTET STRING,
 *                                     createDate UTCTime, validStart UTCTime, validEnd UTCTime }
 *   (SES_Header, SES_ESPictrueInfo and ExtensionDatas as above.)
 */
import { ParseError } from '../errors';
import { decodeDer } from '../pki/der';
import {
  DerError,
  bits,
  bool,
  encodeOid,
  ia5,
  int,
  octets,
  printable,
  readBoolean,
  readIA5,
  readOctetAlignedBits,
  readOctetString,
  readOid,
  readPrintable,
  readSequence,
  readSesTime,
  readSmallInt,
  readUTF8,
  seq,
  time,
  utf8,
  type DerNode,
  type SesTime,
} from './ses-der';

/** Largest seal accepted (the picture dominates; real seals are tens of kilobytes). */
export const SES_SEAL_MAX_BYTES = 2 * 1024 * 1024;
/** Most entries accepted in a cert list or an ExtensionDatas. */
export const SES_MAX_LIST = 64;

/** Which standard a structure follows: 4 = GB/T 38540-2020, 2 = GM/T 0031-2014. */
export type SesVersion = 4 | 2;

export interface SES_Header {
  id: string;
  version: number;
  vid: string;
}

export interface ExtData {
  extnID: string;
  critical: boolean;
  /**
   * Whether `critical` was present in the encoding. DER omits a DEFAULT value, but some
   * implementations write an explicit FALSE (seen in a third-party seal); it is accepted and
   * remembered so that re-encoding reproduces the received bytes.
   */
  criticalEncoded: boolean;
  extnValue: Buffer;
}

export interface CertDigestObj {
  type: string;
  value: Buffer;
}

export type SES_CertList = { kind: 'certs'; certs: Buffer[] } | { kind: 'digests'; digests: CertDigestObj[] };

export interface SES_ESPropertyInfo {
  type: number;
  name: string;
  /** 1 or 2 in version 4; absent in version 2 (always a certificate list). */
  certListType?: number;
  certList: SES_CertList;
  createDate: SesTime;
  validStart: SesTime;
  validEnd: SesTime;
}

export interface SES_ESPictrueInfo {
  type: string;
  data: Buffer;
  width: number;
  height: number;
}

export interface SES_SealInfo {
  header: SES_Header;
  esID: string;
  property: SES_ESPropertyInfo;
  picture: SES_ESPictrueInfo;
  extDatas?: ExtData[];
  /** The received DER: what the maker's signature covers. */
  der: Buffer;
}

export interface SESeal {
  version: SesVersion;
  eSealInfo: SES_SealInfo;
  /** The maker's certificate (DER) as carried in the seal. */
  cert: Buffer;
  signAlgID: string;
  signedValue: Buffer;
  der: Buffer;
}

function readList<T>(n: DerNode, what: string, item: (c: DerNode, i: number) => T): T[] {
  const r = readSequence(n, what);
  if (r.remaining > SES_MAX_LIST) throw new DerError(`${what}: more than ${SES_MAX_LIST} entries`);
  const out: T[] = [];
  for (let i = 0; r.peek(); i++) out.push(item(r.next(`${what}[${i}]`), i));
  return out;
}

function readHeader(n: DerNode): SES_Header {
  const r = readSequence(n, 'SES_Header');
  const id = readIA5(r.next('ID'), 'SES_Header.ID');
  const version = readSmallInt(r.next('version'), 'SES_Header.version');
  const vid = readIA5(r.next('Vid'), 'SES_Header.Vid');
  r.end();
  if (id !== 'ES') throw new DerError('SES_Header.ID must be "ES"');
  return { id, version, vid };
}

export function readExtensionDatas(n: DerNode, what: string): ExtData[] {
  return readList(n, what, (c, i) => {
    const r = readSequence(c, `${what}[${i}]`);
    const extnID = readOid(r.next('extnID'), 'extnID');
    const b = r.optionalUniversal(1);
    const extnValue = readOctetString(r.next('extnValue'), 'extnValue');
    r.end();
    return { extnID, critical: b ? readBoolean(b, 'critical') : false, criticalEncoded: b !== undefined, extnValue };
  });
}

function readCertList(n: DerNode, listType: number): SES_CertList {
  if (listType === 1) return { kind: 'certs', certs: readList(n, 'certList', (c) => readOctetString(c, 'certList.cert')) };
  if (listType === 2) {
    return {
      kind: 'digests',
      digests: readList(n, 'certDigestList', (c) => {
        const r = readSequence(c, 'CertDigestObj');
        const type = readPrintable(r.next('type'), 'CertDigestObj.type');
        const value = readOctetString(r.next('value'), 'CertDigestObj.value');
        r.end();
        return { type, value };
      }),
    };
  }
  throw new DerError('certListType must be 1 or 2');
}

function readProperty(n: DerNode, version: SesVersion): SES_ESPropertyInfo {
  const r = readSequence(n, 'SES_ESPropertyInfo');
  const type = readSmallInt(r.next('type'), 'type');
  const name = readUTF8(r.next('name'), 'name');
  let certListType: number | undefined;
  let certList: SES_CertList;
  if (version === 4) {
    certListType = readSmallInt(r.next('certListType'), 'certListType');
    certList = readCertList(r.next('certList'), certListType);
  } else {
    certList = readCertList(r.next('certList'), 1);
  }
  const createDate = readSesTime(r.next('createDate'), 'createDate');
  const validStart = readSesTime(r.next('validStart'), 'validStart');
  const validEnd = readSesTime(r.next('validEnd'), 'validEnd');
  r.end();
  return { type, name, certListType, certList, createDate, validStart, validEnd };
}

function readPicture(n: DerNode): SES_ESPictrueInfo {
  const r = readSequence(n, 'SES_ESPictrueInfo');
  const type = readIA5(r.next('type'), 'picture.type');
  const data = readOctetString(r.next('data'), 'picture.data');
  const width = readSmallInt(r.next('width'), 'picture.width');
  const height = readSmallInt(r.next('height'), 'picture.height');
  r.end();
  if (width <= 0 || height <= 0) throw new DerError('picture size must be positive');
  return { type, data, width, height };
}

function readSealInfo(n: DerNode, version: SesVersion): SES_SealInfo {
  const r = readSequence(n, 'SES_SealInfo');
  const header = readHeader(r.next('header'));
  // The header's version must agree with the structure around it.
  if ((version === 4) !== (header.version === 4)) throw new DerError(`SES_Header.version ${header.version} does not match a version-${version} structure`);
  const esID = readIA5(r.next('esID'), 'esID');
  const property = readProperty(r.next('property'), version);
  const picture = readPicture(r.next('picture'));
  const ext = r.peek() ? readExtensionDatas(r.next('extDatas'), 'extDatas') : undefined;
  r.end();
  return { header, esID, property, picture, extDatas: ext, der: n.der };
}

/** Reads an SESeal node (also used for the seal embedded in a TBS_Sign). Throws DerError. */
export function readSESeal(n: DerNode): SESeal {
  const r = readSequence(n, 'SESeal');
  // GM/T 0031 has two children (info, signInfo); GB/T 38540 has four.
  const version: SesVersion = n.children.length === 2 ? 2 : 4;
  const eSealInfo = readSealInfo(r.next('eSealInfo'), version);
  if (version === 2) {
    const s = readSequence(r.next('signInfo'), 'SES_SignInfo');
    const cert = readOctetString(s.next('cert'), 'signInfo.cert');
    const signAlgID = readOid(s.next('signatureAlgorithm'), 'signInfo.signatureAlgorithm');
    const signedValue = readOctetAlignedBits(s.next('signData'), 'signInfo.signData');
    s.end();
    r.end();
    return { version, eSealInfo, cert, signAlgID, signedValue, der: n.der };
  }
  const cert = readOctetString(r.next('cert'), 'cert');
  const signAlgID = readOid(r.next('signAlgID'), 'signAlgID');
  const signedValue = readOctetAlignedBits(r.next('signedValue'), 'signedValue');
  r.end();
  return { version, eSealInfo, cert, signAlgID, signedValue, der: n.der };
}

/** Parses a DER SESeal (either version). Malformed input → ParseError SES_SEAL_MALFORMED. */
export function parseSESeal(der: Uint8Array): SESeal {
  try {
    return readSESeal(decodeDer(der, { maxBytes: SES_SEAL_MAX_BYTES, maxDepth: 16 }));
  } catch (e) {
    if (e instanceof DerError) throw new ParseError(`The seal is malformed: ${e.message}`, 'SES_SEAL_MALFORMED', { cause: e });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

export function encodeExtensionDatas(exts: readonly ExtData[]): Buffer {
  return seq(
    ...exts.map((e) => seq(encodeOid(e.extnID), ...(e.critical || e.criticalEncoded ? [bool(e.critical)] : []), octets(e.extnValue))),
  );
}

function encodeProperty(p: SES_ESPropertyInfo, version: SesVersion): Buffer {
  const list =
    p.certList.kind === 'certs'
      ? seq(...p.certList.certs.map((c) => octets(c)))
      : seq(...p.certList.digests.map((d) => seq(printable(d.type), octets(d.value))));
  if (version === 2 && p.certList.kind !== 'certs') throw new RangeError('GM/T 0031 seals carry certificates only');
  const typeField = version === 4 ? [int(p.certListType ?? (p.certList.kind === 'certs' ? 1 : 2))] : [];
  return seq(int(p.type), utf8(p.name), ...typeField, list, time(p.createDate), time(p.validStart), time(p.validEnd));
}

/** DER of SES_SealInfo from its fields (what a maker signs). */
export function encodeSealInfo(info: Omit<SES_SealInfo, 'der'>, version: SesVersion): Buffer {
  const h = info.header;
  const pic = info.picture;
  return seq(
    seq(ia5(h.id), int(h.version), ia5(h.vid)),
    ia5(info.esID),
    encodeProperty(info.property, version),
    seq(ia5(pic.type), octets(pic.data), int(pic.width), int(pic.height)),
    ...(info.extDatas ? [encodeExtensionDatas(info.extDatas)] : []),
  );
}

/** DER of an SESeal from its fields (eSealInfo re-encoded too). */
export function encodeSESeal(seal: Omit<SESeal, 'der' | 'eSealInfo'> & { eSealInfo: Omit<SES_SealInfo, 'der'> }): Buffer {
  const info = encodeSealInfo(seal.eSealInfo, seal.version);
  if (seal.version === 2) return seq(info, seq(octets(seal.cert), encodeOid(seal.signAlgID), bits(seal.signedValue)));
  return seq(info, octets(seal.cert), encodeOid(seal.signAlgID), bits(seal.signedValue));
}

/**
 * The bytes the maker's signature covers. GB/T 38540: DER(SES_SealInfo) alone (confirmed with
 * OpenSSL on a third-party seal, see STANDARDS.md). GM/T 0031: "SES_SealInfo, cert and
 * signatureAlgorithm" — found by trying the readings against the third-party version-2 seal
 * (vectors/ses/UserV1.esl): it is the DER of SEQUENCE { esealInfo, cert OCTET STRING,
 * signatureAlgorithm OBJECT IDENTIFIER }; plain concatenations do not verify (docs/ses.md).
 */
export function sealSignedBytes(seal: SESeal): Buffer {
  if (seal.version === 4) return seal.eSealInfo.der;
  return seq(seal.eSealInfo.der, octets(seal.cert), encodeOid(seal.signAlgID));
}
