/**
 * Interop: note signatures checked by OpenSSL, and OpenSSL-made signatures checked by us.
 * The note header in src/log/note.ts documents exactly these commands.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCheckpoint, noteVerifier, openCheckpoint, parseNote, signNote } from '../../../src/log';
import { keySigner, newEd25519, newP256 } from './helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eseal-note-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function writePem(key: KeyObject): string {
  const path = join(dir, `pub-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(path, createPublicKey(key).export({ type: 'spki', format: 'pem' }));
  return path;
}

const origin = 'eseal.example/log';
const text = formatCheckpoint({ origin, size: 12345, rootHash: createHash('sha256').update('root').digest() });

/** Splits our one-signature note into the body file and the bare signature file. */
async function signedFiles(key: KeyObject): Promise<{ body: string; sig: string; keyId: Buffer }> {
  const note = await signNote(text, [{ name: origin, signer: keySigner(key) }]);
  const parsed = parseNote(note);
  expect(parsed.text).toBe(text);
  const raw = Buffer.from(parsed.signatures[0]!.base64, 'base64');
  const body = join(dir, 'body.txt');
  const sig = join(dir, 'sig.bin');
  writeFileSync(body, parsed.textBytes);
  writeFileSync(sig, raw.subarray(4));
  return { body, sig, keyId: raw.subarray(0, 4) };
}

describe('OpenSSL verifies our note signatures', () => {
  it('ECDSA P-256 (type 0x02): openssl dgst -sha256 -verify over the note text', async () => {
    const key = newP256();
    const { body, sig, keyId } = await signedFiles(key);
    const pem = writePem(key);
    expect(openssl(['dgst', '-sha256', '-verify', pem, '-signature', sig, body])).toContain('Verified OK');
    // Key ID = first 4 bytes of SHA-256 of the SPKI DER, as OpenSSL writes it.
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']);
    expect(keyId.equals(createHash('sha256').update(der).digest().subarray(0, 4))).toBe(true);
    // A changed body fails.
    writeFileSync(body, text.replace('12345', '12346'));
    expect(() => openssl(['dgst', '-sha256', '-verify', pem, '-signature', sig, body])).toThrow();
  });

  it('Ed25519 (type 0x01): openssl pkeyutl -verify -rawin over the note text', async () => {
    const key = newEd25519();
    const { body, sig, keyId } = await signedFiles(key);
    const pem = writePem(key);
    expect(openssl(['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-rawin', '-in', body, '-sigfile', sig])).toContain('Signature Verified Successfully');
    // Key ID = SHA-256(name || 0x0A || 0x01 || raw key)[:4]; the raw key is the SPKI's last 32 bytes.
    const raw = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']).subarray(12);
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([0x01]), raw])).digest();
    expect(keyId.equals(expected.subarray(0, 4))).toBe(true);
    writeFileSync(body, text.replace('12345', '12346'));
    expect(() => openssl(['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-rawin', '-in', body, '-sigfile', sig])).toThrow();
  });
});

describe('we verify notes signed by OpenSSL', () => {
  function noteFromOpenSslSignature(keyId: number, sig: Buffer): string {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(keyId);
    return `${text}\n\u2014 ${origin} ${Buffer.concat([id, sig]).toString('base64')}\n`;
  }

  it('ECDSA P-256', () => {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.pem']);
    writeFileSync(join(dir, 'body.txt'), text);
    openssl(['dgst', '-sha256', '-sign', 'ec.pem', '-out', 'ec.sig', 'body.txt']);
    const pub = createPublicKey(readFileSync(join(dir, 'ec.pem')));
    const v = noteVerifier(origin, pub);
    const note = noteFromOpenSslSignature(v.keyId, readFileSync(join(dir, 'ec.sig')));
    expect(openCheckpoint(note, [v], { origin }).checkpoint.size).toBe(12345);
  });

  it('Ed25519', () => {
    openssl(['genpkey', '-algorithm', 'ED25519', '-out', 'ed.pem']);
    writeFileSync(join(dir, 'body.txt'), text);
    openssl(['pkeyutl', '-sign', '-inkey', 'ed.pem', '-rawin', '-in', 'body.txt', '-out', 'ed.sig']);
    const pub = createPublicKey(readFileSync(join(dir, 'ed.pem')));
    const v = noteVerifier(origin, pub);
    const note = noteFromOpenSslSignature(v.keyId, readFileSync(join(dir, 'ed.sig')));
    expect(openCheckpoint(note, [v], { origin }).checkpoint.size).toBe(12345);
  });
});
