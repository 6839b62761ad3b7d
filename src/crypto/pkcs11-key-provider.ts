import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import type * as Pkcs11js from 'pkcs11js';
import { AppError, NotFoundError, StoreUnavailableError } from '../errors';
import { newId } from '../store/ids';
import type { KeyRecord, KeyRecordStore, KeyUseStore } from '../store/ports';
import { getAlgorithm, isAlgorithmName, type AlgorithmName, type AlgorithmSpec } from './algorithms';
import type { KeyInfo, KeyProvider, KeyUseContext } from './key-provider';
import { KeyUseRecorder } from './key-use-recorder';
import { assertKeyUse, keyUnavailable } from './software-key-provider';

type Pkcs11Module = typeof Pkcs11js;
type Handle = Buffer;

export interface Pkcs11KeyProviderOptions {
  /** Path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** The token, by label (CKA token label, trailing blanks ignored) … */
  tokenLabel?: string;
  /** … or by slot id (as `pkcs11-tool --list-slots` prints it). */
  slot?: number;
  /** User PIN. */
  pin: string;
  keys: KeyRecordStore;
  keyUses: KeyUseStore;
  now?: () => Date;
  /**
   * Sessions kept open (default 1). All share the one login; each runs one operation at a time,
   * so more sessions let a multi-core HSM sign in parallel.
   */
  sessions?: number;
}

export interface KeyAttributes {
  extractable: boolean;
  sensitive: boolean;
  neverExtractable?: boolean;
  alwaysSensitive?: boolean;
}

/** DER of the prime256v1 OID, the CKA_EC_PARAMS value for P-256 (RFC 5480 §2.1.1 namedCurve). */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const P256_POINT_BYTES = 65;
const CKA_ID_BYTES = 16;

/**
 * pkcs11js is loaded on first use, so the software key store runs on machines where the native
 * module is absent or unbuilt.
 */
function loadPkcs11js(): Pkcs11Module {
  try {
    return require('pkcs11js') as Pkcs11Module;
  } catch (e) {
    throw storeUnavailable('the pkcs11js native module cannot be loaded', e);
  }
}

function storeUnavailable(what: string, cause?: unknown): AppError {
  return new AppError('KEY_STORE_UNAVAILABLE', `PKCS#11 key store: ${what}`, cause === undefined ? {} : { cause });
}

function ckr(e: unknown): string {
  const m = (e as { message?: unknown })?.message;
  return typeof m === 'string' && /^CKR_\w+$/.test(m) ? m : 'error';
}

/**
 * A PKCS#11 library may be initialised once per process (a second C_Initialize answers
 * CKR_CRYPTOKI_ALREADY_INITIALIZED). Providers on the same library share one initialisation,
 * finalised when the last of them closes.
 */
interface SharedLibrary {
  lib: Pkcs11js.PKCS11;
  refs: number;
  /** False when someone else in the process had initialised it: then we never finalise. */
  ownsInit: boolean;
}
const libraries = new Map<string, SharedLibrary>();

function acquireLibrary(p: Pkcs11Module, modulePath: string): SharedLibrary {
  const existing = libraries.get(modulePath);
  if (existing) {
    existing.refs++;
    return existing;
  }
  const lib = new p.PKCS11();
  try {
    lib.load(modulePath);
  } catch (e) {
    throw storeUnavailable(`cannot load the library ${modulePath}`, e);
  }
  let ownsInit = true;
  try {
    // OS locking: the library may be entered from libuv's worker threads (C_SignAsync).
    lib.C_Initialize({ flags: p.CKF_OS_LOCKING_OK });
  } catch (e) {
    if ((e as { code?: number }).code !== p.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      lib.close();
      throw storeUnavailable(`C_Initialize failed (${ckr(e)})`, e);
    }
    ownsInit = false;
  }
  const shared = { lib, refs: 1, ownsInit };
  libraries.set(modulePath, shared);
  return shared;
}

function releaseLibrary(modulePath: string): void {
  const shared = libraries.get(modulePath);
  if (!shared || --shared.refs > 0) return;
  libraries.delete(modulePath);
  try {
    if (shared.ownsInit) shared.lib.C_Finalize();
  } finally {
    shared.lib.close();
  }
}

/** A session lent to one operation; the operation may replace it if the token dropped it. */
interface Lease {
  session: Handle;
}

interface TokenKey {
  id: string;
  spec: AlgorithmSpec;
  agencyCode: string | null;
  publicKey: Buffer;
  ckaId: Buffer;
  handle: Handle | null;
  mechanism: Pkcs11js.Mechanism;
  /** Bytes of the token's signature output (r‖s for ECDSA, the modulus length for RSA). */
  signatureBytes: number;
}

/**
 * The HSM key store. Key pairs are generated inside the token as non-extractable, sensitive
 * token objects; the key record keeps only the public key and the CKA_ID. The token signs:
 * ES256 as CKM_ECDSA over a SHA-256 digest computed here (raw r‖s converted to DER), RS256 as
 * CKM_SHA256_RSA_PKCS, PS256 as CKM_SHA256_RSA_PKCS_PSS (SHA-256, MGF1-SHA-256, salt 32).
 *
 * Sessions: one login (PKCS#11 logs in the application, not the session) and a small pool of
 * sessions, each running one operation at a time; an operation waits for a free session. Signing
 * itself runs off the event loop (C_SignAsync), since a network HSM or RSA-3072 takes
 * milliseconds.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly kind = 'pkcs11' as const;
  private readonly recorder: KeyUseRecorder;
  private readonly now: () => Date;
  private readonly cache = new Map<string, TokenKey>();
  private readonly loading = new Map<string, Promise<TokenKey>>();
  private readonly idle: Lease[] = [];
  private readonly waiters: ((lease: Lease) => void)[] = [];
  private readonly leases: Lease[] = [];
  private closed = false;
  /** Kept for re-login after a dropped session; a #private field so inspect/loggers never show it. */
  readonly #pin: string;
  private readonly options: Omit<Pkcs11KeyProviderOptions, 'pin'>;

  private constructor(
    private readonly p: Pkcs11Module,
    private readonly lib: Pkcs11js.PKCS11,
    private readonly slot: Handle,
    { pin, ...options }: Pkcs11KeyProviderOptions,
  ) {
    this.#pin = pin;
    this.options = options;
    this.now = options.now ?? (() => new Date());
    this.recorder = new KeyUseRecorder(options.keyUses, { now: this.now });
  }

  /** Loads the library, finds the token, logs in and opens the session pool. */
  static async open(options: Pkcs11KeyProviderOptions): Promise<Pkcs11KeyProvider> {
    if ((options.tokenLabel === undefined) === (options.slot === undefined)) {
      throw storeUnavailable('configure exactly one of tokenLabel and slot');
    }
    const p = loadPkcs11js();
    const shared = acquireLibrary(p, options.modulePath);
    let provider: Pkcs11KeyProvider | null = null;
    try {
      const slot = findSlot(p, shared.lib, options);
      provider = new Pkcs11KeyProvider(p, shared.lib, slot, options);
      const count = Math.max(1, Math.floor(options.sessions ?? 1));
      for (let i = 0; i < count; i++) {
        const lease = { session: provider.openSession() };
        provider.leases.push(lease);
        provider.idle.push(lease);
      }
      return provider;
    } catch (e) {
      if (provider) provider.closeSessions();
      releaseLibrary(options.modulePath);
      throw e;
    }
  }

  async generate(algorithm: AlgorithmName, options: { label: string; agencyCode: string | null }): Promise<KeyInfo> {
    if (!isAlgorithmName(algorithm)) throw new AppError('VALIDATION_FAILED', `Unsupported algorithm ${String(algorithm)}`);
    // SM2 through PKCS#11 needs vendor mechanisms (CKM_SM2 is not in the OASIS standard); until
    // then SM2 keys live in the software key store only.
    if (algorithm === 'SM2') throw new AppError('VALIDATION_FAILED', 'SM2 keys are only available in the software key store');
    const spec = getAlgorithm(algorithm);
    const id = newId('key_', this.now().getTime());
    const ckaId = randomBytes(CKA_ID_BYTES);
    const { p } = this;

    const { publicKey, privateKey, spki } = await this.withSession(async (lease) => {
      const common: Pkcs11js.Template = [
        { type: p.CKA_TOKEN, value: true },
        { type: p.CKA_ID, value: ckaId },
        { type: p.CKA_LABEL, value: options.label },
      ];
      // Signing keys only (key separation): no decrypt, unwrap or derive.
      const pub: Pkcs11js.Template = [...common, { type: p.CKA_PRIVATE, value: false }, { type: p.CKA_VERIFY, value: true }];
      const priv: Pkcs11js.Template = [
        ...common,
        { type: p.CKA_PRIVATE, value: true },
        { type: p.CKA_SENSITIVE, value: true },
        { type: p.CKA_EXTRACTABLE, value: false },
        { type: p.CKA_SIGN, value: true },
      ];
      let mechanism: number;
      if (spec.keyType === 'ec') {
        mechanism = p.CKM_EC_KEY_PAIR_GEN;
        pub.push({ type: p.CKA_EC_PARAMS, value: P256_PARAMS });
        priv.push({ type: p.CKA_DERIVE, value: false });
      } else {
        mechanism = p.CKM_RSA_PKCS_KEY_PAIR_GEN;
        pub.push(
          { type: p.CKA_MODULUS_BITS, value: spec.modulusLength! },
          { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([0x01, 0x00, 0x01]) },
          { type: p.CKA_ENCRYPT, value: false },
          { type: p.CKA_WRAP, value: false },
        );
        priv.push({ type: p.CKA_DECRYPT, value: false }, { type: p.CKA_UNWRAP, value: false });
      }
      const pair = await this.lib.C_GenerateKeyPairAsync(lease.session, { mechanism }, pub, priv);
      try {
        this.assertProtected(lease.session, pair.privateKey);
        return { ...pair, spki: this.readSpki(lease.session, pair.publicKey, spec) };
      } catch (e) {
        this.destroy(lease.session, pair);
        throw e;
      }
    });

    const record: KeyRecord = {
      id,
      algorithm,
      keyStore: 'pkcs11',
      label: options.label,
      agencyCode: options.agencyCode,
      publicKey: spki.toString('base64'),
      wrappedKey: null,
      tokenKeyId: ckaId.toString('hex'),
      createdAt: this.now().toISOString(),
    };
    try {
      await this.options.keys.create(record);
    } catch (e) {
      // No orphan key pairs in the token for keys the service does not know about.
      await this.withSession((lease) => this.destroy(lease.session, { publicKey, privateKey }));
      throw e;
    }
    this.cache.set(id, tokenKey(record, spec, ckaId, privateKey, this.mechanismFor(spec)));
    return { id, algorithm, keyStore: 'pkcs11', publicKey: Buffer.from(spki) };
  }

  async info(keyId: string): Promise<KeyInfo> {
    const key = this.cache.get(keyId) ?? (await this.load(keyId));
    return { id: key.id, algorithm: key.spec.name, keyStore: 'pkcs11', publicKey: Buffer.from(key.publicKey) };
  }

  async sign(keyId: string, data: Buffer, context: KeyUseContext): Promise<Buffer> {
    const key = this.cache.get(keyId) ?? (await this.load(keyId));
    assertKeyUse(keyId, key.agencyCode, data, context);
    // CKM_ECDSA signs a digest; the RSA mechanisms hash inside the token.
    const input = key.spec.keyType === 'ec' ? createHash(key.spec.hash).update(data).digest() : Buffer.from(data);
    const raw = await this.withSession((lease) => this.tokenSign(lease, key, input));
    const signature = key.spec.keyType === 'ec' ? ecdsaRawToDer(raw) : raw;
    await this.recorder.record(keyId, data, context);
    return signature;
  }

  /** The private key's protection attributes as the token reports them. */
  async getKeyAttributes(keyId: string): Promise<KeyAttributes> {
    const key = this.cache.get(keyId) ?? (await this.load(keyId));
    const { p } = this;
    return this.withSession((lease) => {
      const handle = this.handleOf(lease.session, key);
      const attrs = this.lib.C_GetAttributeValue(lease.session, handle, [
        { type: p.CKA_EXTRACTABLE },
        { type: p.CKA_SENSITIVE },
        { type: p.CKA_NEVER_EXTRACTABLE },
        { type: p.CKA_ALWAYS_SENSITIVE },
      ]);
      const flag = (type: number): boolean | undefined => {
        const v = attrs.find((a) => a.type === type)?.value;
        return v && v.length > 0 ? v[0] !== 0 : undefined;
      };
      return {
        extractable: flag(p.CKA_EXTRACTABLE) ?? true,
        sensitive: flag(p.CKA_SENSITIVE) ?? false,
        neverExtractable: flag(p.CKA_NEVER_EXTRACTABLE),
        alwaysSensitive: flag(p.CKA_ALWAYS_SENSITIVE),
      };
    });
  }

  /** Waits for running operations, closes the sessions, and finalises the library if last. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.idle.length < this.leases.length) {
      await new Promise<void>((resolve) =>
        this.waiters.push((lease) => {
          this.idle.push(lease);
          resolve();
        }),
      );
    }
    this.closeSessions();
    this.cache.clear();
    releaseLibrary(this.options.modulePath);
  }

  // --- sessions ---------------------------------------------------------------------------

  private openSession(): Handle {
    const { p } = this;
    let session: Handle;
    try {
      session = this.lib.C_OpenSession(this.slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    } catch (e) {
      throw storeUnavailable(`cannot open a session (${ckr(e)})`, e);
    }
    try {
      this.lib.C_Login(session, p.CKU_USER, this.#pin);
    } catch (e) {
      if ((e as { code?: number }).code !== p.CKR_USER_ALREADY_LOGGED_IN) {
        this.lib.C_CloseSession(session);
        // The CKR code (e.g. CKR_PIN_INCORRECT) is for the operator; the PIN is never shown.
        throw storeUnavailable(`login failed (${ckr(e)})`, e);
      }
    }
    return session;
  }

  private closeSessions(): void {
    for (const lease of this.leases) {
      try {
        this.lib.C_CloseSession(lease.session);
      } catch {
        // Already gone with the token; nothing to release.
      }
    }
    this.leases.length = 0;
    this.idle.length = 0;
  }

  private async withSession<T>(fn: (lease: Lease) => T | Promise<T>): Promise<T> {
    if (this.closed) throw storeUnavailable('the provider is closed');
    const lease = this.idle.pop() ?? (await new Promise<Lease>((resolve) => this.waiters.push(resolve)));
    try {
      return await fn(lease);
    } finally {
      const next = this.waiters.shift();
      if (next) next(lease);
      else this.idle.push(lease);
    }
  }

  /** True for errors after which the session (or the login) is gone and can be reopened. */
  private isSessionLost(e: unknown): boolean {
    const code = (e as { code?: number }).code;
    const { p } = this;
    return code === p.CKR_SESSION_HANDLE_INVALID || code === p.CKR_SESSION_CLOSED || code === p.CKR_USER_NOT_LOGGED_IN;
  }

  private isHandleStale(e: unknown): boolean {
    const code = (e as { code?: number }).code;
    return code === this.p.CKR_KEY_HANDLE_INVALID || code === this.p.CKR_OBJECT_HANDLE_INVALID;
  }

  // --- keys -------------------------------------------------------------------------------

  private async tokenSign(lease: Lease, key: TokenKey, input: Buffer): Promise<Buffer> {
    // Each recovery at most once: a dropped session (tokens drop them on resets and timeouts; the
    // login goes with the last one) and a stale object handle (which follows a lost login).
    let reopened = false;
    let refound = false;
    for (;;) {
      try {
        const handle = this.handleOf(lease.session, key);
        this.lib.C_SignInit(lease.session, key.mechanism, handle);
        const out = await this.lib.C_SignAsync(lease.session, input, Buffer.alloc(key.signatureBytes));
        return Buffer.from(out);
      } catch (e) {
        if (!reopened && this.isSessionLost(e)) {
          reopened = true;
          try {
            this.lib.C_CloseSession(lease.session);
          } catch {
            // already closed
          }
          lease.session = this.openSession();
          continue;
        }
        if (!refound && this.isHandleStale(e)) {
          refound = true;
          key.handle = null;
          continue;
        }
        if (e instanceof AppError) throw e;
        throw keyUnavailable(key.id, e);
      }
    }
  }

  private handleOf(session: Handle, key: TokenKey): Handle {
    if (key.handle) return key.handle;
    const { p } = this;
    this.lib.C_FindObjectsInit(session, [
      { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY },
      { type: p.CKA_ID, value: key.ckaId },
    ]);
    let found: Handle[];
    try {
      found = this.lib.C_FindObjects(session, 2);
    } finally {
      this.lib.C_FindObjectsFinal(session);
    }
    // Two objects with one CKA_ID would make the key ambiguous: refuse rather than pick one.
    if (found.length !== 1) throw keyUnavailable(key.id);
    key.handle = found[0];
    return key.handle;
  }

  private load(keyId: string): Promise<TokenKey> {
    let pending = this.loading.get(keyId);
    if (!pending) {
      pending = this.fetch(keyId).finally(() => this.loading.delete(keyId));
      this.loading.set(keyId, pending);
    }
    return pending;
  }

  private async fetch(keyId: string): Promise<TokenKey> {
    let record: KeyRecord | null;
    try {
      record = await this.options.keys.get(keyId);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new StoreUnavailableError('The key record store is not reachable', { cause: e });
    }
    if (!record) throw new NotFoundError(`Key ${keyId}`);
    if (record.keyStore !== 'pkcs11' || !record.tokenKeyId || !isAlgorithmName(record.algorithm)) {
      throw keyUnavailable(keyId);
    }
    const spec = getAlgorithm(record.algorithm);
    const key = tokenKey(record, spec, Buffer.from(record.tokenKeyId, 'hex'), null, this.mechanismFor(spec));
    // Resolve the handle now, so a key missing from the token fails here and not mid-signature.
    await this.withSession((lease) => this.handleOf(lease.session, key));
    this.cache.set(keyId, key);
    return key;
  }

  private mechanismFor(spec: AlgorithmSpec): Pkcs11js.Mechanism {
    const { p } = this;
    if (spec.keyType === 'ec') return { mechanism: p.CKM_ECDSA };
    if (spec.padding === 'pss') {
      // RFC 4055 §3.1 / PKCS#11 §2.1.14: the message hash, MGF1 hash and salt length all match.
      const parameter: Pkcs11js.RsaPSS = {
        type: p.CK_PARAMS_RSA_PSS,
        hashAlg: p.CKM_SHA256,
        mgf: p.CKG_MGF1_SHA256,
        saltLen: spec.saltLength!,
      };
      return { mechanism: p.CKM_SHA256_RSA_PKCS_PSS, parameter };
    }
    return { mechanism: p.CKM_SHA256_RSA_PKCS };
  }

  /** Refuses a token that ignored the template (some do) and made the key exportable. */
  private assertProtected(session: Handle, privateKey: Handle): void {
    const { p } = this;
    const attrs = this.lib.C_GetAttributeValue(session, privateKey, [{ type: p.CKA_EXTRACTABLE }, { type: p.CKA_SENSITIVE }]);
    const [extractable, sensitive] = attrs.map((a) => a.value.length > 0 && a.value[0] !== 0);
    if (extractable || !sensitive) throw storeUnavailable('the token did not create the key as sensitive and non-extractable');
  }

  /** SubjectPublicKeyInfo DER from the token's public key attributes (RFC 5480, RFC 8017). */
  private readSpki(session: Handle, publicKey: Handle, spec: AlgorithmSpec): Buffer {
    const { p } = this;
    if (spec.keyType === 'ec') {
      const [params, point] = this.lib
        .C_GetAttributeValue(session, publicKey, [{ type: p.CKA_EC_PARAMS }, { type: p.CKA_EC_POINT }])
        .map((a) => a.value);
      if (!params.equals(P256_PARAMS)) throw storeUnavailable('the token returned a key on another curve');
      return ecSpki(point);
    }
    const [modulus, exponent] = this.lib
      .C_GetAttributeValue(session, publicKey, [{ type: p.CKA_MODULUS }, { type: p.CKA_PUBLIC_EXPONENT }])
      .map((a) => a.value);
    return rsaSpki(modulus, exponent);
  }

  private destroy(session: Handle, pair: { publicKey: Handle; privateKey: Handle }): void {
    for (const h of [pair.privateKey, pair.publicKey]) {
      try {
        this.lib.C_DestroyObject(session, h);
      } catch {
        // Best effort: the original error is the one worth reporting.
      }
    }
  }
}

function tokenKey(
  record: KeyRecord,
  spec: AlgorithmSpec,
  ckaId: Buffer,
  handle: Handle | null,
  mechanism: Pkcs11js.Mechanism,
): TokenKey {
  const publicKey = Buffer.from(record.publicKey, 'base64');
  const signatureBytes =
    spec.keyType === 'ec' ? 64 : Math.ceil((createPublicKey({ key: publicKey, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength ?? 4096) / 8);
  return { id: record.id, spec, agencyCode: record.agencyCode, publicKey, ckaId, handle, mechanism, signatureBytes };
}

function findSlot(p: Pkcs11Module, lib: Pkcs11js.PKCS11, options: Pkcs11KeyProviderOptions): Handle {
  let slots: Handle[];
  try {
    slots = lib.C_GetSlotList(true);
  } catch (e) {
    throw storeUnavailable(`cannot list slots (${ckr(e)})`, e);
  }
  for (const slot of slots) {
    if (options.slot !== undefined) {
      if (slotNumber(slot) === BigInt(options.slot)) return slot;
      continue;
    }
    const info = lib.C_GetTokenInfo(slot);
    if (info.label.replace(/[\s\0]+$/, '') === options.tokenLabel && (info.flags & p.CKF_TOKEN_INITIALIZED) !== 0) return slot;
  }
  const which = options.slot !== undefined ? `slot ${options.slot}` : `token "${options.tokenLabel}"`;
  throw storeUnavailable(`no initialised ${which} is present`);
}

/** CK_SLOT_ID as a number: pkcs11js hands out CK_ULONG handles as little-endian buffers. */
function slotNumber(slot: Handle): bigint {
  let n = 0n;
  for (let i = slot.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(slot[i]);
  return n;
}

/**
 * CKA_EC_POINT is a DER OCTET STRING holding the uncompressed point (PKCS#11 v2.40 §2.3.3);
 * some tokens return the bare point, which is accepted too. Node builds and validates the SPKI
 * (the point must lie on the curve).
 */
export function ecSpki(ecPoint: Buffer): Buffer {
  let point = ecPoint;
  if (point.length === P256_POINT_BYTES + 2 && point[0] === 0x04 && point[1] === P256_POINT_BYTES) point = point.subarray(2);
  if (point.length !== P256_POINT_BYTES || point[0] !== 0x04) throw storeUnavailable('the token returned a malformed EC point');
  try {
    return createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    }).export({ type: 'spki', format: 'der' });
  } catch (e) {
    throw storeUnavailable('the token returned an invalid EC point', e);
  }
}

/** RSA SubjectPublicKeyInfo (RFC 8017 A.1.1 RSAPublicKey, rsaEncryption OID with NULL params). */
export function rsaSpki(modulus: Buffer, exponent: Buffer): Buffer {
  const b64u = (b: Buffer): string => stripZeros(b).toString('base64url');
  try {
    return createPublicKey({ key: { kty: 'RSA', n: b64u(modulus), e: b64u(exponent) }, format: 'jwk' }).export({
      type: 'spki',
      format: 'der',
    });
  } catch (e) {
    throw storeUnavailable('the token returned an invalid RSA public key', e);
  }
}

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * Converts PKCS#11's ECDSA output (r ‖ s, each the field size) to the DER Ecdsa-Sig-Value that
 * X.509 and CMS carry (RFC 5480 §2.2 / RFC 3279 §2.2.3: SEQUENCE { r INTEGER, s INTEGER }).
 */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new AppError('KEY_UNAVAILABLE', 'The token returned a malformed ECDSA signature');
  const half = raw.length / 2;
  const int = (v: Buffer): Buffer => {
    let x = stripZeros(v);
    if (x[0] & 0x80) x = Buffer.concat([Buffer.from([0]), x]);
    return Buffer.concat([Buffer.from([0x02, x.length]), x]);
  };
  const body = Buffer.concat([int(raw.subarray(0, half)), int(raw.subarray(half))]);
  // P-256 bodies are at most 70 bytes, so the short length form always applies.
  if (body.length > 127) throw new AppError('KEY_UNAVAILABLE', 'ECDSA signature too long');
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
