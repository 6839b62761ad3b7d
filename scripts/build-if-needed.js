#!/usr/bin/env node
'use strict';
// `npm start` builds when dist/ is missing or older than any source file, so a fresh clone runs
// with `npm ci && npm start` alone.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}
const marker = path.join(root, 'dist', 'main.js');
const stale = !fs.existsSync(marker) || fs.statSync(marker).mtimeMs < newest(path.join(root, 'src'));
if (stale) {
  process.stderr.write('eseal: building (tsc)…\n');
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch {
    process.stderr.write('eseal: the TypeScript build failed (errors above)\n');
    process.exit(1);
  }
}
