import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startService, type RunningService } from '../../src/main';
import { Verifier } from '../../src/verify/engine';
import { RevocationChecker } from '../../src/verify/revocation';
import type { VerificationReport } from '../../src/verify/report';
import { freePort, openssl, write } from '../helpers/openssl';
import { required, tmpDir } from '../helpers/stores';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * The verifier judged against signatures we did not make and revocation we do not control:
 * - every output of our own signing API (all PAdES levels, two signatures in sequence, CAdES);
 * - a PDF signed by pyHanko and a CAdES signature by `openssl cms -sign -cades`, both with a test
 *   CA made by OpenSSL whose CRL is served over loopback HTTP: TOTAL_PASSED when that CA is an
 *   anchor, INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND when it is not;
 * - revocation: revoked after a B-T signature → passes; revoked before signing → REVOKED;
 *   OCSP unreachable and no DSS → INDETERMINATE.
 * Revocation data is fetched over HTTP from the running service and the test CA's server, with
 * the verifier's host allow-list naming exactly those two.
 */
const A = '11330105002500287C';
const ADMIN = 'es_' + 'v'.repeat(43);
const pyhanko = spawnSync('pyhanko', ['--version']).status === 0;
if (!pyhanko && !required('pyhanko')) process.stdout.write('verify interop: pyHanko cases skipped — `pip install pyhanko pyhanko-cli` to run them\n');
const withPyhanko = pyhanko || required('pyhanko') ? it : it.skip;

let svc: RunningService;
let base: string;
let dir: string;
let work: string;
let seal: string;
let signer: string;
let ourRoot: Buffer;
let ourIssuing: Buffer;
let testRoot: Buffer;
let crlServer: http.Server;
let crlHost: string;
let deadHost: string;

async function json(method: string, p: string, body?: unknown, key = ADMIN) {
  const r = await fetch(base + p, { method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  return r.json() as Promise<Record<string, string>>;
}
async function sign(query: string, body: Buffer, type = 'application/pdf'): Promise<Buffer> {
  const r = await fetch(`${base}/v1/signatures?${query}`, { method: 'POST', headers: { Authorization: `Bearer ${signer}`, 'Content-Type': type }, body });
  const out = Buffer.from(await r.arrayBuffer());
  if (r.status !== 200) throw new Error(`sign ${query}: ${r.status} ${out.toString()}`);
  return out;
}
/** Asynchronous so that this process keeps serving the TSA pyHanko calls. */
function run(cmd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: work, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: (stdout ?? '') + (stderr ?? '') });
    });
  });
}
async function ossl(...args: string[]): Promise<string> {
  const r = await openssl(args, work);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.out}`);
  return r.out;
}
function verifier(anchors: Buffer[], mode: 'online' | 'offline' = 'online'): Verifier {
  return new Verifier({
    trustAnchors: anchors,
    // As the service's own verifier does: our issuing CA is a known intermediate (pyHanko's tokens from our TSA carry only the TSA certificate).
    intermediates: [ourIssuing],
    revocation: new RevocationChecker({ mode, allowHosts: [new URL(base).host, crlHost, deadHost], timeoutMs: 2000 }),
  });
}
function summary(r: VerificationReport): string {
  return JSON.stringify(
    r.signatures.map((s) => ({ id: s.id, i: s.indication, s: s.subIndication, level: s.level, bad: s.checks.filter((c) => c.result !== 'passed' && c.result !== 'skipped') })),
    null,
    1,
  );
}
function expectPassed(r: VerificationReport): void {
  if (r.indication !== 'TOTAL_PASSED') throw new Error(`expected TOTAL_PASSED, got ${r.indication}/${r.subIndication}: ${summary(r)}`);
}

/** A test CA made by OpenSSL: root, and leaves with a CRL DP (or a dead OCSP URL) on loopback. */
async function makeTestCa(): Promise<void> {
  write(work, 'ca.cnf', ['[ca]', 'default_ca = d', '[d]', 'database = index.txt', 'crlnumber = crlnumber', 'default_md = sha256', 'default_crl_days = 30', 'certificate = ca.pem', 'private_key = ca.key', ''].join('\n'));
  write(work, 'index.txt', '');
  write(work, 'crlnumber', '01\n');
  await ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/C=CN/O=Interop Test/CN=Interop Test Root', '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash');
  const leaf = async (name: string, ext: string[]) => {
    write(work, `${name}.ext`, ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid', ...ext, ''].join('\n'));
    await ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/C=CN/O=Interop Test/CN=${name}`);
    await ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${Buffer.from(name).toString('hex')}`, '-days', '365', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  await leaf('good', [`crlDistributionPoints=URI:http://${crlHost}/test.crl`]);
  await leaf('revoked', [`crlDistributionPoints=URI:http://${crlHost}/test.crl`]);
  await leaf('unreachable', [`authorityInfoAccess=OCSP;URI:http://${deadHost}/ocsp`]);
  await ossl('ca', '-config', 'ca.cnf', '-revoke', 'revoked.pem', '-crl_reason', 'keyCompromise');
  await ossl('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'test.crl.pem');
  await ossl('crl', '-in', 'test.crl.pem', '-outform', 'DER', '-out', 'test.crl');
  testRoot = Verifier.anchorsFrom(fs.readFileSync(path.join(work, 'ca.pem')))[0]!;
  // Signing happens after the revocation, in a later second: the claimed times are after it.
  await new Promise((r) => setTimeout(r, 1100));
}

beforeAll(async () => {
  dir = tmpDir();
  work = tmpDir('eseal-verify-');
  crlServer = http.createServer((req, res) => {
    if (req.url === '/test.crl') res.writeHead(200, { 'Content-Type': 'application/pkix-crl' }).end(fs.readFileSync(path.join(work, 'test.crl')));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
  crlHost = `127.0.0.1:${(crlServer.address() as AddressInfo).port}`;
  deadHost = `127.0.0.1:${await freePort()}`; // nothing listens there
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  svc = await startService(
    loadConfig({ PORT: String(port), HOST: '127.0.0.1', ESEAL_DATA_DIR: dir, ESEAL_PUBLIC_URL: base, ESEAL_BOOTSTRAP_ADMIN_KEY: ADMIN, ESEAL_LOG_CHECKPOINT_INTERVAL: '0' }),
    pino({ level: 'silent' }),
  );
  await json('POST', '/v1/agencies', { code: A, name: '杭州市西湖区市场监督管理局' });
  seal = (await json('POST', '/v1/seals', { agencyCode: A, name: '行政许可专用章', kind: 'licence' })).id;
  signer = (await json('POST', '/v1/api-keys', { agencyCode: A, roles: ['signer'], label: 'verify interop' })).key;
  ourRoot = Buffer.from(await (await fetch(`${base}/v1/pki/ca/root.crt`)).arrayBuffer());
  ourIssuing = Buffer.from(await (await fetch(`${base}/v1/pki/ca`, { headers: { Accept: 'application/pkix-cert' } })).arrayBuffer());
  write(work, 'in.pdf', buildPdf({ pages: 2 }));
  await makeTestCa();
}, 60_000);

afterAll(async () => {
  await svc.stop();
  await new Promise((r) => crlServer.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

describe('our own signatures', () => {
  it.each(['B-B', 'B-T', 'B-LT', 'B-LTA'] as const)('PAdES %s → TOTAL_PASSED at that level', async (level) => {
    const signed = await sign(`sealId=${seal}&format=pades&level=${level}`, fs.readFileSync(path.join(work, 'in.pdf')));
    const r = await verifier([ourRoot]).verifyPdf(signed);
    expectPassed(r);
    const sigs = r.signatures.filter((s) => s.type !== 'document-timestamp');
    expect(sigs).toHaveLength(1);
    expect(sigs[0]!.level).toBe(level);
    expect(sigs[0]!.signer?.agency?.creditCode).toBe(A);
    expect(sigs[0]!.changes.every((c) => c.allowed)).toBe(true);
    if (level === 'B-LTA') expect(r.signatures.some((s) => s.type === 'document-timestamp' && s.indication === 'TOTAL_PASSED')).toBe(true);
  }, 60_000);

  it('B-LT and B-LTA verify offline, from the DSS alone', async () => {
    for (const level of ['B-LT', 'B-LTA']) {
      const signed = await sign(`sealId=${seal}&format=pades&level=${level}`, fs.readFileSync(path.join(work, 'in.pdf')));
      expectPassed(await verifier([ourRoot], 'offline').verifyPdf(signed));
    }
  }, 60_000);

  it('two signatures in sequence (B-T then B-LT) both pass; the first reports the second as an allowed change', async () => {
    const once = await sign(`sealId=${seal}&format=pades&level=B-T`, fs.readFileSync(path.join(work, 'in.pdf')));
    const twice = await sign(`sealId=${seal}&format=pades&level=B-LT&page=1&x=300&y=100&width=120`, once);
    const r = await verifier([ourRoot]).verifyPdf(twice);
    expectPassed(r);
    const [first, second] = r.signatures;
    expect(first!.coverage).toBe('REVISION');
    expect(first!.modifiedAfterSigning).toBe(true);
    expect(first!.changes.length).toBeGreaterThan(0);
    expect(first!.changes.every((c) => c.allowed)).toBe(true);
    expect(second!.level).toBe('B-LT');
  }, 60_000);

  it.each(['B-B', 'B-T'] as const)('CAdES %s detached → TOTAL_PASSED; other content → TOTAL_FAILED / HASH_FAILURE', async (level) => {
    const content = Buffer.from('检验报告 2026-11-26\n');
    const p7s = await sign(`sealId=${seal}&format=cades&level=${level}`, content, 'application/octet-stream');
    const r = await verifier([ourRoot]).verifyDetached(content, p7s);
    expectPassed(r);
    expect(r.signatures[0]!.level).toBe(level);
    const bad = await verifier([ourRoot]).verifyDetached(Buffer.from('检验报告 2026-11-27\n'), p7s);
    expect([bad.indication, bad.subIndication]).toEqual(['TOTAL_FAILED', 'HASH_FAILURE']);
  }, 60_000);

  it('without our root as an anchor: INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND', async () => {
    const signed = await sign(`sealId=${seal}&format=pades&level=B-T`, fs.readFileSync(path.join(work, 'in.pdf')));
    const r = await verifier([testRoot]).verifyPdf(signed);
    expect([r.indication, r.subIndication]).toEqual(['INDETERMINATE', 'NO_CERTIFICATE_CHAIN_FOUND']);
  }, 60_000);
});

describe('signatures made by other tools, with a test CA', () => {
  withPyhanko('a PDF signed by pyHanko → TOTAL_PASSED with the test CA as anchor, NO_CERTIFICATE_CHAIN_FOUND without', async () => {
    const r = await run('pyhanko', 'sign', 'addsig', '--field', 'Sig1', '--use-pades', 'pemder', '--key', 'good.key', '--cert', 'good.pem', '--chain', 'ca.pem', '--no-pass', 'in.pdf', 'pyhanko.pdf');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
    const pdf = fs.readFileSync(path.join(work, 'pyhanko.pdf'));
    const ok = await verifier([testRoot]).verifyPdf(pdf);
    expectPassed(ok);
    expect(ok.signatures[0]!.signer?.subject).toContain('CN=good');
    expect(ok.signatures[0]!.checks.find((c) => c.name === 'signer-revocation')?.reason).toMatch(/crl/);
    const untrusted = await verifier([ourRoot]).verifyPdf(pdf);
    expect([untrusted.indication, untrusted.subIndication]).toEqual(['INDETERMINATE', 'NO_CERTIFICATE_CHAIN_FOUND']);
  }, 60_000);

  withPyhanko('pyHanko B-T with our TSA: passes when both roots are anchors', async () => {
    const r = await run('pyhanko', 'sign', 'addsig', '--field', 'Sig1', '--use-pades', '--timestamp-url', `${base}/v1/tsa`, 'pemder', '--key', 'good.key', '--cert', 'good.pem', '--no-pass', 'in.pdf', 'pyhanko-t.pdf');
    expect(r.code).toBe(0);
    const v = await verifier([testRoot, ourRoot]).verifyPdf(fs.readFileSync(path.join(work, 'pyhanko-t.pdf')));
    expectPassed(v);
    expect(v.signatures[0]!.level).toBe('B-T');
    expect(v.signatures[0]!.timestamp?.valid).toBe(true);
  }, 60_000);

  it('a CAdES signature by openssl cms -sign -cades → TOTAL_PASSED with the test CA, NO_CERTIFICATE_CHAIN_FOUND without', async () => {
    write(work, 'content.txt', 'signed by openssl\n');
    await ossl('cms', '-sign', '-cades', '-binary', '-in', 'content.txt', '-signer', 'good.pem', '-inkey', 'good.key', '-certfile', 'ca.pem', '-outform', 'DER', '-out', 'content.p7s');
    const content = fs.readFileSync(path.join(work, 'content.txt'));
    const p7s = fs.readFileSync(path.join(work, 'content.p7s'));
    const ok = await verifier([testRoot]).verifyDetached(content, p7s);
    expectPassed(ok);
    expect(ok.signatures[0]!.level).toBe('B-B');
    const untrusted = await verifier([ourRoot]).verifyDetached(content, p7s);
    expect([untrusted.indication, untrusted.subIndication]).toEqual(['INDETERMINATE', 'NO_CERTIFICATE_CHAIN_FOUND']);
    // PEM is accepted too.
    await ossl('cms', '-sign', '-cades', '-binary', '-in', 'content.txt', '-signer', 'good.pem', '-inkey', 'good.key', '-outform', 'PEM', '-out', 'content.p7s.pem');
    expectPassed(await verifier([testRoot]).verifyDetached(content, fs.readFileSync(path.join(work, 'content.p7s.pem'))));
  }, 60_000);
});

describe('revocation', () => {
  it('seal revoked after a B-T signature → TOTAL_PASSED (the time-stamp precedes the revocation)', async () => {
    const s2 = (await json('POST', '/v1/seals', { agencyCode: A, name: '临时章', kind: 'official' })).id;
    const signedT = await sign(`sealId=${s2}&format=pades&level=B-T`, fs.readFileSync(path.join(work, 'in.pdf')));
    const signedB = await sign(`sealId=${s2}&format=pades&level=B-B`, fs.readFileSync(path.join(work, 'in.pdf')));
    await new Promise((r) => setTimeout(r, 1100)); // revocation times are whole seconds
    const rev = await fetch(`${base}/v1/seals/${s2}/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 'keyCompromise' }) });
    expect(rev.status).toBe(200);
    const t = await verifier([ourRoot]).verifyPdf(signedT);
    expectPassed(t);
    expect(t.signatures[0]!.checks.find((c) => c.name === 'signer-revocation')?.reason).toMatch(/revoked on .* after the signature was time-stamped/);
    // B-B: nothing proves the signature existed before the revocation.
    const b = await verifier([ourRoot]).verifyPdf(signedB);
    expect([b.indication, b.subIndication]).toEqual(['INDETERMINATE', 'REVOKED_NO_POE']);
  }, 60_000);

  it('signer revoked before signing (CAdES by openssl, claimed signing-time after the revocation) → TOTAL_FAILED / REVOKED', async () => {
    await ossl('cms', '-sign', '-cades', '-binary', '-in', 'content.txt', '-signer', 'revoked.pem', '-inkey', 'revoked.key', '-outform', 'DER', '-out', 'revoked.p7s');
    const r = await verifier([testRoot]).verifyDetached(fs.readFileSync(path.join(work, 'content.txt')), fs.readFileSync(path.join(work, 'revoked.p7s')));
    expect([r.indication, r.subIndication]).toEqual(['TOTAL_FAILED', 'REVOKED']);
  }, 60_000);

  withPyhanko('signer revoked before a pyHanko B-T signature → TOTAL_FAILED / REVOKED', async () => {
    const s = await run('pyhanko', 'sign', 'addsig', '--field', 'Sig1', '--use-pades', '--timestamp-url', `${base}/v1/tsa`, 'pemder', '--key', 'revoked.key', '--cert', 'revoked.pem', '--no-pass', 'in.pdf', 'revoked.pdf');
    expect(s.code).toBe(0);
    const r = await verifier([testRoot, ourRoot]).verifyPdf(fs.readFileSync(path.join(work, 'revoked.pdf')));
    expect([r.indication, r.subIndication]).toEqual(['TOTAL_FAILED', 'REVOKED']);
  }, 60_000);

  it('OCSP responder unreachable and no DSS → INDETERMINATE / TRY_LATER, never passed', async () => {
    await ossl('cms', '-sign', '-cades', '-binary', '-in', 'content.txt', '-signer', 'unreachable.pem', '-inkey', 'unreachable.key', '-outform', 'DER', '-out', 'unreachable.p7s');
    const content = fs.readFileSync(path.join(work, 'content.txt'));
    const p7s = fs.readFileSync(path.join(work, 'unreachable.p7s'));
    const r = await verifier([testRoot]).verifyDetached(content, p7s);
    expect([r.indication, r.subIndication]).toEqual(['INDETERMINATE', 'TRY_LATER']);
    // Offline, the same: nothing is guessed.
    const off = await verifier([testRoot], 'offline').verifyDetached(content, p7s);
    expect([off.indication, off.subIndication]).toEqual(['INDETERMINATE', 'TRY_LATER']);
  }, 60_000);
});
