import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { withCreditCodeCheck } from '../../src/identifiers';
import { startService, type RunningService } from '../../src/main';
import { freePort, openssl, write } from '../helpers/openssl';
import { tmpDir } from '../helpers/stores';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * The signing API judged by tools we did not write: pdfsig, qpdf, pyHanko (online for B-B/B-T
 * against this running service's CRL/OCSP URLs; offline from the file's DSS for B-LT/B-LTA) and
 * OpenSSL for CAdES.
 */
const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const ADMIN = 'es_' + 'd'.repeat(43);
const pyhanko = spawnSync('pyhanko', ['--version']).status === 0;
const pyhankoRequired = (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').includes('pyhanko');
if (!pyhanko && !pyhankoRequired) process.stdout.write('signature interop: pyHanko checks skipped — `pip install pyhanko pyhanko-cli` to run them\n');

let svc: RunningService;
let base: string;
let dir: string;
let work: string;
let sealA: string;
let sealB: string;
let signerA: string;
let signerB: string;

async function json(method: string, p: string, body?: unknown, key = ADMIN) {
  const r = await fetch(base + p, { method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  return r.json() as Promise<Record<string, string>>;
}
async function sign(key: string, query: string, body: Buffer, type = 'application/pdf') {
  const r = await fetch(`${base}/v1/signatures?${query}`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': type }, body });
  return { status: r.status, type: r.headers.get('content-type'), logIndex: r.headers.get('x-log-index'), body: Buffer.from(await r.arrayBuffer()) };
}
/** Asynchronous: pyHanko fetches CRLs from this very process, whose event loop must keep running. */
function run(cmd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: work, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: (stdout ?? '') + (stderr ?? '') });
    });
  });
}

beforeAll(async () => {
  dir = tmpDir();
  work = tmpDir('eseal-sign-');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  svc = await startService(
    loadConfig({ PORT: String(port), HOST: '127.0.0.1', ESEAL_DATA_DIR: dir, ESEAL_PUBLIC_URL: base, ESEAL_BOOTSTRAP_ADMIN_KEY: ADMIN, ESEAL_LOG_CHECKPOINT_INTERVAL: '0' }),
    pino({ level: 'silent' }),
  );
  await json('POST', '/v1/agencies', { code: A, name: '杭州市西湖区市场监督管理局' });
  await json('POST', '/v1/agencies', { code: B, name: '浙江省人力资源和社会保障厅' });
  sealA = (await json('POST', '/v1/seals', { agencyCode: A, name: '行政许可专用章', kind: 'licence' })).id;
  sealB = (await json('POST', '/v1/seals', { agencyCode: B, name: '公章', kind: 'official', algorithm: 'RS256' })).id;
  signerA = (await json('POST', '/v1/api-keys', { agencyCode: A, roles: ['signer'], label: 'a' })).key;
  signerB = (await json('POST', '/v1/api-keys', { agencyCode: B, roles: ['signer'], label: 'b' })).key;
  write(work, 'root.der', Buffer.from(await (await fetch(`${base}/v1/pki/ca/root.crt`)).arrayBuffer()));
  await openssl(['x509', '-inform', 'DER', '-in', 'root.der', '-out', 'root.pem'], work);
  write(work, 'in.pdf', buildPdf({ pages: 2 }));
}, 60_000);

afterAll(async () => {
  await svc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

describe('PAdES over HTTP', () => {
  it.each(['B-B', 'B-T', 'B-LT', 'B-LTA'])('%s: pdfsig and qpdf accept it; pyHanko judges it intact and trusted', async (level) => {
    const r = await sign(signerA, `sealId=${sealA}&format=pades&level=${level}`, fs.readFileSync(path.join(work, 'in.pdf')));
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/pdf');
    expect(Number(r.logIndex)).toBeGreaterThan(0);
    const file = `${level}.pdf`;
    write(work, file, r.body);
    expect(r.body.subarray(0, fs.statSync(path.join(work, 'in.pdf')).size).equals(fs.readFileSync(path.join(work, 'in.pdf')))).toBe(true);
    const sig = await run('pdfsig', '-nocert', file);
    expect(sig.out).toMatch(/Signature #1:[\s\S]*Signature Type: ETSI\.CAdES\.detached[\s\S]*Signature is Valid\./);
    // B-LT and B-LTA add revisions after the signature (DSS, document time-stamp, as EN 319 142-1
    // prescribes), so the signature covers its revision and pdfsig says so.
    expect(sig.out).toContain(level === 'B-B' || level === 'B-T' ? 'Total document signed' : 'Not total document signed');
    expect((await run('qpdf', '--check', file)).code).toBe(0);
    if (!pyhanko && !pyhankoRequired) return;
    if (level === 'B-B' || level === 'B-T') {
      // Online: pyHanko fetches the CRLs from this service's distribution points.
      const v = await run('pyhanko', 'sign', 'validate', '--pretty-print', '--trust', 'root.pem', '--trust-replace', file);
      expect(v.out).toContain('The signature is cryptographically sound.');
      expect(v.out).toContain('The signature is judged VALID.');
    } else {
      // Offline: only the revocation data in the file's DSS, no fetching, hard fail.
      const v = await run('python3', path.join(__dirname, 'pyhanko_offline.py'), file, 'root.der');
      expect(v.out).toMatch(/Signature1: intact=True valid=True trusted=True/);
      if (level === 'B-LTA') expect(v.out).toMatch(/Signature2: intact=True valid=True trusted=True/);
      expect(v.code).toBe(0);
    }
  }, 60_000);

  it('a second agency signs after the first: both signatures stay valid, the first covers its revision', async () => {
    const first = await sign(signerA, `sealId=${sealA}&format=pades&level=B-T`, fs.readFileSync(path.join(work, 'in.pdf')));
    const second = await sign(signerB, `sealId=${sealB}&format=pades&level=B-T`, first.body);
    expect(second.status).toBe(200);
    write(work, 'twice.pdf', second.body);
    const sig = await run('pdfsig', '-nocert', 'twice.pdf');
    expect(sig.out.match(/Signature is Valid\./g)).toHaveLength(2);
    expect(sig.out).toMatch(/Signature #1:[\s\S]*Not total document signed[\s\S]*Signature #2:[\s\S]*Total document signed/);
    if (pyhanko || pyhankoRequired) {
      const v = await run('pyhanko', 'sign', 'validate', '--pretty-print', '--trust', 'root.pem', '--trust-replace', 'twice.pdf');
      expect(v.out.match(/The signature is judged VALID\./g)).toHaveLength(2);
    }
  }, 60_000);

  it('signs a PDF with cross-reference and object streams', async () => {
    execFileSync('qpdf', ['--object-streams=generate', 'in.pdf', 'objstm.pdf'], { cwd: work });
    const r = await sign(signerA, `sealId=${sealA}&format=pades&level=B-B`, fs.readFileSync(path.join(work, 'objstm.pdf')));
    expect(r.status).toBe(200);
    write(work, 'objstm-signed.pdf', r.body);
    expect((await run('pdfsig', '-nocert', 'objstm-signed.pdf')).out).toContain('Signature is Valid.');
    expect((await run('qpdf', '--check', 'objstm-signed.pdf')).code).toBe(0);
  });

  (pyhanko || pyhankoRequired ? it : it.skip)('signs a PDF that pyHanko signed first; both signatures stay valid', async () => {
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'pk.pem', '-out', 'pc.pem', '-days', '30', '-subj', '/CN=pyHanko signer'], work);
    const first = await run('pyhanko', 'sign', 'addsig', '--field', 'PyHanko', 'pemder', '--key', 'pk.pem', '--cert', 'pc.pem', '--no-pass', 'in.pdf', 'by-pyhanko.pdf');
    expect(first.code).toBe(0);
    const r = await sign(signerA, `sealId=${sealA}&format=pades&level=B-T`, fs.readFileSync(path.join(work, 'by-pyhanko.pdf')));
    expect(r.status).toBe(200);
    write(work, 'by-both.pdf', r.body);
    const sig = await run('pdfsig', '-nocert', 'by-both.pdf');
    expect(sig.out.match(/Signature is Valid\./g)).toHaveLength(2);
    expect(sig.out).toMatch(/Signature #1:[\s\S]*Not total document signed[\s\S]*Signature #2:[\s\S]*Total document signed/);
    const v = await run('pyhanko', 'sign', 'validate', '--pretty-print', '--trust', 'root.pem', '--trust', 'pc.pem', '--trust-replace', 'by-both.pdf');
    expect(v.out.match(/The signature is cryptographically sound\./g)).toHaveLength(2);
  }, 60_000);

  it('puts the visible seal on the requested page and place', async () => {
    const r = await sign(signerA, `sealId=${sealA}&format=pades&level=B-B&page=2&x=300&y=400&width=120`, fs.readFileSync(path.join(work, 'in.pdf')));
    write(work, 'visible.pdf', r.body);
    execFileSync('pdftoppm', ['-r', '72', '-f', '2', '-l', '2', 'visible.pdf', 'page'], { cwd: work });
    const ppm = fs.readFileSync(path.join(work, fs.readdirSync(work).find((f) => f.startsWith('page') && f.endsWith('.ppm'))!));
    const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(ppm.toString('latin1', 0, 64))!;
    const [w, h] = [Number(m[1]), Number(m[2])];
    const data = ppm.subarray(m[0].length);
    const red = (x: number, y: number) => {
      const i = (y * w + x) * 3;
      return data[i] > 150 && data[i + 1] < 90 && data[i + 2] < 90;
    };
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!red(x, y)) continue;
        // PDF y grows upwards; the image's downwards (page height 842 at 72 dpi).
        const [px, py] = [x, h - y];
        if (px >= 300 && px <= 420 && py >= 400 && py <= 520) inside++;
        else outside++;
      }
    }
    expect(inside).toBeGreaterThan(500);
    expect(outside).toBe(0);
  });

  it('refuses what it must: encrypted, malformed, wrong type, suspended seal, foreign seal', async () => {
    execFileSync('qpdf', ['--encrypt', 'u', 'o', '256', '--', 'in.pdf', 'enc.pdf'], { cwd: work });
    const enc = await sign(signerA, `sealId=${sealA}&format=pades&level=B-B`, fs.readFileSync(path.join(work, 'enc.pdf')));
    expect([enc.status, JSON.parse(enc.body.toString()).code]).toEqual([422, 'PDF_ENCRYPTED']);
    const bad = await sign(signerA, `sealId=${sealA}&format=pades&level=B-B`, Buffer.from('%PDF-1.7\nnot really'));
    expect([bad.status, JSON.parse(bad.body.toString()).code]).toEqual([400, 'PDF_MALFORMED']);
    const type = await sign(signerA, `sealId=${sealA}&format=pades&level=B-B`, Buffer.from('x'), 'application/octet-stream');
    expect(type.status).toBe(415);
    const foreign = await sign(signerB, `sealId=${sealA}&format=pades&level=B-B`, fs.readFileSync(path.join(work, 'in.pdf')));
    expect([foreign.status, JSON.parse(foreign.body.toString()).code]).toEqual([403, 'FORBIDDEN_AGENCY']);
    await json('POST', `/v1/seals/${sealB}/suspend`);
    const suspended = await sign(signerB, `sealId=${sealB}&format=cades&level=B-B`, Buffer.from('x'), 'application/octet-stream');
    expect([suspended.status, JSON.parse(suspended.body.toString()).code]).toEqual([409, 'SEAL_SUSPENDED']);
    await json('POST', `/v1/seals/${sealB}/reinstate`);
    expect((await sign(signerA, `sealId=${sealA}&format=pades&level=B-XL`, Buffer.from('x'))).status).toBe(400);
  });
});

describe('CAdES over HTTP', () => {
  it.each(['B-B', 'B-T'])('%s: openssl cms -verify says Verification successful', async (level) => {
    write(work, 'doc.bin', Buffer.from('任何文件 any file\n'));
    const r = await sign(signerA, `sealId=${sealA}&format=cades&level=${level}`, fs.readFileSync(path.join(work, 'doc.bin')), 'application/octet-stream');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/pkcs7-signature');
    write(work, `sig-${level}.p7s`, r.body);
    const v = await openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', `sig-${level}.p7s`, '-content', 'doc.bin', '-CAfile', 'root.pem', '-purpose', 'any', '-out', '/dev/null'], work);
    expect(v.out).toContain('Verification successful');
    const printed = (await openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', `sig-${level}.p7s`], work)).out;
    expect(printed).toContain('id-smime-aa-signingCertificateV2');
    expect(printed.includes('id-smime-aa-timeStampToken')).toBe(level === 'B-T');
  });
});
