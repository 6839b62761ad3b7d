// Child process for the licence batch crash test: runs `eseal licence batch` on the store named
// by ESEAL_DATA_DIR, so that the parent can SIGKILL it midway.
import { main } from '../../src/cli';

main(process.argv.slice(0, 2).concat(process.argv.slice(2)), { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(String(e?.stack ?? e));
    process.exit(1);
  },
);
