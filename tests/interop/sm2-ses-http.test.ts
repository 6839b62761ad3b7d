/**
 * GB/T 38540 through the running service: an SM2 seal gets an SM2 certificate and an SESeal
 * made by the platform's seal maker (GET /v1/seals/{id}/ses), signs with format=ses, and the
 * verification endpoint reports every step. OpenSSL independently checks the two SM2
 * signatures (maker's over SES_SealInfo, signer's over TBS_Sign) with the default user id.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { withCreditCodeCheck } from '../../src/identifiers';
import { startService, type RunningService } from '../../src/main';
import { parseSESSignature, parseSESeal } from '../../src/asn1';
import { parseCertificate, toPem } from '../../src/pki';
import { sm3, SM2_DEFAULT_USER_ID } from '../../src/crypto';
import { freePort, openssl, write } from '../helpers/openssl';
import { tmpDir } from '../helpers/stores';

const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const ADMIN = 'es_' + 'e'.repeat(43);

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
  return { status: r.status, body: (await r.json()) as Record<string, string> };
}
async function get(p: string, key = ADMIN) {
  const r = await fetch(base + p, { headers: { Authorization: `Bearer ${key}` } });
  return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
}
async function sign(key: string, query: string, body: Buffer) {
  const r = await fetch(`${base}/v1/signatures?${query}`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/octet-stream' }, body });
  return { status: r.status, logIndex: r.headers.get('x-log-index'), body: Buffer.from(await r.arrayBuffer()) };
}
async function verify(document: Buffer, signature: Buffer) {
  const form = new FormData();
  form.append('document', new Blob([document]), 'document.xml');
  form.append('signature', new Blob([signature]), 'SignedValue.dat');
  const r = await fetch(`${base}/v1/verifications`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, Accept: 'application/json' }, body: form });
  return { status: r.status, report: (await r.json()) as { indication: string; subIndication?: string; document: { kind: string }; signatures: { format: string; indication: string; subIndication?: string; propertyInfo?: string; timestamp?: { valid: boolean }; checks: { name: string; result: string; code?: string }[] }[] } };
}

beforeAll(async () => {
  dir = tmpDir();
  work = tmpDir('eseal-ses-');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  svc = await startService(
    loadConfig({ PORT: String(port), HOST: '127.0.0.1', ESEAL_DATA_DIR: dir, ESEAL_PUBLIC_URL: base, ESEAL_BOOTSTRAP_ADMIN_KEY: ADMIN, ESEAL_LOG_CHECKPOINT_INTERVAL: '0' }),
    pino({ level: 'silent' }),
  );
  await json('POST', '/v1/agencies', { code: A, name: '杭州市西湖区市场监督管理局' });
  await json('POST', '/v1/agencies', { code: B, name: '浙江省人力资源和社会保障厅' });
  const created = await json('POST', '/v1/seals', { agencyCode: A, name: '公章', kind: 'official', algorithm: 'SM2' });
  expect(created.status).toBe(201);
  sealA = created.body.id!;
  sealB = (await json('POST', '/v1/seals', { agencyCode: B, name: '公章', kind: 'official' })).body.id!;
  signerA = (await json('POST', '/v1/api-keys', { agencyCode: A, roles: ['signer'], label: 'a' })).body.key!;
  signerB = (await json('POST', '/v1/api-keys', { agencyCode: B, roles: ['signer'], label: 'b' })).body.key!;
}, 60_000);

afterAll(async () => {
  await svc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

describe('GB/T 38540 over HTTP', () => {
  it("an SM2 seal has an SM2 certificate and an SESeal signed by the platform's seal maker (OpenSSL checks the maker signature)", async () => {
    const certRes = await fetch(`${base}/v1/seals/${sealA}/certificate`, { headers: { Authorization: `Bearer ${ADMIN}`, Accept: 'application/pkix-cert' } });
    const cert = parseCertificate(Buffer.from(await certRes.arrayBuffer()));
    expect(cert.signatureAlgorithm.oid).toBe('1.2.156.10197.1.501');

    const r = await get(`/v1/seals/${sealA}/ses`);
    expect(r.status).toBe(200);
    const seal = parseSESeal(r.body);
    expect(seal.version).toBe(4);
    expect(seal.eSealInfo.esID).toBe(sealA);
    expect(seal.eSealInfo.property.certList.kind === 'certs' && seal.eSealInfo.property.certList.certs[0]!.equals(cert.der)).toBe(true);
    expect(seal.eSealInfo.picture.type).toBe('PNG');
    expect(seal.eSealInfo.picture.width).toBeGreaterThanOrEqual(20);
    expect(seal.eSealInfo.picture.data.subarray(1, 4).toString('latin1')).toBe('PNG');
    // Made once: the same bytes on every request.
    expect((await get(`/v1/seals/${sealA}/ses`)).body.equals(r.body)).toBe(true);

    const maker = parseCertificate(seal.cert);
    write(work, 'maker.pub', toPem(maker.spki, 'PUBLIC KEY'));
    write(work, 'sealinfo.der', seal.eSealInfo.der);
    write(work, 'maker.sig', seal.signedValue);
    const o = await openssl(['dgst', '-sm3', '-verify', 'maker.pub', '-signature', 'maker.sig', '-sigopt', `distid:${SM2_DEFAULT_USER_ID}`, 'sealinfo.der'], work);
    expect(o.out).toContain('Verified OK');
  });

  it('the SM2 CA certificates and CRL are served where the SM2 certificates point; OpenSSL checks the chain', async () => {
    const certRes = await fetch(`${base}/v1/seals/${sealA}/certificate`, { headers: { Authorization: `Bearer ${ADMIN}`, Accept: 'application/pkix-cert' } });
    const cert = parseCertificate(Buffer.from(await certRes.arrayBuffer()));
    const aia = cert.caIssuersUrls[0]!;
    const crlUrl = cert.crlDistributionPoints[0]!;
    expect(aia).toBe(`${base}/v1/pki/ca/sm2-issuing.crt`);
    expect(crlUrl).toBe(`${base}/v1/pki/crl/sm2`);
    const issuing = Buffer.from(await (await fetch(aia)).arrayBuffer());
    const root = Buffer.from(await (await fetch(`${base}/v1/pki/ca/sm2-root.crt`)).arrayBuffer());
    const crl = await fetch(crlUrl);
    expect(crl.status).toBe(200);
    expect(crl.headers.get('content-type')).toContain('application/pkix-crl');
    expect((await fetch(`${base}/v1/pki/crl/sm2-root`)).status).toBe(200);
    expect((await (await fetch(`${base}/v1/pki/ca/sm2`)).text())).toContain('BEGIN CERTIFICATE');
    write(work, 'h-leaf.pem', toPem(cert.der));
    write(work, 'h-issuing.pem', toPem(issuing));
    write(work, 'h-root.pem', toPem(root));
    const vfy = ['-partial_chain', '-vfyopt', `distid:${SM2_DEFAULT_USER_ID}`];
    expect((await openssl(['verify', ...vfy, '-CAfile', 'h-issuing.pem', 'h-leaf.pem'], work)).out).toContain('h-leaf.pem: OK');
    expect((await openssl(['verify', ...vfy, '-CAfile', 'h-root.pem', 'h-issuing.pem'], work)).out).toContain('h-issuing.pem: OK');
  });

  it('an ECDSA seal has no SESeal; an SM2 seal does not sign CAdES', async () => {
    const r = await get(`/v1/seals/${sealB}/ses`);
    expect(r.status).toBe(409);
    expect(JSON.parse(r.body.toString()).code).toBe('SES_REQUIRES_SM2');
    const c = await sign(signerA, `sealId=${sealA}&format=cades`, Buffer.from('x'));
    expect(c.status).toBe(400);
    const s = await sign(signerB, `sealId=${sealB}&format=ses`, Buffer.from('x'));
    expect(s.status).toBe(409);
    expect(JSON.parse(s.body.toString()).code).toBe('SES_REQUIRES_SM2');
  });

  it('bad SES options are 400 problems with a precise code', async () => {
    const level = await sign(signerA, `sealId=${sealA}&format=ses&level=B-LT`, Buffer.from('x'));
    expect(level.status).toBe(400);
    expect(JSON.parse(level.body.toString()).code).toBe('VALIDATION_FAILED');
    const prop = await sign(signerA, `sealId=${sealA}&format=ses&propertyInfo=${encodeURIComponent('公文')}`, Buffer.from('x'));
    expect(prop.status).toBe(400);
    const empty = await sign(signerA, `sealId=${sealA}&format=ses`, Buffer.alloc(0));
    expect(empty.status).toBe(400);
  });

  it("another agency's key cannot sign with the seal", async () => {
    const r = await sign(signerB, `sealId=${sealA}&format=ses`, Buffer.from('x'));
    expect(r.status).toBe(403);
    expect((await get(`/v1/seals/${sealA}/ses`, signerB)).status).toBe(403);
  });

  it('signs (B-T), OpenSSL checks the signature value, and the verifier passes every step', async () => {
    const data = Buffer.from(fs.readFileSync(path.join(__dirname, 'sm2-ses-http.test.ts')));
    const r = await sign(signerA, `sealId=${sealA}&format=ses&propertyInfo=${encodeURIComponent('/docs/notice.ts')}`, data);
    expect(r.status).toBe(200);
    expect(Number(r.logIndex)).toBeGreaterThan(0);
    const sig = parseSESSignature(r.body);
    expect(sig.toSign.propertyInfo).toBe('/docs/notice.ts');
    expect(sig.toSign.dataHash.equals(sm3(data))).toBe(true);
    expect(sig.timeStamp).toBeDefined();

    write(work, 'signer.pub', toPem(parseCertificate(sig.cert).spki, 'PUBLIC KEY'));
    write(work, 'tbs.der', sig.toSign.der);
    write(work, 'tbs.sig', sig.signature);
    const o = await openssl(['dgst', '-sm3', '-verify', 'signer.pub', '-signature', 'tbs.sig', '-sigopt', `distid:${SM2_DEFAULT_USER_ID}`, 'tbs.der'], work);
    expect(o.out).toContain('Verified OK');

    const v = await verify(data, r.body);
    expect(v.status).toBe(200);
    expect(v.report.document.kind).toBe('ses-detached');
    const s = v.report.signatures[0]!;
    expect(s.format).toBe('SES');
    expect(s.checks.filter((c) => c.result !== 'passed')).toEqual([]);
    expect(s.timestamp?.valid).toBe(true);
    expect(v.report.indication).toBe('TOTAL_PASSED');
    // The readable page too.
    const form = new FormData();
    form.append('document', new Blob([data]), 'document.xml');
    form.append('signature', new Blob([r.body]), 'SignedValue.dat');
    const page = await fetch(`${base}/v1/verifications`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, Accept: 'text/html' }, body: form });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('GB/T 38540 electronic signature (SES)');
    expect(html).toContain('seal-maker-signature');

    const tampered = Buffer.from(data);
    tampered[10]! ^= 1;
    const t = await verify(tampered, r.body);
    expect(t.report).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
    expect(t.report.signatures[0]!.checks.find((c) => c.name === 'data-hash')).toMatchObject({ result: 'failed', code: 'SES_DATA_HASH_MISMATCH' });
  });

  it('B-B has no time-stamp; a revoked seal fails at the signer revocation step', async () => {
    // A second SM2 seal, never verified before (the verifier caches OCSP answers until nextUpdate).
    const second = (await json('POST', '/v1/seals', { agencyCode: A, name: '合同专用章', kind: 'official', algorithm: 'SM2' })).body.id!;
    const data = Buffer.from('revocation test');
    const r = await sign(signerA, `sealId=${second}&format=ses&level=B-B`, data);
    expect(r.status).toBe(200);
    expect(parseSESSignature(r.body).timeStamp).toBeUndefined();
    await new Promise((res) => setTimeout(res, 1100));
    expect((await json('POST', `/v1/seals/${second}/revoke`, { reason: 'keyCompromise' })).status).toBe(200);
    const v = await verify(data, r.body);
    const rev = v.report.signatures[0]!.checks.find((c) => c.name === 'signer-certificate-revocation');
    // Revoked after the claimed signing time, with no time-stamp to prove it: REVOKED_NO_POE.
    expect(rev).toMatchObject({ result: 'failed', code: 'REVOKED_NO_POE' });
    expect(v.report).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE' });
  });

  it('third-party and malformed signatures come back as reports, never 500', async () => {
    const g = await verify(Buffer.from('x'), Buffer.from('3006300402010400', 'hex'));
    expect(g.status).toBe(200);
    expect(g.report).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
    const real = fs.readFileSync('/work/shared/vectors/ses/SignedValueV4.dat');
    for (const cut of [10, 100, 5000, real.length - 1]) {
      const t = await verify(Buffer.from('x'), real.subarray(0, cut));
      expect(t.status).toBe(200);
      expect(t.report.indication).toBe('TOTAL_FAILED');
    }
    const ofdSig = fs.readFileSync('/work/shared/vectors/ses/SignedValueV4.dat');
    const v = await verify(Buffer.from('not the data'), ofdSig);
    expect(v.status).toBe(200);
    const checks = v.report.signatures[0]!.checks;
    expect(checks.find((c) => c.name === 'signature-value')?.result).toBe('passed');
    expect(checks.find((c) => c.name === 'seal-maker-signature')?.result).toBe('passed');
    expect(checks.find((c) => c.name === 'data-hash')?.result).toBe('failed');
    expect(v.report.indication).toBe('TOTAL_FAILED');
  });
});
