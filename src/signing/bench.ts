/**
 * Micro-benchmark: CAdES B-B signatures per second on a 1 KiB file with an in-memory Signer,
 * against raw `crypto.sign` of the same file with the same key. The ratio shows what the CMS
 * work (hashing, certificate parsing, attribute encoding, DER assembly) costs on top of the
 * private-key operation; the target is ≥ 0.5 (CMS overhead at most one signature's worth).
 *
 * Each figure is the median of `runs` (≥ 5) samples of `seconds` each; CAdES and raw samples
 * alternate so drift in machine load hits both. Options follow src/bench's BenchArgs, so a
 * `signing` section can be added there.
 */
import { constants, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { ALGORITHMS, keyObjectSigner, type AlgorithmName, type Signer } from '../crypto';
import { issueCertificate } from '../pki/certificate';
import { buildCadesSignature } from './cades';

export interface BenchCadesOptions {
  /** Algorithms to measure (default ES256, RS256, PS256). */
  algorithms?: readonly AlgorithmName[];
  /** Seconds per sample (default 0.25). */
  seconds?: number;
  /** Samples per figure (default 5, at least 5). */
  runs?: number;
  /** Payload size in bytes (default 1024). */
  bytes?: number;
  progress?: (line: string) => void;
}

export interface CadesBenchResult {
  algorithm: AlgorithmName;
  /** Median CAdES B-B signatures per second. */
  cadesPerSecond: number;
  /** Median raw crypto.sign per second. */
  rawPerSecond: number;
  /** cadesPerSecond / rawPerSecond. */
  ratio: number;
  runs: number;
  seconds: number;
  bytes: number;
  /** CMS size in bytes (signer cert + issuing CA cert). */
  cmsBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function sample(seconds: number, op: () => Promise<unknown> | unknown): Promise<number> {
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let n = 0;
  let now = start;
  while (now < end) {
    await op();
    n++;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

function rawSign(algorithm: AlgorithmName, key: KeyObject, data: Buffer): Buffer {
  const spec = ALGORITHMS[algorithm];
  if (spec.padding === 'pss') return cryptoSign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength });
  if (spec.padding === 'pkcs1') return cryptoSign('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING });
  return cryptoSign('sha256', data, { key, dsaEncoding: 'der' });
}

function newKey(algorithm: AlgorithmName): KeyObject {
  const spec = ALGORITHMS[algorithm];
  const pair =
    spec.keyType === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: spec.namedCurve! })
      : generateKeyPairSync('rsa', { modulusLength: spec.modulusLength ?? 3072 });
  return pair.privateKey;
}

async function throwAwayCertificates(algorithm: AlgorithmName, seal: Signer): Promise<{ certificate: Buffer; chain: Buffer[] }> {
  const caSigner = keyObjectSigner(algorithm, newKey(algorithm));
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
  const ca = await issueCertificate({
    profile: 'root-ca',
    subject: { c: 'CN', o: 'eseal bench', cn: 'eseal Bench CA' },
    subjectPublicKey: caSigner.publicKey,
    issuer: { selfSigned: true, signer: caSigner },
    serial: Buffer.from('0102030405060708090a', 'hex'),
    notBefore,
  });
  const certificate = await issueCertificate({
    profile: 'seal',
    subject: { c: 'CN', o: 'eseal bench', organizationIdentifier: 'NTRCN-11330105002500287C', cn: 'eseal Bench Seal' },
    subjectPublicKey: seal.publicKey,
    issuer: { certificate: ca, signer: caSigner },
    serial: Buffer.from('1112131415161718191a', 'hex'),
    notBefore,
  });
  return { certificate, chain: [ca] };
}

/** Measures CAdES B-B signing throughput against raw signing; see the module comment. */
export async function benchCades(options: BenchCadesOptions = {}): Promise<CadesBenchResult[]> {
  const algorithms = options.algorithms ?? (['ES256', 'RS256', 'PS256'] as const);
  const seconds = options.seconds ?? 0.25;
  const runs = Math.max(5, Math.floor(options.runs ?? 5));
  const bytes = options.bytes ?? 1024;
  const progress = options.progress ?? (() => {});
  // A fixed, non-trivial payload (no randomness needed for a throughput figure).
  const file = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) file[i] = (i * 131 + 7) & 0xff;
  const signingTime = new Date('2025-06-01T08:00:00Z');

  const results: CadesBenchResult[] = [];
  for (const algorithm of algorithms) {
    const key = newKey(algorithm);
    const signer = keyObjectSigner(algorithm, key);
    const { certificate, chain } = await throwAwayCertificates(algorithm, signer);
    const cades = () => buildCadesSignature({ signer, certificate, chain, content: file, profile: 'cades', signingTime });
    const raw = () => rawSign(algorithm, key, file);
    const cmsBytes = (await cades()).der.length;
    // Warm-up: JIT and lazily built constants.
    await sample(Math.min(seconds, 0.1), cades);
    await sample(Math.min(seconds, 0.1), raw);
    const c: number[] = [];
    const r: number[] = [];
    for (let i = 0; i < runs; i++) {
      c.push(await sample(seconds, cades));
      r.push(await sample(seconds, raw));
      progress(`cades ${algorithm}: run ${i + 1}/${runs}`);
    }
    const cadesPerSecond = median(c);
    const rawPerSecond = median(r);
    results.push({ algorithm, cadesPerSecond, rawPerSecond, ratio: cadesPerSecond / rawPerSecond, runs, seconds, bytes, cmsBytes });
  }
  return results;
}
