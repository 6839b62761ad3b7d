/**
 * Distinguished names (RFC 5280 §4.1.2.4): building our subjects, reading received names, and
 * copying an issuer's name byte for byte.
 *
 *   Name ::= CHOICE { rdnSequence RDNSequence }
 *   RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
 *   RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 *   AttributeTypeAndValue ::= SEQUENCE { type AttributeType, value AttributeValue }
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { ValidationError } from '../errors';
import { DerError, readOid, readSequence, readSet, readString, type DerNode } from './der';
import { PKI_OID } from './oids';

/**
 * A subject as callers describe it. Strings are UTF8String except `c` and `serialNumber`, which
 * X.520 defines as PrintableString.
 *
 * The unified social credit code (GB 32100-2015) goes in `organizationIdentifier`
 * (X.520 2.5.4.97) in the ETSI EN 319 412-1 §5.1.4 form `NTRCN-<code>`: "NTR" (national trade
 * register) + ISO 3166 country + "-" + the identifier. That form is what European and
 * international validators display as a legal person's registration number, and keeps the code
 * out of CN (which holds the agency's name). Use `creditCodeOrganizationIdentifier()` to build
 * it. Chinese CAs following GM/T 0015 put the code in other places (OU, private extensions);
 * a verifier reading third-party seals must not rely on this attribute alone.
 */
export interface SubjectInput {
  cn: string;
  o?: string;
  ou?: string;
  /** ISO 3166 two-letter country code, e.g. 'CN'. */
  c?: string;
  st?: string;
  l?: string;
  organizationIdentifier?: string;
  serialNumber?: string;
}

export type SubjectField = keyof SubjectInput;

interface FieldSpec {
  field: SubjectField;
  oid: string;
  short: string;
  printable: boolean;
  /** Upper bound from RFC 5280 Appendix A (ub-*). */
  max: number;
}

/** Written in this order (most general first, CN last). */
const FIELDS: readonly FieldSpec[] = [
  { field: 'c', oid: PKI_OID.countryName, short: 'C', printable: true, max: 2 },
  { field: 'st', oid: PKI_OID.stateOrProvinceName, short: 'ST', printable: false, max: 128 },
  { field: 'l', oid: PKI_OID.localityName, short: 'L', printable: false, max: 128 },
  { field: 'o', oid: PKI_OID.organizationName, short: 'O', printable: false, max: 64 },
  { field: 'organizationIdentifier', oid: PKI_OID.organizationIdentifier, short: 'organizationIdentifier', printable: false, max: 64 },
  { field: 'ou', oid: PKI_OID.organizationalUnitName, short: 'OU', printable: false, max: 64 },
  { field: 'serialNumber', oid: PKI_OID.serialNumber, short: 'serialNumber', printable: true, max: 64 },
  { field: 'cn', oid: PKI_OID.commonName, short: 'CN', printable: false, max: 64 },
];

const PRINTABLE_RE = /^[A-Za-z0-9 '()+,\-./:=?]+$/;
// Control characters have no place in a name; they confuse displays and log lines.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const CREDIT_CODE_RE = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

/** `NTRCN-<code>` for a unified social credit code (format only; the check digit is validated upstream). */
export function creditCodeOrganizationIdentifier(code: string): string {
  if (!CREDIT_CODE_RE.test(code)) {
    throw new ValidationError('The unified social credit code is malformed', [{ pointer: '/organizationIdentifier', detail: 'not 18 characters of the GB 32100 alphabet' }], 'PKI_INVALID_INPUT');
  }
  return `NTRCN-${code}`;
}

/** The credit code from an `NTRCN-` organizationIdentifier, if that is what it holds. */
export function creditCodeFromOrganizationIdentifier(value: string | undefined): string | undefined {
  const m = value === undefined ? null : /^NTRCN-(.{18})$/.exec(value);
  return m && CREDIT_CODE_RE.test(m[1]!) ? m[1] : undefined;
}

export function buildName(subject: SubjectInput): Name {
  const errors: { pointer: string; detail: string }[] = [];
  const rdns: RelativeDistinguishedName[] = [];
  for (const spec of FIELDS) {
    const v = subject[spec.field];
    if (v === undefined) continue;
    const pointer = `/subject/${spec.field}`;
    if (typeof v !== 'string' || v.trim() !== v || v.length === 0) {
      errors.push({ pointer, detail: 'must be a non-empty string without surrounding spaces' });
    } else if ([...v].length > spec.max) {
      errors.push({ pointer, detail: `longer than ${spec.max} characters` });
    } else if (CONTROL_RE.test(v)) {
      errors.push({ pointer, detail: 'contains control characters' });
    } else if (spec.printable && !PRINTABLE_RE.test(v)) {
      errors.push({ pointer, detail: 'must use PrintableString characters' });
    } else if (spec.field === 'c' && !/^[A-Z]{2}$/.test(v)) {
      errors.push({ pointer, detail: 'must be an ISO 3166 alpha-2 code' });
    }
    const value = spec.printable ? new AttributeValue({ printableString: v }) : new AttributeValue({ utf8String: v });
    // One attribute per RDN: multi-valued RDNs would need DER SET OF sorting and confuse displays.
    rdns.push(new RelativeDistinguishedName([new AttributeTypeAndValue({ type: spec.oid, value })]));
  }
  if (errors.length > 0) throw new ValidationError('The subject is invalid', errors, 'PKI_INVALID_INPUT');
  return new Name(rdns);
}

/**
 * A Name object that serializes to exactly `der` (an issuer's subject as found in its
 * certificate), so the issuer field of what we sign matches byte for byte (RFC 5280 §7.1).
 */
export function nameFromDer(der: Buffer): Name {
  const name = AsnConvert.parse(der, Name);
  const again = Buffer.from(AsnConvert.serialize(name));
  if (!again.equals(der)) throw new Error('issuer name does not survive re-encoding; refusing to copy it');
  return name;
}

export interface NameAttribute {
  oid: string;
  /** Short name (CN, O, ...) or the dotted OID. */
  type: string;
  value: string;
}

/** A name as read from DER: its attributes in order, an RFC 4514 string, and the original DER. */
export interface ParsedName {
  der: Buffer;
  attributes: NameAttribute[];
  /** RFC 4514 form (most specific RDN first), e.g. `CN=Seal,O=Agency,C=CN`. */
  text: string;
  /** The common fields, for convenience (first occurrence). */
  fields: Partial<Record<SubjectField, string>>;
}

const BY_OID = new Map(FIELDS.map((f) => [f.oid, f]));

function escapeRfc4514(v: string): string {
  let s = v.replace(/[\\"+,;<>=]/g, (c) => `\\${c}`);
  if (s.startsWith(' ') || s.startsWith('#')) s = `\\${s}`;
  if (s.endsWith(' ') && s.length > 1) s = `${s.slice(0, -1)}\\ `;
  return s;
}

export function readName(n: DerNode, what: string): ParsedName {
  const seq = readSequence(n, what);
  const attributes: NameAttribute[] = [];
  const rdnTexts: string[] = [];
  const fields: Partial<Record<SubjectField, string>> = {};
  while (seq.peek()) {
    const set = readSet(seq.next('RDN'), `${what} RDN`);
    if (!set.peek()) throw new DerError(`${what}: empty RDN`);
    const parts: string[] = [];
    while (set.peek()) {
      const atv = readSequence(set.next('AttributeTypeAndValue'), `${what} AttributeTypeAndValue`);
      const oid = readOid(atv.next('type'), `${what} type`);
      const valueNode = atv.next('value');
      atv.end();
      const spec = BY_OID.get(oid);
      let value: string;
      let text: string;
      try {
        value = readString(valueNode, `${what} value`);
        text = escapeRfc4514(value);
      } catch (e) {
        // Unknown attribute types may carry any ASN.1 value: RFC 4514 §2.4 hex form.
        if (spec || !(e instanceof DerError)) throw e;
        value = `#${valueNode.der.toString('hex')}`;
        text = value;
      }
      const type = spec?.short ?? oid;
      attributes.push({ oid, type, value });
      if (spec && fields[spec.field] === undefined) fields[spec.field] = value;
      parts.push(`${type}=${text}`);
    }
    rdnTexts.push(parts.join('+'));
  }
  return { der: n.der, attributes, text: rdnTexts.reverse().join(','), fields };
}
