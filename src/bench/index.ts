/**
 * `npm run bench`: runs the benchmarks, prints their tables and rewrites their sections of
 * BENCHMARKS.md.
 *
 *   npm run bench                          every section
 *   npm run bench -- --only key-store      one section (comma-separate or repeat for several)
 *   npm run bench -- --seconds 0.5 --runs 7 --no-write
 *   npm run bench -- --only signing --full   the larger cases too (signing: a 100 MB PDF)
 *
 * A benchmark joins by adding one entry to SECTIONS: a name for --only, the BENCHMARKS.md
 * heading it owns, and a run() that returns a terminal table and the section's markdown.
 */
import { parseArgs } from 'node:util';
import { benchKeyStores, keyStoreMarkdown, keyStoreTable } from './key-store';
import { benchHttpSigning, httpSigningMarkdown, httpSigningTable } from './http-signing';
import { benchLog } from './log';
import { benchLicences, licencesMarkdown, licencesTable } from './licences';
import { archiveMarkdown, benchArchive } from './archive';
import { formatMachine, machineInfo, updateBenchmarksSection } from './report';
import { benchSigning, signingMarkdown, signingTable } from './signing';
import { benchVerification, verificationMarkdown, verificationTable } from './verification';
import { benchSm2, sm2Markdown, sm2Table } from './sm2';

export interface BenchArgs {
  /** Seconds per sample, when the section takes samples. */
  seconds?: number;
  /** Samples per figure (at least 5). */
  runs?: number;
  /** --full: the larger cases too, where a section has them. */
  full?: boolean;
  progress: (line: string) => void;
}

export interface BenchSection {
  name: string;
  title: string;
  run(args: BenchArgs): Promise<{ text: string; markdown: string }>;
}

export const SECTIONS: readonly BenchSection[] = [
  {
    name: 'key-store',
    title: 'Key stores',
    async run(args) {
      const r = await benchKeyStores({ seconds: args.seconds, runs: args.runs, progress: args.progress });
      return { text: keyStoreTable(r), markdown: keyStoreMarkdown(r) };
    },
  },
  {
    name: 'signing',
    title: 'Signing',
    async run(args) {
      const r = await benchSigning({ seconds: args.seconds, runs: args.runs, full: args.full, progress: args.progress });
      return { text: signingTable(r), markdown: signingMarkdown(r) };
    },
  },
  {
    name: 'http-signing',
    title: 'HTTP signing',
    async run(args) {
      const r = await benchHttpSigning({ seconds: args.seconds, progress: args.progress });
      return { text: httpSigningTable(r), markdown: httpSigningMarkdown(r) };
    },
  },
  {
    name: 'verification',
    title: 'Verification',
    async run(args) {
      const r = await benchVerification({ seconds: args.seconds, full: args.full, progress: args.progress });
      return { text: verificationTable(r), markdown: verificationMarkdown(r) };
    },
  },
  {
    name: 'log',
    title: 'Transparency log',
    async run() {
      // 10k / 100k / 1M entries on SQLite; on MongoDB (FerretDB) when MONGODB_URI is set.
      const r = await benchLog();
      return { text: r.markdown, markdown: r.markdown };
    },
  },
  {
    name: 'licences',
    title: 'E-licences',
    async run(args) {
      const r = await benchLicences({ seconds: args.seconds, progress: args.progress });
      return { text: licencesTable(r), markdown: licencesMarkdown(r) };
    },
  },
  {
    name: 'sm2',
    title: 'SM2',
    async run(args) {
      // Key-store SM2 sign and verify against `openssl speed sm2`, alternated in one run.
      const r = await benchSm2({ seconds: args.seconds, runs: args.runs, progress: args.progress });
      return { text: sm2Table(r), markdown: sm2Markdown(r) };
    },
  },
  {
    name: 'archive',
    title: 'E-archive',
    async run(args) {
      // 10,000 filings (--full: 50,000); timestamps spent per 10,000 records.
      const r = await benchArchive({ records: args.full ? 50_000 : 10_000, progress: args.progress });
      return { text: archiveMarkdown(r), markdown: archiveMarkdown(r) };
    },
  },
];

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string', multiple: true },
      seconds: { type: 'string' },
      runs: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const wanted = (values.only ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !SECTIONS.some((s) => s.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; available: ${SECTIONS.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const sections = wanted.length ? SECTIONS.filter((s) => wanted.includes(s.name)) : SECTIONS;
  const args: BenchArgs = {
    seconds: positive('seconds', values.seconds),
    runs: positive('runs', values.runs),
    full: values.full,
    progress: (line) => process.stderr.write(line + '\n'),
  };
  process.stdout.write(formatMachine(machineInfo()) + '\n\n');
  for (const section of sections) {
    const { text, markdown } = await section.run(args);
    process.stdout.write(text + '\n\n');
    if (!values['no-write']) {
      const file = updateBenchmarksSection(section.title, markdown);
      process.stdout.write(`updated "## ${section.title}" in ${file}\n\n`);
    }
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`benchmark failed: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
