/** C2SP signed notes and checkpoints: third-party vectors, round trips, strict parsing. */
import { createPublicKey } from 'node:crypto';
import {
  MemoryTreeNodeStore,
  formatCheckpoint,
  formatVerifierKey,
  hashLeaf,
  noteVerifier,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  rootAt,
  signNote,
  verifyNote,
  type NoteSigner,
} from '../../../src/log';
import { codeOf, ed25519FromSeed, keySigner, newEd25519, newP256, readVector, syncCodeOf } from './helpers';

const DASH = '\u2014 ';

interface GoVector {
  signerKey: string;
  verifierKey: string;
  text: string;
  note: string;
}
interface EcdsaVector {
  verifierKey: string;
  note: string;
}

describe('third-party vectors', () => {
  const go = readVector<GoVector>('note', 'go-sumdb-note-ed25519.json');

  it('reproduces the golang.org/x/mod/sumdb/note example byte for byte (Ed25519, type 0x01)', async () => {
    // PRIVATE+KEY+<name>+<hash>+base64(0x01 || 32-byte seed)
    const seed = Buffer.from(go.signerKey.split('+').slice(4).join('+'), 'base64');
    expect(seed[0]).toBe(0x01);
    const signer = keySigner(ed25519FromSeed(seed.subarray(1)));
    expect(formatVerifierKey('PeterNeumann', signer.publicKey)).toBe(go.verifierKey);
    expect(await signNote(go.text, [{ name: 'PeterNeumann', signer }])).toBe(go.note);
    const opened = verifyNote(parseNote(go.note), [parseVerifierKey(go.verifierKey)]);
    expect(opened.text).toBe(go.text);
    expect(opened.verified.map((s) => s.keyId)).toEqual([0xc74f20a3]);
  });

  it('rejects the Go example once the text is changed', () => {
    const tampered = go.note.replace('cryptography', 'cryptographY');
    expect(syncCodeOf(() => verifyNote(parseNote(tampered), [parseVerifierKey(go.verifierKey)]))).toBe('NOTE_SIGNATURE_INVALID');
  });

  it.each(['rekor-checkpoint-ecdsa.json', 'pixel-checkpoint-ecdsa.json'])('verifies the real ECDSA (type 0x02) checkpoint in %s', (file) => {
    const v = readVector<EcdsaVector>('note', file);
    const verifier = parseVerifierKey(v.verifierKey);
    expect(verifier.type).toBe('ECDSA');
    const { checkpoint, note } = openCheckpoint(v.note, [verifier]);
    expect(note.verified).toHaveLength(1);
    expect(checkpoint.rootHash).toHaveLength(32);
    // Our own ECDSA key ID derivation agrees with theirs (SHA-256 of the SPKI, name not hashed).
    const material = v.verifierKey.slice(v.verifierKey.indexOf('+', v.verifierKey.indexOf('+') + 1) + 1);
    const spki = Buffer.from(material, 'base64').subarray(1);
    expect(noteVerifier(verifier.name, spki).keyId).toBe(verifier.keyId);
    expect(formatVerifierKey(verifier.name, spki)).toBe(v.verifierKey);
    // And rejects it under another name or after a change to the text.
    expect(syncCodeOf(() => verifyNote(parseNote(v.note), [{ ...verifier, name: 'other.example' }]))).toBe('NOTE_NOT_VERIFIED');
    const tampered = v.note.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`);
    expect(syncCodeOf(() => openCheckpoint(tampered, [verifier]))).toBe('NOTE_SIGNATURE_INVALID');
  });

  it('parses the C2SP specification examples', () => {
    const ex = readVector<{ signedNote: string; checkpoint: string }>('note', 'c2sp-examples.json');
    const poem = parseNote(ex.signedNote);
    expect(poem.text).toBe('Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n');
    expect(poem.signatures.map((s) => s.name)).toEqual(['quasimodo.example/salvatore']);
    const cp = parseNote(ex.checkpoint);
    expect(parseCheckpoint(cp.text)).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    // No key for these: an empty verifier list can never verify.
    expect(syncCodeOf(() => verifyNote(cp, []))).toBe('NOTE_NOT_VERIFIED');
  });
});

describe('signing and verifying our checkpoints', () => {
  const origin = 'eseal.example/log';

  async function checkpointText(): Promise<string> {
    const store = new MemoryTreeNodeStore();
    for (let i = 0; i < 5; i++) await store.append(hashLeaf(Buffer.from(`entry ${i}`)));
    return formatCheckpoint({ origin, size: store.size, rootHash: await rootAt(store.size, store) });
  }

  it.each([
    ['ES256', newP256],
    ['Ed25519', newEd25519],
  ])('round-trips a %s checkpoint', async (_alg, newKey) => {
    const signer = keySigner(newKey());
    const text = await checkpointText();
    const note = await signNote(text, [{ name: origin, signer }]);
    expect(note.startsWith(`${text}\n${DASH}${origin} `)).toBe(true);
    const verifier = parseVerifierKey(formatVerifierKey(origin, signer.publicKey));
    const { checkpoint } = openCheckpoint(note, [verifier], { origin });
    expect(checkpoint).toMatchObject({ origin, size: 5, extensions: [] });
    expect(formatCheckpoint(checkpoint)).toBe(text);
    expect(syncCodeOf(() => openCheckpoint(note, [verifier], { origin: 'other.example/log' }))).toBe('CHECKPOINT_ORIGIN_MISMATCH');
  });

  it('carries several signatures; unknown keys are reported, not trusted', async () => {
    const log = keySigner(newP256());
    const witness = keySigner(newEd25519());
    const note = await signNote(await checkpointText(), [
      { name: origin, signer: log },
      { name: 'witness.example/w1', signer: witness },
    ]);
    const result = verifyNote(parseNote(note), [noteVerifier(origin, log.publicKey)]);
    expect(result.verified.map((s) => s.name)).toEqual([origin]);
    expect(result.unverified.map((s) => s.name)).toEqual(['witness.example/w1']);
    const both = verifyNote(parseNote(note), [noteVerifier(origin, log.publicKey), noteVerifier('witness.example/w1', witness.publicKey)]);
    expect(both.verified).toHaveLength(2);
  });

  it('a bad signature from a known key fails the whole note even if another verifies', async () => {
    const a = keySigner(newP256());
    const b = keySigner(newP256());
    const text = await checkpointText();
    const good = await signNote(text, [{ name: origin, signer: a }]);
    const other = await signNote(text.replace('\n5\n', '\n6\n'), [{ name: 'b.example', signer: b }]);
    const forged = good + other.slice(other.lastIndexOf('\n\n') + 2);
    expect(syncCodeOf(() => verifyNote(parseNote(forged), [noteVerifier(origin, a.publicKey), noteVerifier('b.example', b.publicKey)]))).toBe(
      'NOTE_SIGNATURE_INVALID',
    );
  });

  it('the ECDSA key ID ignores the name; the Ed25519 key ID includes it', () => {
    const p = keySigner(newP256()).publicKey;
    expect(noteVerifier('a', p).keyId).toBe(noteVerifier('b', p).keyId);
    const e = keySigner(newEd25519()).publicKey;
    expect(noteVerifier('a', e).keyId).not.toBe(noteVerifier('b', e).keyId);
  });

  it.each([
    ['text without final newline', 'abc'],
    ['empty text', ''],
    ['a control character', 'a\tb\n'],
    ['a lone surrogate', '\ud800\n'],
  ])('refuses to sign %s', async (_name, text) => {
    const signer = keySigner(newP256());
    expect(await codeOf(() => signNote(text, [{ name: origin, signer }]))).toBe('NOTE_INVALID_TEXT');
  });

  it('refuses bad key names, duplicate signers, no signers and unsupported keys', async () => {
    const p256 = keySigner(newP256());
    expect(await codeOf(() => signNote('x\n', [{ name: 'has space', signer: p256 }]))).toBe('NOTE_INVALID_KEY_NAME');
    expect(await codeOf(() => signNote('x\n', [{ name: 'a+b', signer: p256 }]))).toBe('NOTE_INVALID_KEY_NAME');
    expect(await codeOf(() => signNote('x\n', [{ name: '', signer: p256 }]))).toBe('NOTE_INVALID_KEY_NAME');
    expect(await codeOf(() => signNote('x\n', [{ name: 'a', signer: p256 }, { name: 'a', signer: p256 }]))).toBe('NOTE_DUPLICATE_SIGNER');
    expect(await codeOf(() => signNote('x\n', []))).toBe('NOTE_NO_SIGNER');
    const mislabelled: NoteSigner = { ...keySigner(newEd25519()), algorithm: 'ES256' };
    expect(await codeOf(() => signNote('x\n', [{ name: 'a', signer: mislabelled }]))).toBe('NOTE_UNSUPPORTED_KEY');
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaSigner: NoteSigner = { algorithm: 'RS256', publicKey: rsa.publicKey.export({ type: 'spki', format: 'der' }), sign: async () => Buffer.alloc(0) };
    expect(await codeOf(() => signNote('x\n', [{ name: 'a', signer: rsaSigner }]))).toBe('NOTE_UNSUPPORTED_KEY');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(syncCodeOf(() => noteVerifier('a', p384.publicKey))).toBe('NOTE_UNSUPPORTED_KEY');
    expect(syncCodeOf(() => noteVerifier('a', Buffer.from('not a key')))).toBe('NOTE_UNSUPPORTED_KEY');
  });

  it('refuses a signer whose private key does not match its public key', async () => {
    const real = keySigner(newP256());
    const liar: NoteSigner = { ...real, publicKey: keySigner(newP256()).publicKey };
    expect(await codeOf(() => signNote('x\n', [{ name: 'a', signer: liar }]))).toBe('NOTE_SIGNING_FAILED');
  });

  it('refuses ambiguous verifier lists', async () => {
    const s = keySigner(newP256());
    const note = parseNote(await signNote('x\n', [{ name: 'a', signer: s }]));
    expect(syncCodeOf(() => verifyNote(note, [noteVerifier('a', s.publicKey), noteVerifier('a', s.publicKey)]))).toBe('NOTE_AMBIGUOUS_VERIFIER');
  });
});

describe('strict parsing', () => {
  const sig = `${DASH}k AAAAAAA=\n`; // key ID 0, one signature byte
  const ok = `a\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n${sig}`;

  it('accepts the minimal well-formed note', () => {
    const n = parseNote(ok);
    expect(n.signatures).toEqual([{ name: 'k', keyId: 0, signature: Buffer.from([0]), base64: 'AAAAAAA=' }]);
    expect(parseNote(Buffer.from(ok, 'utf8')).text).toBe(n.text);
  });

  it('splits at the LAST blank line, so the text may contain blank lines', () => {
    expect(parseNote(`a\n\nb\n\n${sig}`).text).toBe('a\n\nb\n');
    expect(parseNote(`a\n\n\n${sig}`).text).toBe('a\n\n');
  });

  it.each([
    ['no blank line', `a\n${sig}`],
    ['nothing after the blank line', 'a\n\n'],
    ['no final newline', ok.slice(0, -1)],
    ['trailing garbage after the last newline', `${ok}x`],
    ['a trailing blank line', `${ok}\n`],
    ['a signature line without the em dash', `a\n\n- k AAAAAAA=\n`],
    ['an en dash instead of the em dash', `a\n\n\u2013 k AAAAAAA=\n`],
    ['no space after the dash', `a\n\n\u2014k AAAAAAA=\n`],
    ['no signature', `a\n\n${DASH}k\n`],
    ['an empty signature', `a\n\n${DASH}k \n`],
    ['a name with a plus', `a\n\n${DASH}k+1 AAAAAAA=\n`],
    ['an empty name', `a\n\n${DASH} AAAAAAA=\n`],
    ['a name with a no-break space', `a\n\n${DASH}k\u00a0x AAAAAAA=\n`],
    ['a signature of 4 bytes', `a\n\n${DASH}k AAAAAA==\n`],
    ['unpadded base64', `a\n\n${DASH}k AAAAAAA\n`],
    ['base64url', `a\n\n${DASH}k AAAAAA-_\n`],
    ['non-canonical base64 padding bits', `a\n\n${DASH}k AAAAAAB=\n`],
    ['a space inside the base64', `a\n\n${DASH}k AAAA AAA=\n`],
    ['a tab', `a\tb\n\n${sig}`],
    ['a carriage return', `a\r\n\n${sig}`],
    ['a NUL', `a\u0000\n\n${sig}`],
    ['a lone surrogate', `\ud800\n\n${sig}`],
  ])('rejects %s', (_name, text) => {
    expect(syncCodeOf(() => parseNote(text))).toBe('NOTE_MALFORMED');
  });

  it('rejects invalid UTF-8 bytes and overlong encodings', () => {
    for (const bad of [Buffer.from([0x61, 0xff, 0x0a, 0x0a]), Buffer.from([0xc0, 0xaf, 0x0a]), Buffer.from([0xed, 0xa0, 0x80, 0x0a])]) {
      expect(syncCodeOf(() => parseNote(Buffer.concat([bad, Buffer.from(`\n${sig}`)])))).toBe('NOTE_MALFORMED');
    }
  });

  it('enforces the size, line and signature-count limits', () => {
    expect(syncCodeOf(() => parseNote(`${'x'.repeat(300 * 1024)}\n\n${sig}`))).toBe('NOTE_TOO_LARGE');
    expect(syncCodeOf(() => parseNote(Buffer.alloc(300 * 1024, 0x61)))).toBe('NOTE_TOO_LARGE');
    expect(syncCodeOf(() => parseNote(`${'x\n'.repeat(1001)}\n${sig}`))).toBe('NOTE_TOO_LARGE');
    expect(parseNote(`${'x\n'.repeat(1000)}\n${sig}`).text).toHaveLength(2000);
    expect(syncCodeOf(() => parseNote(`a\n\n${sig.repeat(101)}`))).toBe('NOTE_TOO_LARGE');
    expect(parseNote(`a\n\n${sig.repeat(100)}`).signatures).toHaveLength(100);
    expect(syncCodeOf(() => parseNote(`a\n\n${sig.repeat(3)}`, { maxBytes: 1000, maxTextLines: 10, maxSignatures: 2 }))).toBe('NOTE_TOO_LARGE');
  });

  it('rejects malformed verifier keys', () => {
    const go = readVector<GoVector>('note', 'go-sumdb-note-ed25519.json');
    const [name, hash, key] = go.verifierKey.split('+') as [string, string, string];
    for (const vkey of [
      '',
      name,
      `${name}+${hash}`,
      `${name}+00000000+${key}`, // wrong key ID
      `${name}+${hash.slice(1)}+${key}`,
      `bad name+${hash}+${key}`,
      `${name}+${hash}+${key.slice(0, -4)}`,
      `${name}+${hash}+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`, // type 0x04
      `${name}+${hash}+${key}x`,
    ]) {
      expect(syncCodeOf(() => parseVerifierKey(vkey))).toBe('NOTE_INVALID_VERIFIER_KEY');
    }
  });
});

describe('checkpoint text', () => {
  const root = Buffer.alloc(32, 7);
  const r64 = root.toString('base64');

  it('formats origin, size, root and optional extension lines', () => {
    expect(formatCheckpoint({ origin: 'o.example/log', size: 0, rootHash: root })).toBe(`o.example/log\n0\n${r64}\n`);
    expect(formatCheckpoint({ origin: 'o', size: 42, rootHash: root, extensions: ['ext one'] })).toBe(`o\n42\n${r64}\next one\n`);
    expect(parseCheckpoint(`o\n42\n${r64}\next one\n`)).toEqual({ origin: 'o', size: 42, rootHash: root, extensions: ['ext one'] });
    expect(parseCheckpoint(`any origin is fine when parsing\n${Number.MAX_SAFE_INTEGER}\n${r64}\n`).size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['no final newline', `o\n1\n${r64}`],
    ['two lines', `o\n1\n`],
    ['an empty origin', `\n1\n${r64}\n`],
    ['a leading zero', `o\n01\n${r64}\n`],
    ['a sign', `o\n+1\n${r64}\n`],
    ['a negative size', `o\n-1\n${r64}\n`],
    ['a size beyond 2^53', `o\n9007199254740992\n${r64}\n`],
    ['a size with spaces', `o\n 1\n${r64}\n`],
    ['a short root', `o\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['a hex root', `o\n1\n${root.toString('hex')}\n`],
    ['an empty extension line', `o\n1\n${r64}\n\nx\n`],
    ['a control character', `o\u0001\n1\n${r64}\n`],
  ])('rejects %s', (_name, text) => {
    expect(syncCodeOf(() => parseCheckpoint(text))).toBe('CHECKPOINT_MALFORMED');
  });

  it.each([
    ['an origin with a space', { origin: 'a b', size: 1, rootHash: root }],
    ['an origin with a plus', { origin: 'a+b', size: 1, rootHash: root }],
    ['an empty origin', { origin: '', size: 1, rootHash: root }],
    ['a negative size', { origin: 'o', size: -1, rootHash: root }],
    ['a fractional size', { origin: 'o', size: 1.5, rootHash: root }],
    ['a short root', { origin: 'o', size: 1, rootHash: Buffer.alloc(31) }],
    ['an empty extension', { origin: 'o', size: 1, rootHash: root, extensions: [''] }],
    ['a multi-line extension', { origin: 'o', size: 1, rootHash: root, extensions: ['a\nb'] }],
  ])('refuses to format %s', (_name, c) => {
    expect(syncCodeOf(() => formatCheckpoint(c))).toBe('CHECKPOINT_INVALID');
  });

  it('keys are accepted as KeyObjects too', () => {
    const k = newP256();
    expect(noteVerifier('a', createPublicKey(k)).keyId).toBe(noteVerifier('a', keySigner(k).publicKey).keyId);
  });
});
