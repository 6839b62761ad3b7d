import { spawn } from 'node:child_process';
import path from 'node:path';
import { auditLog } from '../../src/log/audit';
import { noteVerifier } from '../../src/log/note';
import { originFor } from '../../src/log/service';
import { storeAuditSource, storedLogKeys } from '../../src/log/sources';
import { buildServices } from '../../src/services';
import type { Stores } from '../../src/store';

/**
 * 1,000 concurrent appends in a child process, SIGKILL once some are acknowledged, restart on
 * the same store, then: every acknowledged entry is there with its index, the log is gap-free,
 * the tree extends the last signed checkpoint, and a full audit passes.
 */
export async function crashAndRecover(kind: 'sqlite' | 'mongo', location: string, dataDir: string, open: () => Promise<Stores>): Promise<{ acked: number; size: number; checkpoint: number }> {
  const child = spawn(
    process.execPath,
    ['-r', path.join(__dirname, 'ts-register.js'), path.join(__dirname, 'log-crash-child.ts'), kind, location, process.env.MONGODB_URI ?? '', dataDir, '1000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acked = new Map<number, string>();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let buffer = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^ack (\d+) (\S+)$/.exec(line);
        if (m) acked.set(Number(m[1]), m[2]);
        // Kill midway: after a third of the appends were acknowledged.
        if (acked.size >= 330 && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
  await exited;

  const stores = await open();
  try {
    const services = await buildServices(
      { dataDir, masterKey: '22'.repeat(32), masterKeyFile: `${dataDir}/master.key`, publicUrl: 'http://127.0.0.1:8080', keyStore: 'software', pkcs11: null, tsaPolicy: null, logCheckpointIntervalMs: 0 },
      stores,
    );
    const size = services.log.treeSize;
    const entries = await stores.log.getEntries(0, size);
    for (const [index, eventId] of acked) {
      if (entries[index]?.eventId !== eventId) throw new Error(`acknowledged entry ${index} (${eventId}) is missing after the crash`);
    }
    const last = await stores.log.latestCheckpoint();
    if (!last) throw new Error('no checkpoint was signed before the crash');
    if (last.size > size) throw new Error(`the log (${size}) is shorter than its last checkpoint (${last.size})`);
    // Appending after recovery extends the same tree.
    await services.log.append({ type: 'test.after', eventId: 'after', subject: {}, actor: { apiKeyId: null, agencyCode: null } });
    await services.log.checkpoint();
    const origin = originFor('http://127.0.0.1:8080');
    const report = await auditLog(storeAuditSource(stores.log), {
      origin,
      verifiers: (await storedLogKeys(stores.settings, stores.certificates)).map((k) => noteVerifier(origin, k)),
    });
    if (!report.ok) throw new Error(`audit failed: ${JSON.stringify(report.problems.slice(0, 5))}`);
    await services.close();
    return { acked: acked.size, size, checkpoint: last.size };
  } finally {
    await stores.close();
  }
}
