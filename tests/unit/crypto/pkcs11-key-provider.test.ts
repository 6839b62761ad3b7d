import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants, createPublicKey, randomBytes, verify } from 'node:crypto';
import { inspect } from 'node:util';
import type { AlgorithmName } from '../../../src/crypto/algorithms';
import type { KeyUseContext } from '../../../src/crypto/key-provider';
import { Pkcs11KeyProvider, type Pkcs11KeyProviderOptions } from '../../../src/crypto/pkcs11-key-provider';
import { memoryKeyStores, type MemoryKeyRecordStore, type MemoryKeyUseStore } from '../../helpers/memory-key-stores';
import { createSoftHsmToken, describeSoftHsm, type SoftHsmToken } from '../../helpers/softhsm';

const ctx: KeyUseContext = { apiKeyId: 'ak_0001', agencyCode: 'AGENCY_A', purpose: 'certificate' };
const data = Buffer.from('tbsCertificate bytes, more or less');

// SM2 is refused by the PKCS#11 provider (software key store only).
const VERIFY_OPTIONS: Partial<Record<AlgorithmName, object>> = {
  ES256: { dsaEncoding: 'der' },
  RS256: { padding: constants.RSA_PKCS1_PADDING },
  PS256: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
};

function verifies(algorithm: AlgorithmName, spki: Buffer, message: Buffer, sig: Buffer): boolean {
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  return verify('sha256', message, { key, ...VERIFY_OPTIONS[algorithm] }, sig);
}

describeSoftHsm('Pkcs11KeyProvider (SoftHSM2)', () => {
  let token: SoftHsmToken;
  let keys: MemoryKeyRecordStore;
  let keyUses: MemoryKeyUseStore;
  let provider: Pkcs11KeyProvider;
  const generated = new Map<AlgorithmName, { id: string; publicKey: Buffer }>();

  const options = (extra: Partial<Pkcs11KeyProviderOptions> = {}): Pkcs11KeyProviderOptions => ({
    modulePath: token.modulePath,
    tokenLabel: token.tokenLabel,
    pin: token.pin,
    keys,
    keyUses,
    ...extra,
  });

  beforeAll(async () => {
    token = createSoftHsmToken('eseal-unit');
    ({ keys, keyUses } = memoryKeyStores());
    provider = await Pkcs11KeyProvider.open(options());
  });

  afterAll(async () => {
    await provider?.close();
    token?.cleanup();
  });

  describe.each<AlgorithmName>(['ES256', 'RS256', 'PS256'])('%s', (algorithm) => {
    it('generates the key pair in the token and the token signs verifiably', async () => {
      const info = await provider.generate(algorithm, { label: `seal ${algorithm}`, agencyCode: 'AGENCY_A' });
      generated.set(algorithm, info);
      expect(info.keyStore).toBe('pkcs11');
      const pub = createPublicKey({ key: info.publicKey, format: 'der', type: 'spki' });
      if (algorithm === 'ES256') expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      else expect(pub.asymmetricKeyDetails).toMatchObject({ modulusLength: 3072, publicExponent: 65537n });

      const record = keys.records.get(info.id)!;
      expect(record).toMatchObject({ keyStore: 'pkcs11', wrappedKey: null, algorithm });
      expect(record.tokenKeyId).toMatch(/^[0-9a-f]{32}$/);

      const sig = await provider.sign(info.id, data, ctx);
      expect(verifies(algorithm, info.publicKey, data, sig)).toBe(true);
      expect(verifies(algorithm, info.publicKey, Buffer.from('other'), sig)).toBe(false);
      expect(await provider.info(info.id)).toEqual(info);
    });

    it('the private key is sensitive and was never extractable', async () => {
      const info = generated.get(algorithm)!;
      expect(await provider.getKeyAttributes(info.id)).toEqual({
        extractable: false,
        sensitive: true,
        neverExtractable: true,
        alwaysSensitive: true,
      });
    });
  });

  it('PS256 signatures carry a 32-byte salt', async () => {
    const info = generated.get('PS256')!;
    const sig = await provider.sign(info.id, data, ctx);
    const key = createPublicKey({ key: info.publicKey, format: 'der', type: 'spki' });
    const withSalt = (saltLength: number): boolean =>
      verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    expect(withSalt(32)).toBe(true);
    expect(withSalt(20)).toBe(false);
  });

  it('records every use like the software store', async () => {
    const info = generated.get('ES256')!;
    const before = keyUses.uses.length;
    await provider.sign(info.id, data, ctx);
    expect(keyUses.uses.slice(before)).toEqual([
      expect.objectContaining({
        keyId: info.id,
        apiKeyId: 'ak_0001',
        agencyCode: 'AGENCY_A',
        purpose: 'certificate',
        digest: '' + require('node:crypto').createHash('sha256').update(data).digest('hex'),
      }),
    ]);
  });

  it('refuses to sign with an agency key for another agency', async () => {
    const info = generated.get('ES256')!;
    await expect(provider.sign(info.id, data, { ...ctx, agencyCode: 'AGENCY_B' })).rejects.toMatchObject({ code: 'FORBIDDEN_AGENCY' });
  });

  it('signs concurrently on one session and on several', async () => {
    const many = await Pkcs11KeyProvider.open(options({ sessions: 3 }));
    try {
      for (const p of [provider, many]) {
        const jobs = Array.from({ length: 60 }, (_, i) => {
          const algorithm = (['ES256', 'ES256', 'PS256', 'RS256'] as const)[i % 4];
          const info = generated.get(algorithm)!;
          const message = Buffer.from(`message ${i}`);
          return p.sign(info.id, message, ctx).then((sig) => verifies(algorithm, info.publicKey, message, sig));
        });
        expect(await Promise.all(jobs)).toEqual(Array(60).fill(true));
      }
    } finally {
      await many.close();
    }
    // The shared library stays initialised for the first provider.
    const info = generated.get('ES256')!;
    expect(verifies('ES256', info.publicKey, data, await provider.sign(info.id, data, ctx))).toBe(true);
  });

  it('keys survive closing and re-opening the provider (token objects)', async () => {
    await provider.close();
    await expect(provider.sign(generated.get('ES256')!.id, data, ctx)).rejects.toMatchObject({ code: 'KEY_STORE_UNAVAILABLE' });
    provider = await Pkcs11KeyProvider.open(options());
    for (const [algorithm, info] of generated) {
      expect(verifies(algorithm, info.publicKey, data, await provider.sign(info.id, data, ctx))).toBe(true);
    }
  });

  it('opens the token by slot id as well as by label', async () => {
    const list = execFileSync('softhsm2-util', ['--show-slots'], { env: process.env, encoding: 'utf8' });
    const slot = Number(/^Slot (\d+)\s*$/m.exec(list)![1]);
    const bySlot = await Pkcs11KeyProvider.open(options({ tokenLabel: undefined, slot }));
    try {
      const info = generated.get('ES256')!;
      expect(verifies('ES256', info.publicKey, data, await bySlot.sign(info.id, data, ctx))).toBe(true);
    } finally {
      await bySlot.close();
    }
  });

  it('re-opens a session (and logs in again) when the token dropped it', async () => {
    const internals = provider as unknown as { lib: { C_CloseAllSessions(slot: Buffer): void }; slot: Buffer };
    internals.lib.C_CloseAllSessions(internals.slot);
    const info = generated.get('RS256')!;
    expect(verifies('RS256', info.publicKey, data, await provider.sign(info.id, data, ctx))).toBe(true);
  });

  it('a key record whose key is missing from the token → KEY_UNAVAILABLE', async () => {
    const ghost = { ...keys.records.get(generated.get('ES256')!.id)! };
    ghost.id = 'key_ghost';
    ghost.tokenKeyId = randomBytes(16).toString('hex');
    await keys.create(ghost);
    await expect(provider.sign('key_ghost', data, ctx)).rejects.toMatchObject({ code: 'KEY_UNAVAILABLE' });
  });

  it('a software key record → KEY_UNAVAILABLE, an unknown id → NOT_FOUND', async () => {
    await keys.create({ ...keys.records.get(generated.get('ES256')!.id)!, id: 'key_soft', keyStore: 'software', tokenKeyId: null });
    await expect(provider.sign('key_soft', data, ctx)).rejects.toMatchObject({ code: 'KEY_UNAVAILABLE' });
    await expect(provider.sign('key_none', data, ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a wrong PIN → KEY_STORE_UNAVAILABLE, naming the CKR code but not the PIN', async () => {
    // PKCS#11 logins are per application: while another provider is logged in, no PIN is checked.
    await provider.close();
    const wrong = 'not-the-pin-4711';
    const err = await Pkcs11KeyProvider.open(options({ pin: wrong })).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err).toMatchObject({ code: 'KEY_STORE_UNAVAILABLE' });
    expect(err!.message).toContain('CKR_PIN_INCORRECT');
    expect(err!.message).not.toContain(wrong);
    // The failed open released the library: it opens again with the right PIN.
    provider = await Pkcs11KeyProvider.open(options());
    const info = generated.get('ES256')!;
    await expect(provider.sign(info.id, data, ctx)).resolves.toBeInstanceOf(Buffer);
  });

  it('does not show the PIN when inspected or logged', () => {
    const shown = inspect(provider, { depth: 10, showHidden: true }) + JSON.stringify(provider);
    expect(shown).not.toContain(token.pin);
  });

  it('an unknown token label → KEY_STORE_UNAVAILABLE', async () => {
    await expect(Pkcs11KeyProvider.open(options({ tokenLabel: 'no-such-token' }))).rejects.toMatchObject({
      code: 'KEY_STORE_UNAVAILABLE',
      message: expect.stringContaining('no-such-token'),
    });
  });

  describe('interop: OpenSSL verifies token signatures', () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-p11-interop-'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    function opensslVerify(algorithm: AlgorithmName, sigopts: string[]): string {
      const info = generated.get(algorithm)!;
      const pem = createPublicKey({ key: info.publicKey, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' });
      fs.writeFileSync(path.join(dir, 'pub.pem'), pem);
      fs.writeFileSync(path.join(dir, 'data'), data);
      return execFileSync(
        'openssl',
        ['dgst', '-sha256', ...sigopts, '-verify', path.join(dir, 'pub.pem'), '-signature', path.join(dir, 'sig'), path.join(dir, 'data')],
        { encoding: 'utf8' },
      );
    }

    it('openssl dgst -sha256 -verify accepts an ES256 signature', async () => {
      fs.writeFileSync(path.join(dir, 'sig'), await provider.sign(generated.get('ES256')!.id, data, ctx));
      expect(opensslVerify('ES256', [])).toContain('Verified OK');
    });

    it('openssl dgst -sha256 -verify accepts a PS256 signature (pss, salt 32)', async () => {
      fs.writeFileSync(path.join(dir, 'sig'), await provider.sign(generated.get('PS256')!.id, data, ctx));
      expect(opensslVerify('PS256', ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'])).toContain('Verified OK');
    });

    it('openssl rejects a signature over other data', async () => {
      fs.writeFileSync(path.join(dir, 'sig'), await provider.sign(generated.get('ES256')!.id, Buffer.from('other'), ctx));
      expect(() => opensslVerify('ES256', [])).toThrow();
    });
  });
});
