import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startService, type RunningService } from '../../src/main';
import { freePort, openssl, write } from '../helpers/openssl';
import { tmpDir } from '../helpers/stores';

/**
 * The judge of the PKI is OpenSSL: the service runs on a loopback port and `openssl verify`,
 * `ocsp`, `crl` and `ts` talk to it over HTTP exactly as a relying party would.
 */
const AGENCY = '11330105002500287C';
const ADMIN = 'es_' + 'a'.repeat(43);
let svc: RunningService;
let base: string;
let dir: string;
let work: string;

async function api(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, buf: Buffer.from(await res.arrayBuffer()) };
}
const json = (r: { buf: Buffer }) => JSON.parse(r.buf.toString('utf8'));

beforeAll(async () => {
  dir = tmpDir();
  work = tmpDir('eseal-openssl-');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  svc = await startService(
    loadConfig({ PORT: String(port), HOST: '127.0.0.1', ESEAL_DATA_DIR: dir, ESEAL_PUBLIC_URL: base, ESEAL_BOOTSTRAP_ADMIN_KEY: ADMIN }),
    pino({ level: 'silent' }),
  );
  expect((await api('POST', '/v1/agencies', { code: AGENCY, name: '杭州市西湖区市场监督管理局' })).status).toBe(201);
  write(work, 'chain.pem', (await api('GET', '/v1/pki/ca')).buf);
  const root = await api('GET', '/v1/pki/ca/root.crt');
  const issuing = await api('GET', '/v1/pki/ca/issuing.crt');
  expect(root.type).toBe('application/pkix-cert');
  write(work, 'root.der', root.buf);
  write(work, 'issuing.der', issuing.buf);
  await openssl(['x509', '-inform', 'DER', '-in', 'root.der', '-out', 'root.pem'], work);
  await openssl(['x509', '-inform', 'DER', '-in', 'issuing.der', '-out', 'issuing.pem'], work);
});

afterAll(async () => {
  await svc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

async function issueSeal(algorithm: string): Promise<{ serial: string; file: string }> {
  const r = await api('POST', '/v1/pki/certificates', { profile: 'seal', agencyCode: AGENCY, algorithm });
  expect(r.status).toBe(201);
  const c = json(r);
  const file = write(work, `leaf-${c.serial}.pem`, c.pem);
  return { serial: c.serial, file: path.basename(file) };
}

describe('PKI over HTTP, judged by OpenSSL', () => {
  it('serves the chain as PEM, and DER by Accept', async () => {
    const pem = (await api('GET', '/v1/pki/ca')).buf.toString();
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const der = await api('GET', '/v1/pki/ca', undefined, { Accept: 'application/pkix-cert' });
    expect(der.type).toBe('application/pkix-cert');
    expect(der.buf[0]).toBe(0x30);
    expect((await api('GET', '/v1/pki/ca', undefined, { Accept: 'image/png' })).status).toBe(406);
    const text = (await openssl(['x509', '-in', 'root.pem', '-noout', '-text'], work)).out;
    expect(text).toMatch(/CA:TRUE, pathlen:1/);
    expect((await openssl(['verify', '-CAfile', 'root.pem', 'issuing.pem'], work)).out).toContain('issuing.pem: OK');
  });

  it.each(['ES256', 'RS256', 'PS256'])('issues %s seal certificates that openssl verify accepts, with the seal profile', async (alg) => {
    const { file } = await issueSeal(alg);
    const v = await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', file], work);
    expect(v.out).toContain(`${file}: OK`);
    const text = (await openssl(['x509', '-in', file, '-noout', '-text'], work)).out;
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Non Repudiation/);
    expect(text).toContain(`URI:${base}/v1/pki/crl`);
    expect(text).toContain(`OCSP - URI:${base}/v1/pki/ocsp`);
    expect(text).toContain(`CA Issuers - URI:${base}/v1/pki/ca/issuing.crt`);
    expect(text).toContain(`NTRCN-${AGENCY}`);
  });

  it('answers OCSP good, then revoked with keyCompromise after revocation; the nonce is echoed', async () => {
    const { serial, file } = await issueSeal('ES256');
    const ask = () => openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', file, '-url', `${base}/v1/pki/ocsp`, '-CAfile', 'root.pem', '-resp_text'], work);
    const good = await ask();
    expect(good.out).toContain('Response verify OK');
    expect(good.out).toContain(`${file}: good`);
    expect(good.out).toContain('OCSP Nonce');
    expect(good.out).not.toMatch(/nonce.*(missing|mismatch)/i);

    const revoked = await api("POST", `/v1/pki/certificates/${serial.replace(/^00/, "")}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    const again = await api('POST', `/v1/pki/certificates/${serial}/revoke`, { reason: 'superseded' });
    expect(again.status).toBe(409);
    expect(json(again).code).toBe('ALREADY_REVOKED');

    const after = await ask();
    expect(after.out).toContain('Response verify OK');
    expect(after.out).toContain(`${file}: revoked`);
    expect(after.out).toMatch(/Reason: keyCompromise/);

    // GET form (RFC 6960 §A.1): base64 of the DER request, url-encoded, in the path.
    await openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', file, '-no_nonce', '-reqout', 'get.req'], work);
    const b64 = encodeURIComponent(fs.readFileSync(path.join(work, 'get.req')).toString('base64'));
    const viaGet = await fetch(`${base}/v1/pki/ocsp/${b64}`);
    expect(viaGet.headers.get('content-type')).toBe('application/ocsp-response');
    write(work, 'get.resp', Buffer.from(await viaGet.arrayBuffer()));
    const check = await openssl(['ocsp', '-respin', 'get.resp', '-issuer', 'issuing.pem', '-cert', file, '-CAfile', 'root.pem'], work);
    expect(check.out).toContain('Response verify OK');
    expect(check.out).toContain(`${file}: revoked`);

    // The CRL lists it, with the reason, and verifies against the chain.
    const crl = await api('GET', '/v1/pki/crl');
    expect(crl.type).toBe('application/pkix-crl');
    write(work, 'crl.der', crl.buf);
    write(work, 'cachain.pem', fs.readFileSync(path.join(work, 'issuing.pem'), 'utf8') + fs.readFileSync(path.join(work, 'root.pem'), 'utf8'));
    const verified = await openssl(['crl', '-inform', 'DER', '-in', 'crl.der', '-CAfile', 'cachain.pem', '-noout'], work);
    expect(verified.out).toContain('verify OK');
    const text = (await openssl(['crl', '-inform', 'DER', '-in', 'crl.der', '-noout', '-text'], work)).out;
    // OpenSSL prints the serial's value; the API names it as encoded (a leading 00 when the top bit is set).
    expect(text.toUpperCase()).toContain(`Serial Number: ${serial.replace(/^00/, '')}`.toUpperCase());
    expect(text).toContain('Key Compromise');
    // CRL numbers strictly increase across re-signings.
    const n1 = Number(/CRL Number:\s+(\d+)/.exec(text)![1]);
    await issueSeal('ES256').then((s) => api('POST', `/v1/pki/certificates/${s.serial}/revoke`, { reason: 'superseded' }));
    write(work, 'crl2.der', (await api('GET', '/v1/pki/crl')).buf);
    const text2 = (await openssl(['crl', '-inform', 'DER', '-in', 'crl2.der', '-noout', '-text'], work)).out;
    expect(Number(/CRL Number:\s+(\d+)/.exec(text2)![1])).toBeGreaterThan(n1);
    // And CRL-checked path validation now fails for the revoked certificate.
    write(work, 'crl2.pem', (await api('GET', '/v1/pki/crl', undefined, { Accept: 'application/x-pem-file' })).buf);
    const withCrl = await openssl(['verify', '-crl_check', '-CRLfile', 'crl2.pem', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', file], work);
    expect(withCrl.out).toMatch(/certificate revoked/);
  });

  it('answers a malformed OCSP request with malformedRequest, never a 500', async () => {
    for (const body of [Buffer.from('garbage'), Buffer.alloc(0), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])]) {
      const r = await fetch(`${base}/v1/pki/ocsp`, { method: 'POST', headers: { 'Content-Type': 'application/ocsp-request' }, body });
      expect(r.status).toBe(200);
      write(work, 'bad.resp', Buffer.from(await r.arrayBuffer()));
      expect((await openssl(['ocsp', '-respin', 'bad.resp', '-resp_text'], work)).out).toMatch(/malformedrequest/i);
    }
    const wrongType = await fetch(`${base}/v1/pki/ocsp`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expect(wrongType.status).toBe(415);
  });

  it('time-stamps: openssl ts -verify says OK, the nonce is echoed, serials differ, the policy is present', async () => {
    write(work, 'data.txt', 'a document to time-stamp\n');
    const serials: string[] = [];
    for (const n of [1, 2]) {
      await openssl(['ts', '-query', '-data', 'data.txt', '-sha256', '-cert', '-out', `q${n}.tsq`], work);
      const r = await fetch(`${base}/v1/tsa`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/timestamp-query' },
        body: fs.readFileSync(path.join(work, `q${n}.tsq`)),
      });
      expect(r.headers.get('content-type')).toBe('application/timestamp-reply');
      write(work, `r${n}.tsr`, Buffer.from(await r.arrayBuffer()));
      const v = await openssl(['ts', '-verify', '-data', 'data.txt', '-in', `r${n}.tsr`, '-CAfile', 'root.pem', '-untrusted', 'issuing.pem'], work);
      expect(v.out).toContain('Verification: OK');
      // -queryfile makes openssl compare imprint, nonce and policy with the request.
      const vq = await openssl(['ts', '-verify', '-queryfile', `q${n}.tsq`, '-in', `r${n}.tsr`, '-CAfile', 'root.pem', '-untrusted', 'issuing.pem'], work);
      expect(vq.out).toContain('Verification: OK');
      const reply = (await openssl(['ts', '-reply', '-in', `r${n}.tsr`, '-text'], work)).out;
      const query = (await openssl(['ts', '-query', '-in', `q${n}.tsq`, '-text'], work)).out;
      expect(/Nonce: (\S+)/.exec(reply)![1]).toBe(/Nonce: (\S+)/.exec(query)![1]);
      expect(reply).toContain('Policy OID: 2.25.320821047110416740467165142254794857189');
      serials.push(/Serial number: (\S+)/.exec(reply)![1]);
    }
    expect(serials[0]).not.toBe(serials[1]);
  });

  it('rejects a bad time-stamp request with a TSP rejection, not an HTTP error', async () => {
    const r = await fetch(`${base}/v1/tsa`, { method: 'POST', headers: { 'Content-Type': 'application/timestamp-query' }, body: Buffer.from('nope') });
    expect(r.status).toBe(200);
    write(work, 'rej.tsr', Buffer.from(await r.arrayBuffer()));
    expect((await openssl(['ts', '-reply', '-in', 'rej.tsr', '-text'], work)).out).toMatch(/Status: Rejected/);
  });

  it('imports a trust anchor once (admin), refuses non-CA certificates', async () => {
    const { file } = await issueSeal('ES256');
    const post = (body: Buffer | string, type = 'application/x-pem-file') =>
      fetch(`${base}/v1/pki/trust-anchors`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': type }, body });
    const foreignRoot = fs.readFileSync(path.join(work, 'root.pem'));
    expect((await post(foreignRoot)).status).toBe(201);
    expect((await post(foreignRoot)).status).toBe(409);
    const leaf = await post(fs.readFileSync(path.join(work, file)));
    expect(leaf.status).toBe(400);
    const garbage = await post('not a pem');
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { code: string }).code).toBe('CERT_MALFORMED');
    const list = json(await api('GET', '/v1/pki/trust-anchors'));
    expect(list.items).toHaveLength(1);
  });
});
