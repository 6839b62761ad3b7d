import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startService } from '../../src/main';
import { tmpDir } from '../helpers/stores';

const silent = pino({ level: 'silent' });

async function call(port: number, method: string, p: string, key: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

describe('the service on the embedded store', () => {
  const dataDir = tmpDir();
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ESEAL_DATA_DIR: dataDir, ESEAL_LOG_LEVEL: 'silent' });

  it('writes a bootstrap admin key with mode 0600 and keeps data across a restart', async () => {
    const first = await startService(config, silent);
    const keyFile = path.join(dataDir, 'admin.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    const created = await call(first.port, 'POST', '/v1/agencies', key, { code: '11330105002500287C', name: '杭州市西湖区市场监督管理局' });
    expect(created.status).toBe(201);
    await first.stop();

    const second = await startService(config, silent);
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(key); // not regenerated
    const read = await call(second.port, 'GET', '/v1/agencies/11330105002500287C', key);
    expect(read).toEqual({ status: 200, body: created.body });
    await second.stop();
  });

  it('registers ESEAL_BOOTSTRAP_ADMIN_KEY when given', async () => {
    const dir = tmpDir();
    const key = 'es_' + 'k'.repeat(40);
    const svc = await startService(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', ESEAL_DATA_DIR: dir, ESEAL_BOOTSTRAP_ADMIN_KEY: key }),
      silent,
    );
    expect((await call(svc.port, 'GET', '/v1/api-keys', key)).status).toBe(200);
    expect(fs.existsSync(path.join(dir, 'admin.key'))).toBe(false);
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('configuration', () => {
  it('reports every problem at once, never echoing a secret', () => {
    expect(() =>
      loadConfig({ PORT: 'eighty', ESEAL_PUBLIC_URL: 'ftp://x', ESEAL_BOOTSTRAP_ADMIN_KEY: 'short-secret', ESEAL_LOG_LEVEL: 'loud', MONGODB_URI: 'postgres://x' }),
    ).toThrow(/PORT[\s\S]*MONGODB_URI[\s\S]*ESEAL_PUBLIC_URL[\s\S]*ESEAL_BOOTSTRAP_ADMIN_KEY[\s\S]*ESEAL_LOG_LEVEL/);
    try {
      loadConfig({ ESEAL_BOOTSTRAP_ADMIN_KEY: 'short-secret' });
    } catch (e) {
      expect(String(e)).not.toContain('short-secret');
    }
  });

  it('has defaults', () => {
    const c = loadConfig({}, '/srv');
    expect(c).toMatchObject({ port: 8080, dataDir: '/srv/data', mongodbUri: null, publicUrl: 'http://localhost:8080', logLevel: 'info' });
  });
});
