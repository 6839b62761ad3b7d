/**
 * `## E-licences` benchmark: licences issued per second through HTTP (POST /v1/licences on a
 * listening server, `fetch` clients), with the sealed PDF rendition (render + PAdES B-T with the
 * built-in TSA) and credential-only (?pdf=false: identifier, VC JWS, QR token, log entry, store).
 * A fresh SQLite store and ES256 seal; `concurrency` requests in flight.
 *
 * Run: npm run bench -- --only licences
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { AgencyService } from '../agencies';
import { ApiKeyService } from '../api-keys';
import { createApp } from '../http/app';
import { buildServices } from '../services';
import { openSqliteStores } from '../store';

const AGENCY = '11330105002500287C';
const HOLDER = '91330106MA2CFPK533';

export interface LicenceBenchCase {
  label: string;
  pdf: boolean;
  concurrency: number;
  issued: number;
  perSecond: number;
  msMedian: number;
  msP95: number;
  msP99: number;
}

export interface LicenceBenchResult {
  cases: LicenceBenchCase[];
  seconds: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

export async function benchLicences(options: { seconds?: number; progress?: (line: string) => void } = {}): Promise<LicenceBenchResult> {
  const seconds = options.seconds ?? 5;
  const progress = options.progress ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-licences-'));
  const stores = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
  const publicUrl = 'http://127.0.0.1:8080';
  const services = await buildServices(
    { dataDir: dir, masterKey: '43'.repeat(32), masterKeyFile: path.join(dir, 'master.key'), publicUrl, keyStore: 'software', pkcs11: null, tsaPolicy: null, logCheckpointIntervalMs: 0 },
    stores,
  );
  const app = createApp({ ...services, stores, logger: pino({ level: 'silent' }), publicUrl, version: 'bench', jsonBodyLimit: 1024 * 1024 });
  const server = app.express.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await new AgencyService(stores.agencies).create({ code: AGENCY, name: '杭州市西湖区市场监督管理局', region: null });
    const seal = await services.seals.create({ apiKeyId: 'bench', agencyCode: null, roles: ['admin'] }, { agencyCode: AGENCY, name: '行政许可专用章', kind: 'licence', algorithm: 'ES256' });
    const key = (await new ApiKeyService(stores.apiKeys, stores.agencies).create(null, { agencyCode: AGENCY, roles: ['counter'], label: 'bench' })).key;
    const body = JSON.stringify({
      type: 'business-licence',
      sealId: seal.id,
      holder: { name: '杭州云栖数据科技有限公司', codeType: '001', code: HOLDER },
      data: {
        entityType: '有限责任公司',
        legalRepresentative: '王建国',
        registeredCapital: '500万元人民币',
        establishedOn: '2019-03-15',
        address: '浙江省杭州市西湖区文三路90号',
        businessScope: '软件开发；信息技术咨询服务；数据处理服务。',
        registrationAuthority: '杭州市西湖区市场监督管理局',
      },
      validFrom: '2025-01-01',
      validUntil: null,
    });
    const issueOnce = async (pdf: boolean) => {
      const res = await fetch(`${base}/v1/licences${pdf ? '' : '?pdf=false'}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      if (res.status !== 201) throw new Error(`issuance failed: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    const cases: LicenceBenchCase[] = [];
    for (const c of [
      { label: 'credential only (?pdf=false)', pdf: false, concurrency: 16 },
      { label: 'sealed PDF + credential', pdf: true, concurrency: 4 },
    ]) {
      progress(`licences: ${c.label}…`);
      await issueOnce(c.pdf); // warm-up (font, code paths)
      const times: number[] = [];
      const started = performance.now();
      const until = started + seconds * 1000;
      await Promise.all(
        Array.from({ length: c.concurrency }, async () => {
          while (performance.now() < until || times.length < 5) {
            const t = performance.now();
            await issueOnce(c.pdf);
            times.push(performance.now() - t);
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      cases.push({ ...c, issued: times.length, perSecond: times.length / elapsed, msMedian: pct(times, 50), msP95: pct(times, 95), msP99: pct(times, 99) });
    }
    return { cases, seconds };
  } finally {
    await new Promise((r) => server.close(r));
    await services.close();
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function licencesTable(r: LicenceBenchResult): string {
  const rows = r.cases.map((c) => `${c.label.padEnd(32)} ${String(c.concurrency).padStart(4)} ${String(c.issued).padStart(7)} ${c.perSecond.toFixed(1).padStart(9)} ${c.msMedian.toFixed(1).padStart(8)} ${c.msP95.toFixed(1).padStart(8)} ${c.msP99.toFixed(1).padStart(8)}`);
  return ['mode                             conc  issued  licences/s  ms p50   ms p95   ms p99', ...rows].join('\n');
}

export function licencesMarkdown(r: LicenceBenchResult): string {
  return [
    `Licences issued per second through HTTP (POST /v1/licences, fresh SQLite store, ES256 seal, software key store, built-in TSA), ${r.seconds} s per mode.`,
    '',
    '| mode | requests in flight | issued | licences/s | median ms | p95 ms | p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.cases.map((c) => `| ${c.label} | ${c.concurrency} | ${c.issued} | ${c.perSecond.toFixed(1)} | ${c.msMedian.toFixed(1)} | ${c.msP95.toFixed(1)} | ${c.msP99.toFixed(1)} |`),
    '',
    'Credential only: identifier (monotonic counter), VC JWS and QR token signed through the key store, log entry (group commit), store row. ' +
      'With PDF: plus rendering (CJK subset font, QR) and PAdES B-T sealing with a timestamp. Run: `npm run bench -- --only licences`.',
  ].join('\n');
}
