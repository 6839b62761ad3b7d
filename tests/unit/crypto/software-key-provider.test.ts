import nodeCrypto, { constants, createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { inspect } from 'node:util';
import type { AlgorithmName } from '../../../src/crypto/algorithms';
import type { KeyUseContext } from '../../../src/crypto/key-provider';
import { SoftwareKeyProvider, unsealPrivateKey } from '../../../src/crypto/software-key-provider';
import { AppError } from '../../../src/errors';
import { memoryKeyStores, type MemoryKeyRecordStore, type MemoryKeyUseStore } from '../../helpers/memory-key-stores';

const ctx: KeyUseContext = { apiKeyId: 'ak_0001', agencyCode: '91330000MA27XYZ12A', purpose: 'cades' };
const fixedNow = new Date('2025-03-01T08:00:00.000Z');

function setup(masterKey = randomBytes(32)): {
  provider: SoftwareKeyProvider;
  keys: MemoryKeyRecordStore;
  keyUses: MemoryKeyUseStore;
  masterKey: Buffer;
} {
  const { keys, keyUses } = memoryKeyStores();
  const provider = new SoftwareKeyProvider({ masterKey, keys, keyUses, now: () => fixedNow });
  return { provider, keys, keyUses, masterKey };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a rejection');
}

describe('SoftwareKeyProvider', () => {
  const data = Buffer.from('the bytes to be signed: signed attributes of a CMS SignerInfo');

  describe.each<[AlgorithmName, object]>([
    ['ES256', { dsaEncoding: 'der' }],
    ['RS256', { padding: constants.RSA_PKCS1_PADDING }],
    ['PS256', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
  ])('%s', (algorithm, verifyOptions) => {
    it('generates a key whose signatures node:crypto verifies', async () => {
      const { provider } = setup();
      const info = await provider.generate(algorithm, { label: 'seal', agencyCode: ctx.agencyCode });
      expect(info).toMatchObject({ algorithm, keyStore: 'software' });
      const pub = createPublicKey({ key: info.publicKey, format: 'der', type: 'spki' });
      expect(pub.asymmetricKeyType).toBe(algorithm === 'ES256' ? 'ec' : 'rsa');
      if (algorithm === 'ES256') expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      else expect(pub.asymmetricKeyDetails?.modulusLength).toBe(3072);

      const sig = await provider.sign(info.id, data, ctx);
      expect(verify('sha256', data, { key: pub, ...verifyOptions }, sig)).toBe(true);
      expect(verify('sha256', Buffer.concat([data, Buffer.from([0])]), { key: pub, ...verifyOptions }, sig)).toBe(false);
      if (algorithm === 'ES256') expect(sig[0]).toBe(0x30); // DER Ecdsa-Sig-Value, not r‖s
      expect(await provider.info(info.id)).toEqual(info);
    });
  });

  it('PS256 uses a 32-byte salt (verification with any other salt length fails)', async () => {
    const { provider } = setup();
    const info = await provider.generate('PS256', { label: 'pss', agencyCode: null });
    const pub = createPublicKey({ key: info.publicKey, format: 'der', type: 'spki' });
    const sig = await provider.sign(info.id, data, ctx);
    const check = (saltLength: number): boolean =>
      verify('sha256', data, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    expect(check(32)).toBe(true);
    expect(check(20)).toBe(false);
    expect(check(64)).toBe(false);
    // RSA_PSS_SALTLEN_AUTO recovers the salt length from the signature; it still verifies.
    expect(check(constants.RSA_PSS_SALTLEN_AUTO)).toBe(true);
  });

  it('stores no clear private key: the record holds neither the PKCS#8 DER nor its PEM', async () => {
    const { provider, keys, masterKey } = setup();
    for (const alg of ['ES256', 'RS256', 'PS256'] as const) await provider.generate(alg, { label: alg, agencyCode: null });
    // The clear PKCS#8 of each key, recovered with the master key, is what must not be stored.
    const exported = [...keys.records.values()].map((r) => unsealPrivateKey(masterKey, r.id, r.wrappedKey!));
    expect(exported).toHaveLength(3);
    const stored = JSON.stringify([...keys.records.values()]);
    for (const der of exported) {
      const pem = nodeCrypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
      const pemLines = pem.split('\n').filter((l) => l.length === 64);
      expect(pemLines.length).toBeGreaterThan(1);
      for (const needle of [der.toString('base64'), der.toString('hex'), der.toString('latin1'), ...pemLines]) {
        expect(stored).not.toContain(needle);
      }
    }
    for (const r of keys.records.values()) {
      expect(r.wrappedKey).toEqual(expect.any(String));
      expect(r.tokenKeyId).toBeNull();
      expect(Object.keys(r).sort()).toEqual(
        ['agencyCode', 'algorithm', 'createdAt', 'id', 'keyStore', 'label', 'publicKey', 'tokenKeyId', 'wrappedKey'].sort(),
      );
    }
  });

  it('seals with AES-256-GCM bound to the key id (iv ‖ tag ‖ ciphertext)', async () => {
    const { provider, keys, masterKey } = setup();
    const info = await provider.generate('ES256', { label: 'x', agencyCode: null });
    const wrapped = keys.records.get(info.id)!.wrappedKey!;
    const pkcs8 = unsealPrivateKey(masterKey, info.id, wrapped);
    const priv = nodeCrypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    expect(createPublicKey(priv).export({ type: 'spki', format: 'der' })).toEqual(info.publicKey);
    // Same sealed bytes under another id: the AAD no longer matches.
    expect(() => unsealPrivateKey(masterKey, 'key_other', wrapped)).toThrow(expect.objectContaining({ code: 'KEY_UNAVAILABLE' }));
    // A fresh IV for every seal.
    const again = await provider.generate('ES256', { label: 'y', agencyCode: null });
    expect(keys.records.get(again.id)!.wrappedKey!.slice(0, 16)).not.toBe(wrapped.slice(0, 16));
  });

  describe('unsealing failures are one generic error', () => {
    async function freshProviderOver(mutate: (r: { wrappedKey: string | null; publicKey: string }) => void, masterKey?: Buffer) {
      const first = setup();
      const info = await first.provider.generate('ES256', { label: 'x', agencyCode: null });
      mutate(first.keys.records.get(info.id)!);
      const second = new SoftwareKeyProvider({
        masterKey: masterKey ?? first.masterKey,
        keys: first.keys,
        keyUses: first.keyUses,
      });
      return { id: info.id, provider: second, keyUses: first.keyUses };
    }

    const flip = (b64: string, at: number): string => {
      const raw = Buffer.from(b64, 'base64');
      raw[at] ^= 0x01;
      return raw.toString('base64');
    };

    it.each([
      ['a flipped IV byte', 0],
      ['a flipped tag byte', 12],
      ['a flipped ciphertext byte', 40],
    ])('%s → KEY_UNAVAILABLE', async (_what, at) => {
      const { id, provider, keyUses } = await freshProviderOver((r) => (r.wrappedKey = flip(r.wrappedKey!, at)));
      const e = await rejection(provider.sign(id, data, ctx));
      expect(e.code).toBe('KEY_UNAVAILABLE');
      expect(e.message).toBe(`Key ${id} is not available for signing`);
      expect(e.cause).toBeUndefined();
      expect(keyUses.uses).toHaveLength(0);
    });

    it('a truncated wrappedKey → KEY_UNAVAILABLE', async () => {
      const { id, provider } = await freshProviderOver((r) => (r.wrappedKey = r.wrappedKey!.slice(0, 20)));
      expect((await rejection(provider.sign(id, data, ctx))).code).toBe('KEY_UNAVAILABLE');
    });

    it('a wrong master key → KEY_UNAVAILABLE, same message', async () => {
      const { id, provider } = await freshProviderOver(() => undefined, randomBytes(32));
      const e = await rejection(provider.sign(id, data, ctx));
      expect(e.code).toBe('KEY_UNAVAILABLE');
      expect(e.message).toBe(`Key ${id} is not available for signing`);
      expect((await rejection(provider.info(id))).code).toBe('KEY_UNAVAILABLE');
    });

    it('a public key swapped in the record → KEY_UNAVAILABLE', async () => {
      const other = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
      const { id, provider } = await freshProviderOver(
        (r) => (r.publicKey = other.export({ type: 'spki', format: 'der' }).toString('base64')),
      );
      expect((await rejection(provider.sign(id, data, ctx))).code).toBe('KEY_UNAVAILABLE');
    });
  });

  it('does not show the master key when inspected or logged', async () => {
    const { provider, masterKey } = setup();
    await provider.generate('ES256', { label: 'x', agencyCode: null });
    const shown = inspect(provider, { depth: 10, showHidden: true }) + JSON.stringify(provider);
    const bytes = [...masterKey.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    expect(shown).not.toContain(bytes);
    expect(shown).not.toContain(masterKey.toString('hex').slice(0, 16));
  });

  it('rejects a master key that is not 32 bytes', () => {
    const { keys, keyUses } = memoryKeyStores();
    expect(() => new SoftwareKeyProvider({ masterKey: randomBytes(16), keys, keyUses })).toThrow(
      expect.objectContaining({ code: 'MASTER_KEY_INVALID' }),
    );
  });

  it('an unknown key id → NOT_FOUND', async () => {
    const { provider } = setup();
    expect((await rejection(provider.sign('key_nope', data, ctx))).code).toBe('NOT_FOUND');
  });

  it('records each use: key, digest of the data, who, which agency, why, when', async () => {
    const { provider, keyUses } = setup();
    const info = await provider.generate('ES256', { label: 'x', agencyCode: ctx.agencyCode });
    await provider.sign(info.id, data, ctx);
    await provider.sign(info.id, Buffer.from('second'), { apiKeyId: null, agencyCode: null, purpose: 'crl' });
    expect(keyUses.uses).toEqual([
      {
        id: expect.stringMatching(/^use_[0-9a-f]{28}$/),
        keyId: info.id,
        apiKeyId: 'ak_0001',
        agencyCode: ctx.agencyCode,
        purpose: 'cades',
        digest: createHash('sha256').update(data).digest('hex'),
        at: fixedNow.toISOString(),
      },
      expect.objectContaining({ purpose: 'crl', apiKeyId: null, digest: createHash('sha256').update('second').digest('hex') }),
    ]);
    expect(keyUses.uses[0].id).not.toBe(keyUses.uses[1].id);
  });

  it('returns no signature when the use cannot be recorded', async () => {
    const { provider, keyUses } = setup();
    const info = await provider.generate('ES256', { label: 'x', agencyCode: null });
    keyUses.failWith = new AppError('STORE_UNAVAILABLE', 'down');
    await expect(provider.sign(info.id, data, ctx)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('refuses an unattributable use (no purpose)', async () => {
    const { provider, keyUses } = setup();
    const info = await provider.generate('ES256', { label: 'x', agencyCode: null });
    await expect(provider.sign(info.id, data, { apiKeyId: 'a', agencyCode: null, purpose: '' })).rejects.toBeInstanceOf(AppError);
    expect(keyUses.uses).toHaveLength(0);
  });

  it("never signs with an agency's key for another agency; platform keys serve all", async () => {
    const { provider } = setup();
    const agencyKey = await provider.generate('ES256', { label: 'seal', agencyCode: 'AGENCY_A' });
    const platformKey = await provider.generate('ES256', { label: 'tsa', agencyCode: null });
    const asB = { apiKeyId: 'ak_b', agencyCode: 'AGENCY_B', purpose: 'cades' };
    expect((await rejection(provider.sign(agencyKey.id, data, asB))).code).toBe('FORBIDDEN_AGENCY');
    await expect(provider.sign(platformKey.id, data, asB)).resolves.toBeInstanceOf(Buffer);
    await expect(provider.sign(agencyKey.id, data, { ...asB, agencyCode: 'AGENCY_A' })).resolves.toBeInstanceOf(Buffer);
  });

  describe('cache', () => {
    it('unseals a key once: later signs neither read the record nor decrypt', async () => {
      const first = setup();
      const info = await first.provider.generate('ES256', { label: 'x', agencyCode: null });
      // A cold provider over the same stores, as after a restart.
      const provider = new SoftwareKeyProvider({ masterKey: first.masterKey, keys: first.keys, keyUses: first.keyUses });
      const decipher = jest.spyOn(nodeCrypto, 'createDecipheriv');
      const parse = jest.spyOn(nodeCrypto, 'createPrivateKey');
      try {
        const getsBefore = first.keys.gets;
        await Promise.all([provider.sign(info.id, data, ctx), provider.sign(info.id, data, ctx)]);
        expect(decipher).toHaveBeenCalledTimes(1);
        expect(parse).toHaveBeenCalledTimes(1);
        expect(first.keys.gets - getsBefore).toBe(1);
        for (let i = 0; i < 5; i++) await provider.sign(info.id, data, ctx);
        await provider.info(info.id);
        expect(decipher).toHaveBeenCalledTimes(1);
        expect(parse).toHaveBeenCalledTimes(1);
        expect(first.keys.gets - getsBefore).toBe(1);
      } finally {
        decipher.mockRestore();
        parse.mockRestore();
      }
    });

    it('a generated key is usable without unsealing', async () => {
      const { provider, keys } = setup();
      const decipher = jest.spyOn(nodeCrypto, 'createDecipheriv');
      try {
        const info = await provider.generate('ES256', { label: 'x', agencyCode: null });
        await provider.sign(info.id, data, ctx);
        expect(decipher).not.toHaveBeenCalled();
        expect(keys.gets).toBe(0);
      } finally {
        decipher.mockRestore();
      }
    });

    it('evicts the least recently used key beyond maxCachedKeys', async () => {
      const { keys, keyUses } = memoryKeyStores();
      const provider = new SoftwareKeyProvider({ masterKey: randomBytes(32), keys, keyUses, maxCachedKeys: 2 });
      const a = await provider.generate('ES256', { label: 'a', agencyCode: null });
      const b = await provider.generate('ES256', { label: 'b', agencyCode: null });
      await provider.sign(a.id, data, ctx); // a is now most recent
      await provider.generate('ES256', { label: 'c', agencyCode: null }); // evicts b
      await provider.sign(a.id, data, ctx);
      expect(keys.gets).toBe(0);
      await provider.sign(b.id, data, ctx);
      expect(keys.gets).toBe(1);
    });
  });

  it('is unusable after close()', async () => {
    const { provider } = setup();
    const info = await provider.generate('ES256', { label: 'x', agencyCode: null });
    await provider.close();
    expect((await rejection(provider.sign(info.id, data, ctx))).code).toBe('KEY_STORE_UNAVAILABLE');
  });
});
