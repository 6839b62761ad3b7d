// Child process of the log crash test: builds the real services on the store under test, then
// appends N events concurrently (checkpoints every 50 ms), printing each acknowledged index as
// "ack <index> <eventId>". The parent kills it with SIGKILL midway.
import { buildServices } from '../../src/services';
import { openMongoStores, openSqliteStores } from '../../src/store';

async function main(): Promise<void> {
  const [kind, location, uri, dataDir, n] = process.argv.slice(2);
  const stores = kind === 'sqlite' ? openSqliteStores({ file: location }) : await openMongoStores({ uri, dbName: location });
  const services = await buildServices(
    { dataDir, masterKey: '22'.repeat(32), masterKeyFile: `${dataDir}/master.key`, publicUrl: 'http://127.0.0.1:8080', keyStore: 'software', pkcs11: null, tsaPolicy: null, logCheckpointIntervalMs: 50 },
    stores,
  );
  process.stdout.write('ready\n');
  await Promise.all(
    Array.from({ length: Number(n) }, async (_, i) => {
      // All in flight at once, spread over about a second so checkpoints land in between.
      await new Promise((r) => setTimeout(r, Math.random() * 1000));
      const r = await services.log.append({
        type: 'test.crash',
        eventId: `crash:${i}`,
        subject: { i },
        actor: { apiKeyId: null, agencyCode: null },
      });
      process.stdout.write(`ack ${r.index} ${r.eventId}\n`);
    }),
  );
  process.stdout.write('done\n');
  await new Promise((r) => setTimeout(r, 60_000)); // wait to be killed
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(1);
});
