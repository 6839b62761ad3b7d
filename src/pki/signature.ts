/**
 * Signature AlgorithmIdentifiers for the algorithm table, signature verification with Node's
 * crypto, and SubjectPublicKeyInfo inspection. Signing itself is always the injected Signer's.
 */
import { constants, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { RsaSaPssParams } from '@peculiar/asn1-rsa';
import { ALGORITHMS, OID, type AlgorithmName } from '../crypto/algorithms';
import {
  DerError,
  decodeDer,
  readBitString,
  readExplicit,
  readNull,
  readOid,
  readSequence,
  readSmallInt,
  type DerNode,
} from './der';
import { HASHES } from './hashes';
import { sm2PublicPoint, sm2Verify } from '../crypto/sm2';

/** An AlgorithmIdentifier as received: the OID and the parameters' original DER, if any. */
export interface AlgorithmIdentifierValue {
  oid: string;
  parameters?: Buffer;
  /** The whole AlgorithmIdentifier as received. */
  der: Buffer;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
export function readAlgorithmIdentifier(n: DerNode, what: string): AlgorithmIdentifierValue {
  const r = readSequence(n, what);
  const oid = readOid(r.next('algorithm'), `${what}.algorithm`);
  const p = r.peek() ? r.next('parameters') : undefined;
  r.end();
  return { oid, parameters: p?.der, der: n.der };
}

/** True when the parameters are absent or NULL (the two forms RFC 5754 §2 allows for SHA-2). */
export function hasNoParameters(ai: AlgorithmIdentifierValue): boolean {
  return ai.parameters === undefined || (ai.parameters.length === 2 && ai.parameters[0] === 0x05 && ai.parameters[1] === 0x00);
}

const MGF1 = OID.mgf1;

function sha256Identifier(): AlgorithmIdentifier {
  // RFC 4055 §2.1: sha256Identifier ::= { id-sha256, NULL } inside RSASSA-PSS parameters.
  return new AlgorithmIdentifier({ algorithm: OID.sha256, parameters: null });
}

/**
 * The signatureAlgorithm we write for an algorithm (X.509, CRL, OCSP and CMS alike):
 * ecdsa-with-SHA256 with absent parameters (RFC 5758 §3.2), sha256WithRSAEncryption with NULL
 * (RFC 4055 §5), RSASSA-PSS with explicit SHA-256 / MGF1-SHA-256 / salt 32 (RFC 4055 §3.1).
 */
export function signatureAlgorithmIdentifier(name: AlgorithmName): AlgorithmIdentifier {
  const spec = ALGORITHMS[name];
  switch (spec.name) {
    case 'ES256':
    // SM2-with-SM3 with absent parameters, as GM/T 0015 certificates and OpenSSL write it.
    case 'SM2':
      return new AlgorithmIdentifier({ algorithm: spec.signatureOid });
    case 'RS256':
      return new AlgorithmIdentifier({ algorithm: spec.signatureOid, parameters: null });
    case 'PS256': {
      const params = new RsaSaPssParams({
        hashAlgorithm: sha256Identifier(),
        maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: MGF1, parameters: AsnConvert.serialize(sha256Identifier()) }),
        saltLength: spec.saltLength ?? 32,
      });
      return new AlgorithmIdentifier({ algorithm: spec.signatureOid, parameters: AsnConvert.serialize(params) });
    }
  }
}

/** The digestAlgorithm we write in CMS (RFC 5754 §2: SHA-2 parameters absent). */
export function digestAlgorithmIdentifier(): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: HASHES.sha256.oid });
}

/** What a received signature AlgorithmIdentifier means, if it is one we accept. */
export interface SignatureScheme {
  algorithm: AlgorithmName;
  /** PSS salt length from the parameters. */
  saltLength?: number;
}

function readHashAlgId(n: DerNode, what: string): string {
  const ai = readAlgorithmIdentifier(n, what);
  if (!hasNoParameters(ai)) throw new DerError(`${what}: unexpected hash parameters`);
  return ai.oid;
}

/** RSASSA-PSS-params (RFC 4055 §3.1); only SHA-256 with MGF1-SHA-256 and trailer 1 is accepted. */
function readPssParams(der: Buffer): number {
  const r = readSequence(decodeDer(der), 'RSASSA-PSS-params');
  let hash = HASHES.sha1.oid;
  let mgfHash = HASHES.sha1.oid;
  let salt = 20;
  const h = r.optionalContext(0);
  if (h) hash = readHashAlgId(readExplicit(h, 0, 'hashAlgorithm'), 'hashAlgorithm');
  const m = r.optionalContext(1);
  if (m) {
    const mgf = readAlgorithmIdentifier(readExplicit(m, 1, 'maskGenAlgorithm'), 'maskGenAlgorithm');
    if (mgf.oid !== MGF1 || !mgf.parameters) throw new DerError('maskGenAlgorithm must be MGF1');
    mgfHash = readHashAlgId(decodeDer(mgf.parameters), 'MGF1 hash');
  }
  const s = r.optionalContext(2);
  if (s) salt = readSmallInt(readExplicit(s, 2, 'saltLength'), 'saltLength');
  const t = r.optionalContext(3);
  if (t && readSmallInt(readExplicit(t, 3, 'trailerField'), 'trailerField') !== 1) throw new DerError('unsupported PSS trailer');
  r.end();
  if (hash !== HASHES.sha256.oid || mgfHash !== HASHES.sha256.oid) throw new DerError('PSS must use SHA-256 and MGF1-SHA-256');
  if (salt < 0 || salt > 64) throw new DerError('unsupported PSS salt length');
  return salt;
}

/**
 * Maps a received signature AlgorithmIdentifier to our table, or undefined if we do not accept
 * it. `rsaEncryption` is accepted for RS256 because CMS signers (OpenSSL among them) write it in
 * SignerInfo.signatureAlgorithm (RFC 3370 §3.2); the digest then comes from digestAlgorithm.
 */
export function signatureSchemeOf(ai: AlgorithmIdentifierValue): SignatureScheme | undefined {
  try {
    switch (ai.oid) {
      case OID.ecdsaWithSHA256:
        return ai.parameters === undefined ? { algorithm: 'ES256' } : undefined;
      case OID.sha256WithRSAEncryption:
      case OID.rsaEncryption:
        return hasNoParameters(ai) ? { algorithm: 'RS256' } : undefined;
      case OID.rsassaPss:
        return ai.parameters ? { algorithm: 'PS256', saltLength: readPssParams(ai.parameters) } : undefined;
      case OID.sm2WithSm3:
        // Some issuers write NULL parameters; both forms mean the same algorithm.
        return hasNoParameters(ai) ? { algorithm: 'SM2' } : undefined;
      default:
        return undefined;
    }
  } catch (e) {
    if (e instanceof DerError) return undefined;
    throw e;
  }
}

/** A SubjectPublicKeyInfo, checked and described. */
export interface PublicKeyInfo {
  keyType: 'ec' | 'rsa';
  namedCurve?: string;
  modulusLength?: number;
  /** The subjectPublicKey BIT STRING's octets: what SKI and OCSP key hashes are computed over. */
  publicKeyBits: Buffer;
  key: KeyObject;
}

/**
 * Reads an SPKI (RFC 5280 §4.1.2.7) strictly and lets Node validate the key material. Only
 * P-256 and SM2 EC keys and RSA keys (rsaEncryption, RFC 3279 §2.3.1) are recognised.
 */
export function readPublicKeyInfo(spki: Buffer): PublicKeyInfo {
  const r = readSequence(decodeDer(spki, { maxBytes: 16384 }), 'SubjectPublicKeyInfo');
  const alg = readAlgorithmIdentifier(r.next('algorithm'), 'SubjectPublicKeyInfo.algorithm');
  const bits = readBitString(r.next('subjectPublicKey'), 'subjectPublicKey');
  r.end();
  if (bits.unusedBits !== 0) throw new DerError('subjectPublicKey has unused bits');
  if (alg.oid === OID.ecPublicKey) {
    if (!alg.parameters) throw new DerError('EC key without curve parameters');
    const curve = readOid(decodeDer(alg.parameters), 'namedCurve');
    // P-256, or the SM2 curve (GM/T 0006: id-ecPublicKey with the sm2 curve OID as parameter).
    if (curve !== OID.prime256v1 && curve !== OID.sm2Curve) throw new DerError('unsupported EC curve');
    if (curve === OID.sm2Curve) {
      // Node reports no key type for SM2 keys (OpenSSL loads them as EVP_PKEY_SM2): the point is
      // checked on the curve here and SM2 verification works from the point (src/crypto/sm2.ts).
      try {
        sm2PublicPoint(spki);
        return { keyType: 'ec', namedCurve: 'SM2', publicKeyBits: bits.bytes, key: createPublicKey({ key: spki, format: 'der', type: 'spki' }) };
      } catch {
        throw new DerError('the public key is not valid');
      }
    }
  } else if (alg.oid === OID.rsaEncryption) {
    if (!alg.parameters) throw new DerError('rsaEncryption without NULL parameters');
    readNull(decodeDer(alg.parameters), 'rsaEncryption parameters');
  } else {
    throw new DerError('unsupported public key algorithm');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw new DerError('the public key is not valid');
  }
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    return { keyType: 'ec', namedCurve: d.namedCurve, publicKeyBits: bits.bytes, key };
  }
  if (key.asymmetricKeyType === 'rsa') {
    return { keyType: 'rsa', modulusLength: d.modulusLength, publicKeyBits: bits.bytes, key };
  }
  throw new DerError('unsupported public key type');
}

/** Whether a public key may be used with an algorithm of the table (type, curve, minimum size). */
export function keyFitsAlgorithm(info: PublicKeyInfo, name: AlgorithmName): boolean {
  const spec = ALGORITHMS[name];
  if (spec.keyType !== info.keyType) return false;
  if (spec.keyType === 'ec') return info.namedCurve === spec.namedCurve;
  return (info.modulusLength ?? 0) >= (spec.minModulusLength ?? 2048);
}

/**
 * Verifies `signature` over `data` with the SPKI's key under `scheme`. Returns false for any
 * failure, including a key that does not fit the scheme: callers report one generic failure.
 */
export function verifySignature(key: PublicKeyInfo, scheme: SignatureScheme, data: Uint8Array, signature: Uint8Array): boolean {
  if (!keyFitsAlgorithm(key, scheme.algorithm)) return false;
  try {
    switch (scheme.algorithm) {
      case 'ES256':
        return nodeVerify('sha256', data, { key: key.key, dsaEncoding: 'der' }, signature);
      case 'RS256':
        return nodeVerify('sha256', data, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'PS256':
        return nodeVerify(
          'sha256',
          data,
          { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength ?? 32 },
          signature,
        );
      case 'SM2':
        // Always with the default user id (GM/T 0009 §10), never Node's verify (empty id).
        return sm2Verify(Buffer.from(key.publicKeyBits), data, signature);
    }
  } catch {
    return false;
  }
}
