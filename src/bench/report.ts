import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * BENCHMARKS.md at the repository root, one `## Title` section per benchmark. A benchmark
 * rewrites only its own section, so sections can be re-measured alone and may come from
 * different runs; each therefore carries the machine and date it was measured on.
 */
export const BENCHMARKS_FILE = path.resolve(__dirname, '..', '..', 'BENCHMARKS.md');

const PREAMBLE = `# Benchmarks

Written by \`npm run bench\` (src/bench/). Each section is rewritten when its benchmark runs
(\`npm run bench -- --only <name>\`), so sections may come from different runs: each says when
and on what it was measured.
`;

export interface MachineInfo {
  date: string;
  os: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  openssl: string;
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  const cpus = os.cpus();
  return {
    date: now.toISOString().slice(0, 10),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.versions.node,
    openssl: process.versions.openssl,
  };
}

export function formatMachine(m: MachineInfo): string {
  return `Measured ${m.date} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}; Node ${m.node}, OpenSSL ${m.openssl}.`;
}

/**
 * Replaces the body of `## title` in `doc` (up to the next `## ` heading outside a code fence),
 * or appends the section when absent. Other sections are kept byte for byte.
 */
export function replaceSection(doc: string, title: string, body: string): string {
  if (title.includes('\n') || title.trim() !== title || title === '') throw new Error(`bad section title ${JSON.stringify(title)}`);
  const heading = `## ${title}`;
  const section = `${heading}\n\n${body.trim()}\n`;
  const base = doc.trim() === '' ? PREAMBLE : doc;
  const lines = base.split('\n');
  let start = -1;
  let end = lines.length;
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*(```|~~~)/.test(lines[i])) fenced = !fenced;
    if (fenced || !lines[i].startsWith('## ')) continue;
    if (start === -1 && lines[i].trimEnd() === heading) start = i;
    else if (start !== -1) {
      end = i;
      break;
    }
  }
  if (start === -1) return `${base.trimEnd()}\n\n${section}`;
  const before = lines.slice(0, start).join('\n');
  const after = lines.slice(end).join('\n');
  return `${before}${before ? '\n' : ''}${section}${after ? '\n' + after : ''}`;
}

/** Rewrites one section of BENCHMARKS.md, headed by the machine it was measured on. */
export function updateBenchmarksSection(
  title: string,
  markdown: string,
  options: { file?: string; machine?: MachineInfo } = {},
): string {
  const file = options.file ?? BENCHMARKS_FILE;
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const body = `_${formatMachine(options.machine ?? machineInfo())}_\n\n${markdown.trim()}`;
  // Write then rename, so an interrupted run never leaves a half-written file.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, replaceSection(doc, title, body));
  fs.renameSync(tmp, file);
  return file;
}
