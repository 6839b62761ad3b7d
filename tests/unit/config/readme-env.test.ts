import fs from 'node:fs';
import path from 'node:path';
import { ENV_VARS } from '../../../src/config';

/** The README's configuration table is the list the service reads: same names, same defaults, same order. */
it('README documents every environment variable with its default', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1], m[2]]);
  expect(rows).toEqual(ENV_VARS.map(([name, def]) => [name, def]));
});
