/**
 * C2SP signed notes (https://c2sp.org/signed-note) and transparency-log checkpoints
 * (https://c2sp.org/tlog-checkpoint).
 *
 * A signed note is
 *
 *     <text: one or more lines, each ending in U+000A>
 *     <blank line>
 *     — <key name> <base64(key ID (4 bytes, big-endian) || signature)>      (one line per signature)
 *
 * with U+2014 EM DASH and U+0020 before the name. The whole note is UTF-8 with no control
 * characters below U+0020 except newline; the text is separated from the signatures by the LAST
 * blank line. Every signature is computed over the note TEXT: its UTF-8 bytes including the final
 * newline and excluding the separating blank line (for a checkpoint: "origin\nsize\nroot\n").
 *
 * Signature types (signed-note §"Signature types"):
 *
 *  - 0x01 Ed25519. Signature = Ed25519(text) per RFC 8032 (pure Ed25519, 64 bytes).
 *    Key ID = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4].
 *    Check with OpenSSL: write the text to body.txt and the 64 signature bytes to sig.bin, then
 *      openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in body.txt -sigfile sig.bin
 *
 *  - 0x02 ECDSA, "as implemented by github.com/transparency-dev/witness": signature = the DER
 *    ECDSA-Sig-Value over SHA-256(text) (Go: ecdsa.VerifyASN1(key, sha256(msg), sig)); curve P-256.
 *    Key ID = SHA-256(DER SubjectPublicKeyInfo)[:4] — the key name is NOT hashed for this type.
 *    This is the format of Sigstore Rekor v1 and Pixel BT checkpoints (vectors in
 *    tests/vectors/log/note/). Check with OpenSSL: the DER signature in sig.der, then
 *      openssl dgst -sha256 -verify pub.pem -signature sig.der body.txt
 *
 * ES256 is our default log key (the key store signs ECDSA, not Ed25519), so checkpoints use type
 * 0x02; Ed25519 (0x01) is supported for software keys and for verifying other logs and witnesses.
 * Other types (timestamped cosignatures 0x04, RFC 6962 STHs 0x05, ML-DSA) are parsed but, having no
 * verifier, are reported as unverified, as the spec requires for unknown keys.
 *
 * Verifier keys use the vkey text form of golang.org/x/mod/sumdb/note, shared by witnesses:
 *     <name>+<key ID as 8 hex digits>+<base64(type byte || public key)>
 * with the 32 raw key bytes for Ed25519 and the SPKI DER for ECDSA.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Signer } from '../crypto/key-provider';
import { AppError, ParseError, ValidationError } from '../errors';

export const NOTE_SIG_TYPE_ED25519 = 0x01;
export const NOTE_SIG_TYPE_ECDSA = 0x02;

export type NoteKeyType = 'Ed25519' | 'ECDSA';

/** A Signer (crypto/key-provider) or an Ed25519 signer; publicKey is SPKI DER in both cases. */
export interface NoteSigner {
  algorithm: Signer['algorithm'] | 'Ed25519';
  publicKey: Buffer;
  /** ES256: DER ECDSA signature over SHA-256(data). Ed25519: the 64-byte signature of data. */
  sign(data: Buffer): Promise<Buffer>;
}

export interface NoteKey {
  name: string;
  signer: NoteSigner;
}

export interface NoteVerifier {
  name: string;
  /** uint32 key ID. */
  keyId: number;
  type: NoteKeyType;
  verify(text: Buffer, signature: Buffer): boolean;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the key ID. */
  signature: Buffer;
  /** The base64 field exactly as received. */
  base64: string;
}

export interface Note {
  /** The signed text, including its final newline. */
  text: string;
  /** The bytes the signatures cover (UTF-8 of `text`, exactly as received). */
  textBytes: Buffer;
  signatures: NoteSignature[];
}

export interface VerifiedNote {
  text: string;
  /** Signatures from known keys, all of which verified. */
  verified: NoteSignature[];
  /** Signatures from keys not in the verifier list (ignored, per the spec). */
  unverified: NoteSignature[];
}

export interface NoteLimits {
  /** Whole note, in UTF-8 bytes. */
  maxBytes: number;
  /** Lines of text before the blank line. */
  maxTextLines: number;
  /** Signature lines (the spec requires accepting at least 16; Go's sumdb/note allows 100). */
  maxSignatures: number;
}

export const DEFAULT_NOTE_LIMITS: Readonly<NoteLimits> = Object.freeze({
  maxBytes: 256 * 1024,
  maxTextLines: 1000,
  maxSignatures: 100,
});

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** Optional extension lines (not recommended by the spec), without newlines. */
  extensions: string[];
}

const SIG_PREFIX = '\u2014 ';
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// Go's unicode.IsSpace plus U+FEFF: a key name containing any of these is invalid.
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;
// ASCII controls other than newline (signed-note §Format).
const FORBIDDEN_CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// ---------------------------------------------------------------------------------------------
// Keys.

/** signed-note: key names are non-empty and contain no Unicode spaces and no '+'. */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !UNICODE_SPACE.test(name) &&
    !name.includes('+') &&
    !FORBIDDEN_CONTROL.test(name) &&
    !LONE_SURROGATE.test(name)
  );
}

/**
 * A verifier for `name` and a public key (SPKI DER or KeyObject): Ed25519 → type 0x01, EC P-256 →
 * type 0x02. Other keys are refused with NOTE_UNSUPPORTED_KEY.
 */
export function noteVerifier(name: string, publicKey: Buffer | KeyObject): NoteVerifier {
  if (!isValidKeyName(name)) throw invalid('NOTE_INVALID_KEY_NAME', 'key names must be non-empty and contain no spaces or "+"');
  const key = toPublicKey(publicKey);
  if (key.asymmetricKeyType === 'ed25519') {
    const raw = ed25519Raw(key);
    return { name, keyId: ed25519KeyId(name, raw), type: 'Ed25519', verify: ed25519Verify(key) };
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    const spki = key.export({ type: 'spki', format: 'der' });
    return { name, keyId: ecdsaKeyId(spki), type: 'ECDSA', verify: ecdsaVerify(key) };
  }
  throw invalid('NOTE_UNSUPPORTED_KEY', 'note keys must be Ed25519 or ECDSA P-256');
}

/** The vkey text a witness or monitor is configured with: `<name>+<hex key ID>+<base64>`. */
export function formatVerifierKey(name: string, publicKey: Buffer | KeyObject): string {
  const v = noteVerifier(name, publicKey);
  const key = toPublicKey(publicKey);
  const material =
    v.type === 'Ed25519'
      ? Buffer.concat([Buffer.from([NOTE_SIG_TYPE_ED25519]), ed25519Raw(key)])
      : Buffer.concat([Buffer.from([NOTE_SIG_TYPE_ECDSA]), key.export({ type: 'spki', format: 'der' })]);
  return `${name}+${hex32(v.keyId)}+${material.toString('base64')}`;
}

/** Parses a vkey (`<name>+<hex key ID>+<base64(type || key)>`) for types 0x01 and 0x02. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  function bad(why: string): never {
    throw new ParseError(`invalid note verifier key: ${why}`, 'NOTE_INVALID_VERIFIER_KEY', { status: 400 });
  }
  if (typeof vkey !== 'string' || vkey.length > 4096) bad('not a string of reasonable length');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) bad('expected <name>+<key ID>+<key>');
  const name = vkey.slice(0, first);
  const hash16 = vkey.slice(first + 1, second);
  const material = decodeBase64Strict(vkey.slice(second + 1));
  if (!isValidKeyName(name)) bad('invalid key name');
  if (!/^[0-9a-f]{8}$/i.test(hash16)) bad('key ID must be 8 hex digits');
  if (!material || material.length < 2) bad('key material is not canonical base64');
  const keyId = parseInt(hash16, 16);
  const type = material[0];
  const body = material.subarray(1);
  if (type === NOTE_SIG_TYPE_ED25519) {
    if (body.length !== 32) bad('an Ed25519 key is 32 bytes');
    // Go sumdb/note: key ID = SHA-256(name || "\n" || 0x01 || key)[:4].
    if (ed25519KeyId(name, body) !== keyId) bad('key ID does not match the key');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, body]), format: 'der', type: 'spki' });
    } catch {
      return bad('not an Ed25519 public key');
    }
    return { name, keyId, type: 'Ed25519', verify: ed25519Verify(key) };
  }
  if (type === NOTE_SIG_TYPE_ECDSA) {
    // transparency-dev/formats note.NewECDSAVerifier: key ID = SHA-256(SPKI DER as given)[:4].
    if (ecdsaKeyId(body) !== keyId) bad('key ID does not match the key');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(body), format: 'der', type: 'spki' });
    } catch {
      return bad('ECDSA key is not a SubjectPublicKeyInfo');
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') bad('only P-256 ECDSA keys are accepted');
    return { name, keyId, type: 'ECDSA', verify: ecdsaVerify(key) };
  }
  return bad(`unsupported signature type 0x${(type ?? 0).toString(16).padStart(2, '0')}`);
}

// ---------------------------------------------------------------------------------------------
// Signing.

/**
 * Signs `text` (which must end in a newline) with each key and returns the signed note. Each
 * signature is checked against the signer's public key before it is used, so a signer whose
 * private key does not match the published key fails here, not at every verifier.
 */
export async function signNote(text: string, keys: readonly NoteKey[], limits: NoteLimits = DEFAULT_NOTE_LIMITS): Promise<string> {
  assertNoteText(text);
  if (!Array.isArray(keys) || keys.length === 0) throw invalid('NOTE_NO_SIGNER', 'a note needs at least one signer');
  const msg = Buffer.from(text, 'utf8');
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const { name, signer } of keys) {
    const verifier = signerVerifier(name, signer);
    const id = `${name}+${hex32(verifier.keyId)}`;
    if (seen.has(id)) throw invalid('NOTE_DUPLICATE_SIGNER', `key ${id} is listed twice`);
    seen.add(id);
    const signature = await signer.sign(msg);
    if (!Buffer.isBuffer(signature) || !verifier.verify(msg, signature)) {
      throw new AppError('NOTE_SIGNING_FAILED', 'the note signer produced a signature that does not verify with its public key');
    }
    const keyId = Buffer.alloc(4);
    keyId.writeUInt32BE(verifier.keyId);
    lines.push(`${SIG_PREFIX}${name} ${Buffer.concat([keyId, signature]).toString('base64')}\n`);
  }
  const note = `${text}\n${lines.join('')}`;
  parseNote(note, limits); // what we emit must be something we (and everyone else) accept
  return note;
}

function signerVerifier(name: string, signer: NoteSigner): NoteVerifier {
  if (!signer || typeof signer.sign !== 'function') throw invalid('NOTE_UNSUPPORTED_KEY', 'signer is missing');
  let verifier: NoteVerifier;
  try {
    verifier = noteVerifier(name, signer.publicKey);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw invalid('NOTE_UNSUPPORTED_KEY', 'signer public key is not a SubjectPublicKeyInfo', e);
  }
  const expected: Record<NoteKeyType, NoteSigner['algorithm']> = { Ed25519: 'Ed25519', ECDSA: 'ES256' };
  if (expected[verifier.type] !== signer.algorithm) {
    throw invalid('NOTE_UNSUPPORTED_KEY', `a ${signer.algorithm} signer cannot sign notes with this key (Ed25519 or ES256 only)`);
  }
  return verifier;
}

function assertNoteText(text: string): void {
  if (typeof text !== 'string' || text.length === 0 || !text.endsWith('\n')) {
    throw invalid('NOTE_INVALID_TEXT', 'note text must be non-empty and end with a newline');
  }
  if (FORBIDDEN_CONTROL.test(text) || LONE_SURROGATE.test(text)) {
    throw invalid('NOTE_INVALID_TEXT', 'note text must be valid UTF-8 without control characters other than newline');
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing and verification.

/**
 * Parses a signed note strictly: size and line-count limits, valid UTF-8 (for bytes) or
 * well-formed UTF-16 (for strings), no control characters but newline, the last blank line
 * followed only by well-formed signature lines (canonical base64, at least 5 bytes), nothing after
 * the final newline. Signatures are not checked here: see verifyNote.
 */
export function parseNote(input: string | Uint8Array, limits: NoteLimits = DEFAULT_NOTE_LIMITS): Note {
  let s: string;
  if (typeof input === 'string') {
    if (input.length > limits.maxBytes || Buffer.byteLength(input, 'utf8') > limits.maxBytes) tooLarge('the note is too large');
    if (LONE_SURROGATE.test(input)) malformed('the note is not valid Unicode');
    s = input;
  } else if (input instanceof Uint8Array) {
    if (input.length > limits.maxBytes) tooLarge('the note is too large');
    try {
      s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      return malformed('the note is not valid UTF-8');
    }
  } else {
    return malformed('the note must be text');
  }
  if (FORBIDDEN_CONTROL.test(s)) malformed('the note contains a control character');

  const split = s.lastIndexOf('\n\n');
  if (split < 0) malformed('no blank line before the signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) malformed('the signature block must be non-empty and end with a newline');
  if (countNewlines(text) > limits.maxTextLines) tooLarge('the note text has too many lines');

  const lines = block.slice(0, -1).split('\n');
  if (lines.length > limits.maxSignatures) tooLarge('the note has too many signatures');
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) malformed('a signature line must start with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) malformed('a signature line needs a key name and a signature');
    const name = rest.slice(0, space);
    const base64 = rest.slice(space + 1);
    if (!isValidKeyName(name)) malformed('invalid key name in a signature line');
    const raw = decodeBase64Strict(base64);
    if (!raw || raw.length < 5) malformed('a signature must be canonical base64 of at least 5 bytes');
    return { name, keyId: raw.readUInt32BE(0), signature: raw.subarray(4), base64 };
  });
  return { text, textBytes: Buffer.from(text, 'utf8'), signatures };
}

/**
 * Checks the note's signatures against `verifiers` (signed-note §Signatures): signatures from
 * unknown keys are ignored; every signature from a known key (same name AND key ID) must verify,
 * else NOTE_SIGNATURE_INVALID; at least one must, else NOTE_NOT_VERIFIED.
 */
export function verifyNote(note: Note, verifiers: readonly NoteVerifier[]): VerifiedNote {
  const known = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const id = `${v.name}+${hex32(v.keyId)}`;
    if (known.has(id)) throw invalid('NOTE_AMBIGUOUS_VERIFIER', `two verifiers share the key ${id}`);
    known.set(id, v);
  }
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenVerified = new Set<string>();
  const seenUnverified = new Set<string>();
  for (const sig of note.signatures) {
    const id = `${sig.name}+${hex32(sig.keyId)}`;
    const v = known.get(id);
    if (!v) {
      const line = `${sig.name} ${sig.base64}`;
      if (!seenUnverified.has(line)) unverified.push(sig);
      seenUnverified.add(line);
      continue;
    }
    if (!v.verify(note.textBytes, sig.signature)) {
      throw new AppError('NOTE_SIGNATURE_INVALID', 'a note signature from a known key did not verify', {
        status: 422,
        details: { key: id },
      });
    }
    if (!seenVerified.has(id)) verified.push(sig);
    seenVerified.add(id);
  }
  if (verified.length === 0) {
    throw new AppError('NOTE_NOT_VERIFIED', 'the note carries no signature from a trusted key', { status: 422 });
  }
  return { text: note.text, verified, unverified };
}

// ---------------------------------------------------------------------------------------------
// Checkpoints (c2sp.org/tlog-checkpoint).

/**
 * The checkpoint note text: origin, decimal size, base64 root hash, optional extension lines.
 * Our own origins must also be valid key names, since the log's key name should equal the origin.
 */
export function formatCheckpoint(c: { origin: string; size: number; rootHash: Uint8Array; extensions?: readonly string[] }): string {
  function bad(why: string): never {
    throw invalid('CHECKPOINT_INVALID', `cannot format checkpoint: ${why}`);
  }
  if (!isValidKeyName(c.origin)) bad('origin must be non-empty with no spaces, "+" or control characters');
  if (!Number.isSafeInteger(c.size) || c.size < 0) bad('size must be a non-negative safe integer');
  if (!(c.rootHash instanceof Uint8Array) || c.rootHash.length !== 32) bad('root hash must be 32 bytes');
  const extensions = c.extensions ?? [];
  for (const line of extensions) {
    if (typeof line !== 'string' || line.length === 0 || line.includes('\n') || FORBIDDEN_CONTROL.test(line) || LONE_SURROGATE.test(line)) {
      bad('extension lines must be non-empty single lines without control characters');
    }
  }
  const lines = [c.origin, String(c.size), Buffer.from(c.rootHash).toString('base64'), ...extensions];
  return `${lines.join('\n')}\n`;
}

/** Parses checkpoint note text (as returned in Note.text). */
export function parseCheckpoint(text: string): Checkpoint {
  function bad(why: string): never {
    throw new ParseError(`malformed checkpoint: ${why}`, 'CHECKPOINT_MALFORMED', { status: 400 });
  }
  if (typeof text !== 'string' || !text.endsWith('\n')) bad('text must end with a newline');
  if (text.length > DEFAULT_NOTE_LIMITS.maxBytes) bad('text is too large');
  if (FORBIDDEN_CONTROL.test(text) || LONE_SURROGATE.test(text)) bad('text contains control characters or invalid Unicode');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('expected origin, size and root hash lines');
  if (lines.some((l) => l.length === 0)) bad('empty line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  // Decimal with no leading zeros; bounded so that it is an exact JavaScript integer.
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) bad('tree size is not a canonical decimal');
  const rootHash = decodeBase64Strict(rootText);
  if (!rootHash || rootHash.length !== 32) bad('root hash is not canonical base64 of 32 bytes');
  return { origin, size: Number(sizeText), rootHash, extensions };
}

/**
 * Parses a signed checkpoint, verifies it with `verifiers` and, if `origin` is given, checks that
 * the checkpoint is for that log.
 */
export function openCheckpoint(
  input: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  options: { origin?: string; limits?: NoteLimits } = {},
): { checkpoint: Checkpoint; note: VerifiedNote } {
  const note = verifyNote(parseNote(input, options.limits), verifiers);
  const checkpoint = parseCheckpoint(note.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new AppError('CHECKPOINT_ORIGIN_MISMATCH', 'the checkpoint is for another log', { status: 422 });
  }
  return { checkpoint, note };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function toPublicKey(publicKey: Buffer | KeyObject): KeyObject {
  if (Buffer.isBuffer(publicKey)) {
    try {
      return createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
    } catch (e) {
      throw invalid('NOTE_UNSUPPORTED_KEY', 'public key is not a DER SubjectPublicKeyInfo', e);
    }
  }
  if (publicKey && typeof publicKey === 'object' && (publicKey as KeyObject).type === 'public') return publicKey;
  throw invalid('NOTE_UNSUPPORTED_KEY', 'expected a public key');
}

function ed25519Raw(key: KeyObject): Buffer {
  const spki = key.export({ type: 'spki', format: 'der' });
  if (spki.length !== 44 || !spki.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) {
    throw invalid('NOTE_UNSUPPORTED_KEY', 'unexpected Ed25519 key encoding');
  }
  return spki.subarray(12);
}

function ed25519KeyId(name: string, raw: Uint8Array): number {
  return createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, NOTE_SIG_TYPE_ED25519]))
    .update(raw)
    .digest()
    .readUInt32BE(0);
}

function ecdsaKeyId(spki: Uint8Array): number {
  return createHash('sha256').update(spki).digest().readUInt32BE(0);
}

function ed25519Verify(key: KeyObject): NoteVerifier['verify'] {
  return (text, signature) => {
    if (signature.length !== 64) return false;
    try {
      return cryptoVerify(null, text, key, signature);
    } catch {
      return false;
    }
  };
}

function ecdsaVerify(key: KeyObject): NoteVerifier['verify'] {
  return (text, signature) => {
    // A DER ECDSA-Sig-Value for P-256 is at most 72 bytes.
    if (signature.length < 8 || signature.length > 72) return false;
    try {
      return cryptoVerify('sha256', text, { key, dsaEncoding: 'der' }, signature);
    } catch {
      return false;
    }
  };
}

/** RFC 4648 §4 base64 with padding, rejecting anything that does not re-encode identically. */
function decodeBase64Strict(s: string): Buffer | undefined {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : undefined;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n += 1;
  return n;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function malformed(why: string): never {
  throw new ParseError(`malformed signed note: ${why}`, 'NOTE_MALFORMED', { status: 400 });
}

function tooLarge(why: string): never {
  throw new ParseError(`signed note exceeds limits: ${why}`, 'NOTE_TOO_LARGE', { status: 413 });
}

function invalid(code: string, message: string, cause?: unknown): ValidationError {
  return new ValidationError(message, [], code, { status: 400, cause });
}
