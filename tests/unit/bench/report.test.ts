import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replaceSection, updateBenchmarksSection, type MachineInfo } from '../../../src/bench/report';

const doc = `# Benchmarks

intro

## Key stores

old key store table

## Transparency log

\`\`\`
## not a heading inside a fence
\`\`\`
log table
`;

describe('BENCHMARKS.md sections', () => {
  it('replaces one section and keeps the others byte for byte', () => {
    const out = replaceSection(doc, 'Key stores', 'new table');
    expect(out).toBe(doc.replace('old key store table\n', 'new table\n'));
  });

  it('replaces the last section, ignoring ## lines inside code fences', () => {
    const out = replaceSection(doc, 'Transparency log', 'new log');
    expect(out).toBe(doc.slice(0, doc.indexOf('## Transparency log')) + '## Transparency log\n\nnew log\n');
  });

  it('appends a missing section and starts a new file with the preamble', () => {
    expect(replaceSection(doc, 'Signing', 'sig')).toBe(doc + '\n## Signing\n\nsig\n');
    const fresh = replaceSection('', 'Key stores', 'x');
    expect(fresh.startsWith('# Benchmarks\n')).toBe(true);
    expect(fresh.endsWith('\n## Key stores\n\nx\n')).toBe(true);
  });

  it('is idempotent', () => {
    const once = replaceSection(doc, 'Key stores', 'same');
    expect(replaceSection(once, 'Key stores', 'same')).toBe(once);
  });

  it('writes the file with the machine line under the heading', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-report-'));
    try {
      const file = path.join(dir, 'BENCHMARKS.md');
      const machine: MachineInfo = { date: '2026-01-02', os: 'Linux', cpu: 'CPU', cores: 2, memoryGiB: 4, node: '20.0.0', openssl: '3.0.0' };
      updateBenchmarksSection('Key stores', '| a |', { file, machine });
      updateBenchmarksSection('Transparency log', 'log', { file, machine });
      updateBenchmarksSection('Key stores', '| b |', { file, machine });
      const text = fs.readFileSync(file, 'utf8');
      expect(text).toContain('## Key stores\n\n_Measured 2026-01-02 on CPU (2 cores, 4 GiB), Linux; Node 20.0.0, OpenSSL 3.0.0._\n\n| b |\n');
      expect(text).not.toContain('| a |');
      expect(text.indexOf('## Key stores')).toBeLessThan(text.indexOf('## Transparency log'));
      expect(fs.readdirSync(dir)).toEqual(['BENCHMARKS.md']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
