#!/usr/bin/env node
'use strict';
// The installed `eseal` command: runs the compiled CLI (built by `npm run build` / `npm start`).
require('../dist/cli/index.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err && err.message ? err.message : err); process.exitCode = 1; },
);
