// Child process for the multi-process counter contract test: opens its own connection to the
// store under test, draws N values from the 'multi' counter as fast as it can, prints them.
import { openMongoStores, openSqliteStores } from '../../src/store';

async function main(): Promise<void> {
  const [kind, location, uri, n] = process.argv.slice(2);
  const stores = kind === 'sqlite' ? openSqliteStores({ file: location }) : await openMongoStores({ uri, dbName: location });
  const values: number[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (values.length < Number(n)) {
        values.push(-1);
        values[values.lastIndexOf(-1)] = await stores.counters.next('multi');
      }
    }),
  );
  await stores.close();
  process.stdout.write(JSON.stringify(values));
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(1);
});
