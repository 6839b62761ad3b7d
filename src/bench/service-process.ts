/**
 * A real eseal service as a child process (`node dist/main.js`) on a fresh data directory, or on
 * MONGODB_URI with a fresh database, for load tests and HTTP benchmarks: its RSS and CPU are its
 * own, and requests cross a real loopback socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  base: string;
  child: ChildProcess;
  env: NodeJS.ProcessEnv;
  dataDir: string;
  /** The last 4 KB of the service's stderr (for failure reports). */
  stderr(): string;
  stop(): Promise<void>;
}

export async function startServiceProcess(o: { store: 'sqlite' | 'mongo'; adminKey: string; extraEnv?: NodeJS.ProcessEnv }): Promise<ServiceProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-proc-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    ESEAL_DATA_DIR: dataDir,
    ESEAL_PUBLIC_URL: base,
    ESEAL_BOOTSTRAP_ADMIN_KEY: o.adminKey,
    ESEAL_LOG_LEVEL: 'warn',
    ...o.extraEnv,
  };
  delete env.MONGODB_URI;
  if (o.store === 'mongo') {
    const uri = process.env.MONGODB_URI;
    if (!uri) throw new Error('the mongo store needs MONGODB_URI (e.g. FerretDB on 127.0.0.1:27017)');
    const u = new URL(uri);
    u.pathname = `/eseal_run_${Date.now()}`;
    env.MONGODB_URI = u.toString();
  }
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r)).catch(() => undefined);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) return { base, child, env, dataDir, stderr: () => err, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`the service did not become ready: ${err}`);
}

/** JSON call with a bearer key; throws on a status ≥ 300. */
export async function callJson<T = Record<string, unknown>>(base: string, method: string, p: string, key: string, body?: object): Promise<T> {
  const r = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}
