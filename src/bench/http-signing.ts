/**
 * `## HTTP signing` benchmark: CAdES B-B signatures of a 1 KiB file through the HTTP endpoint
 * (`POST /v1/signatures?format=cades`) of a real service process, driven over loopback by `wrk`,
 * against raw `crypto.sign` of the same 1 KiB with a key of the same algorithm, measured in the
 * same run. Each HTTP signature is the whole pipeline: API-key check, seal and certificate
 * lookup, key use through the key store, durable key-use record and transparency-log entry, CMS.
 *
 * Needs `wrk` (Debian package `wrk`); without it the section says so and measures nothing.
 * The service, wrk and this process share the machine: the ratio is the honest end-to-end cost.
 */
import { execFile, spawnSync } from 'node:child_process';
import { constants, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { callJson, startServiceProcess } from './service-process';

const AGENCY = '11330105002500287C';
const ADMIN = 'es_' + 'h'.repeat(43);

export interface HttpSigningRow {
  algorithm: 'ES256' | 'RS256';
  rawPerSecond: number;
  httpPerSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

export interface HttpSigningResult {
  rows: HttpSigningRow[];
  seconds: number;
  connections: number;
  missing?: string;
}

function rawRate(algorithm: 'ES256' | 'RS256', data: Buffer, seconds: number): number {
  const key = algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey : generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
  const sign = () =>
    algorithm === 'ES256' ? nodeSign('sha256', data, { key, dsaEncoding: 'der' }) : nodeSign('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING });
  for (let i = 0; i < 20; i++) sign();
  let n = 0;
  const t = performance.now();
  while (performance.now() - t < seconds * 1000) {
    sign();
    n++;
  }
  return n / ((performance.now() - t) / 1000);
}

/** wrk's latency figures ("50%  1.23ms") in milliseconds. */
function latency(out: string, pct: string): number {
  const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

export async function benchHttpSigning(o: { seconds?: number; connections?: number; progress?: (l: string) => void } = {}): Promise<HttpSigningResult> {
  const seconds = Math.max(3, Math.round(o.seconds ?? 10));
  const connections = o.connections ?? 16;
  const progress = o.progress ?? (() => undefined);
  if (spawnSync('wrk', ['--version']).error) return { rows: [], seconds, connections, missing: 'wrk is not installed (apt-get install wrk)' };
  const svc = await startServiceProcess({ store: 'sqlite', adminKey: ADMIN, extraEnv: { ESEAL_LOG_LEVEL: 'error' } });
  try {
    await callJson(svc.base, 'POST', '/v1/agencies', ADMIN, { code: AGENCY, name: 'eseal benchmark agency' });
    const signer = (await callJson<{ key: string }>(svc.base, 'POST', '/v1/api-keys', ADMIN, { agencyCode: AGENCY, roles: ['signer'], label: 'bench' })).key;
    const data = Buffer.alloc(1024, 0x61); // what wrk sends: string.rep("a", 1024)
    const rows: HttpSigningRow[] = [];
    for (const algorithm of ['ES256', 'RS256'] as const) {
      const seal = await callJson<{ id: string }>(svc.base, 'POST', '/v1/seals', ADMIN, { agencyCode: AGENCY, name: `bench ${algorithm}`, kind: 'official', algorithm });
      const lua = path.join(svc.dataDir, `post-${algorithm}.lua`);
      fs.writeFileSync(
        lua,
        [
          'wrk.method = "POST"',
          `wrk.headers["Authorization"] = "Bearer ${signer}"`,
          'wrk.headers["Content-Type"] = "application/octet-stream"',
          `wrk.body = string.rep("a", 1024)`,
        ].join('\n'),
      );
      const url = `${svc.base}/v1/signatures?sealId=${seal.id}&format=cades&level=B-B`;
      progress(`http signing ${algorithm}: warm-up…`);
      await run('wrk', ['-t1', '-c4', '-d2s', '-s', lua, url]);
      progress(`http signing ${algorithm}: wrk ${seconds} s, ${connections} connections…`);
      const out = await run('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', lua, url]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
      const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      progress(`http signing ${algorithm}: raw crypto.sign…`);
      rows.push({ algorithm, rawPerSecond: rawRate(algorithm, data, Math.min(5, seconds)), httpPerSecond: rps, p50ms: latency(out, '50'), p99ms: latency(out, '99'), errors });
    }
    return { rows, seconds, connections };
  } finally {
    await svc.stop();
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { maxBuffer: 4 << 20 }, (e, stdout, stderr) => (e ? reject(new Error(`${cmd}: ${stderr || e.message}`)) : resolve(stdout))));
}

const HEAD = ['algorithm', 'raw crypto.sign /s', 'HTTP CAdES /s', 'HTTP ÷ raw', 'p50 ms', 'p99 ms', 'non-200'];
const rows = (r: HttpSigningResult) =>
  r.rows.map((x) => [x.algorithm, x.rawPerSecond.toFixed(0), x.httpPerSecond.toFixed(0), (x.httpPerSecond / x.rawPerSecond).toFixed(3), x.p50ms.toFixed(2), x.p99ms.toFixed(2), String(x.errors)]);

export function httpSigningTable(r: HttpSigningResult): string {
  if (r.missing) return `HTTP signing: skipped — ${r.missing}`;
  const body = rows(r);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  return [HEAD, ...body].map((row) => row.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')).join('\n');
}

export function httpSigningMarkdown(r: HttpSigningResult): string {
  if (r.missing) return `Not measured: ${r.missing}.`;
  return [
    `CAdES B-B signatures of a 1 KiB file through \`POST /v1/signatures\` of a service process on SQLite, driven over loopback by \`wrk -t2 -c${r.connections} -d${r.seconds}s\` (after a 2 s warm-up), against raw \`crypto.sign\` of the same 1 KiB with a fresh key of the same algorithm in this process, same run (\`npm run bench -- --only http-signing\`). Every HTTP signature is the whole pipeline: key check, seal lookup, key store, durable key-use record and log entry, CMS. Service, wrk and the raw loop share the 2 cores.`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows(r).map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
