import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { Principal } from '../api-keys';
import { AppError } from '../errors';
import { CsvError, parseCsv } from '../licences/csv';
import { progressBar } from '../licences/batch';
import { fromPemAll } from '../pki/pem';
import type { Services } from '../services';
import type { Stores } from '../store/ports';
import { verifyPackage } from './package';
import { CLASSIFICATIONS, RETENTION_PERIODS, type ArchiveMetadata } from './ports';

type WithServices = <T>(fn: (services: Services, stores: Stores) => Promise<T>) => Promise<T>;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const EXIT_PACKAGE_FAILED = 1;
export const EXIT_USAGE = 64;

/**
 * `eseal archive …`. `verify` works fully offline on a package file: no store, no network.
 * Exit status: 0 every check passed; 1 a check failed (named on stderr and in the output);
 * 64 usage error (unreadable file or trust file).
 */
export function archiveCommand(io: Io, withServices?: WithServices): Command {
  const archive = new Command('archive').description('e-archive (Art. 33): batch filing, packages and evidence');
  if (withServices) addCommand(archive, io, withServices);
  archive
    .command('verify <package>')
    .description(
      'check an archive package (ZIP) offline: file digest, evidence path to the timestamped root, every archive timestamp, ' +
        'the TSA and seal certificate chains, the EEP signature and the stored report. Exit 0 all passed, 1 a check failed, 64 usage error',
    )
    .option('--trust <file>', 'PEM file of root CA certificate(s) to require; without it the package root is reported, not judged', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'machine-readable output')
    .exitOverride((err) => {
      if (err.exitCode === 0) throw err;
      throw new CommanderError(EXIT_USAGE, err.code, err.message);
    })
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .action(async (file: string, opts: { trust: string[]; json?: boolean }) => {
      let zip: Buffer;
      let trustedRoots: Buffer[] | undefined;
      try {
        zip = fs.readFileSync(file);
        trustedRoots = opts.trust.length ? opts.trust.flatMap((t) => fromPemAll(fs.readFileSync(t, 'utf8'))) : undefined;
        if (trustedRoots && trustedRoots.length === 0) throw new Error('no certificate in the --trust file(s)');
      } catch (e) {
        io.err(`eseal archive verify: ${(e as Error).message}`);
        throw new CommanderError(EXIT_USAGE, 'eseal.usage', (e as Error).message);
      }
      const v = await verifyPackage(zip, { trustedRoots });
      if (opts.json) io.out(JSON.stringify(v, null, 2));
      else {
        io.out(`${file}: ${v.passed ? 'OK' : 'FAILED'}${v.registrationNumber ? ` — ${v.registrationNumber}` : ''}${v.archivedAt ? `, archived ${v.archivedAt}` : ''}`);
        for (const c of v.checks) io.out(`  ${c.passed ? '✓' : '✗'} ${c.name}: ${c.detail}`);
        if (v.rootFingerprint && !trustedRoots) io.out(`  root certificate sha256 ${v.rootFingerprint} (pass --trust to require a root)`);
      }
      const failed = v.checks.filter((c) => !c.passed);
      if (failed.length) {
        io.err(`eseal archive verify: failed check(s): ${failed.map((c) => c.name).join(', ')}`);
        throw new CommanderError(EXIT_PACKAGE_FAILED, 'eseal.archive.failed', failed[0]!.name);
      }
    });
  return archive;
}

/** The CSV columns of `archive add` (header row required, any order; sha256 optional). */
export const ADD_COLUMNS = ['file', 'title', 'responsibleAgency', 'date', 'documentNumber', 'retention', 'classification', 'fonds', 'series', 'recordType'] as const;

interface AddState {
  /** Row key (line + file digest) → record id, or the refusal. */
  done: Record<string, { recordId?: string; registrationNumber?: string; refused?: string }>;
}

/**
 * `eseal archive add DIR --metadata FILE.csv --agency CODE`: files every row's PDF (relative to
 * DIR) on the configured store, with a progress bar on stderr. Resumable: what each row became
 * is kept in a state file (default FILE.csv.state.json, written after each wave), and a rerun
 * skips rows already filed or refused with the same file bytes. Exit 0 all rows filed, 1 some
 * rows were refused (listed), 2 unusable input.
 */
function addCommand(archive: Command, io: Io, withServices: WithServices): void {
  archive
    .command('add <dir>')
    .description('file the PDFs of DIR listed in a metadata CSV (columns: ' + ADD_COLUMNS.join(', ') + ', optional sha256); resumable')
    .requiredOption('--metadata <csv>', 'metadata CSV, one row per file')
    .requiredOption('--agency <code>', "the records' agency (unified social credit code)")
    .option('--state <file>', 'progress state file (default <csv>.state.json)')
    .option('--concurrency <n>', 'filings in flight (they share batch timestamps)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 512) throw new InvalidArgumentError('expected an integer from 1 to 512');
      return n;
    }, 32)
    .option('--json', 'machine-readable summary')
    .exitOverride((err) => {
      if (err.exitCode === 0) throw err;
      throw new CommanderError(2, err.code, err.message);
    })
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .action(async (dir: string, opts: { metadata: string; agency: string; state?: string; concurrency: number; json?: boolean }) => {
      const usage = (m: string): never => {
        io.err(`eseal archive add: ${m}`);
        throw new CommanderError(2, 'eseal.usage', m);
      };
      let rows;
      try {
        rows = parseCsv(fs.readFileSync(opts.metadata, 'utf8'));
      } catch (e) {
        return usage(e instanceof CsvError ? e.message : `cannot read ${opts.metadata}: ${(e as Error).message}`);
      }
      const [header, ...data] = rows;
      if (!header) return usage('the CSV is empty');
      const col = new Map(header.fields.map((f, i) => [f.trim(), i]));
      const missing = ADD_COLUMNS.filter((c) => !col.has(c));
      if (missing.length) return usage(`the CSV lacks column(s) ${missing.join(', ')}`);
      const stateFile = opts.state ?? opts.metadata + '.state.json';
      let state: AddState = { done: {} };
      if (fs.existsSync(stateFile)) {
        try {
          state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as AddState;
          if (!state || typeof state.done !== 'object') throw new Error('not a state file');
        } catch (e) {
          return usage(`unreadable state file ${stateFile}: ${(e as Error).message}`);
        }
      }
      const saveState = () => {
        fs.writeFileSync(stateFile + '.tmp', JSON.stringify(state));
        fs.renameSync(stateFile + '.tmp', stateFile);
      };
      const get = (r: { fields: string[] }, c: string) => (col.has(c) ? (r.fields[col.get(c)!] ?? '').trim() : '');
      const root = path.resolve(dir);
      await withServices(async (services) => {
        const actor: Principal = { apiKeyId: 'cli', agencyCode: opts.agency, roles: ['archivist'] };
        const total = data.length;
        let done = 0;
        let filed = 0;
        let skipped = 0;
        const refused: { line: number; file: string; reason: string }[] = [];
        const started = Date.now();
        const tty = process.stderr.isTTY === true;
        let lastDecile = -1;
        const progress = () => {
          const bar = progressBar(done, total, (Date.now() - started) / 1000);
          if (tty) process.stderr.write(`\r${bar}`);
          else if (Math.floor((done / Math.max(1, total)) * 10) !== lastDecile || done === total) {
            lastDecile = Math.floor((done / Math.max(1, total)) * 10);
            io.err(bar);
          }
        };
        const one = async (r: { line: number; fields: string[] }) => {
          const rel = get(r, 'file');
          const abs = path.resolve(root, rel);
          let bytes: Buffer | undefined;
          let key = `${r.line}:`;
          try {
            if (!rel || (abs !== root && !abs.startsWith(root + path.sep))) throw new Error('the file must be inside DIR');
            bytes = fs.readFileSync(abs);
            key += createHash('sha256').update(bytes).digest('hex');
          } catch (e) {
            refused.push({ line: r.line, file: rel, reason: (e as Error).message });
            return;
          }
          const prior = state.done[key];
          if (prior) {
            skipped++;
            if (prior.refused) refused.push({ line: r.line, file: rel, reason: prior.refused });
            return;
          }
          const retention = get(r, 'retention');
          const classification = get(r, 'classification');
          const metadata: ArchiveMetadata = {
            title: get(r, 'title'),
            responsibleAgency: get(r, 'responsibleAgency'),
            date: get(r, 'date'),
            documentNumber: get(r, 'documentNumber'),
            retention: retention as ArchiveMetadata['retention'],
            classification: classification as ArchiveMetadata['classification'],
            fonds: get(r, 'fonds'),
            series: get(r, 'series'),
            recordType: get(r, 'recordType'),
            fileName: path.basename(rel),
            ...(get(r, 'sha256') ? { sha256: get(r, 'sha256') } : {}),
          };
          const bad = [
            !(RETENTION_PERIODS as readonly string[]).includes(retention) && `retention must be one of ${RETENTION_PERIODS.join(', ')}`,
            !(CLASSIFICATIONS as readonly string[]).includes(classification) && `classification must be one of ${CLASSIFICATIONS.join(', ')}`,
            !/^[A-Za-z0-9]{1,16}$/.test(metadata.fonds) && 'fonds must be 1–16 letters or digits',
            !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(metadata.date) && 'date must be YYYY-MM-DD',
          ].filter(Boolean) as string[];
          try {
            if (bad.length) throw new AppError('ARCHIVE_METADATA_INVALID', bad.join('; '));
            const rec = await services.archive.file(actor, { bytes, mediaType: 'application/pdf', metadata });
            state.done[key] = { recordId: rec.id, registrationNumber: rec.registrationNumber };
            filed++;
          } catch (e) {
            if (!(e instanceof AppError) || e.status >= 500) throw e;
            const failed = (e.details?.failed as string[] | undefined)?.join(', ');
            const reason = `${e.code}${failed ? ` (${failed})` : ''}: ${e.message}`;
            state.done[key] = { refused: reason };
            refused.push({ line: r.line, file: rel, reason });
          }
        };
        try {
          for (let i = 0; i < data.length; i += opts.concurrency) {
            const wave = data.slice(i, i + opts.concurrency);
            await Promise.all(wave.map(async (r) => {
              await one(r);
              done++;
              progress();
            }));
            saveState();
          }
        } finally {
          saveState();
          if (tty) process.stderr.write('\n');
        }
        const summary = { total, filed, skipped, refused };
        if (opts.json) io.out(JSON.stringify(summary));
        else {
          io.out(`${filed} filed, ${skipped} already done before, ${refused.length} refused (of ${total} rows); state in ${stateFile}`);
          for (const f of refused) io.out(`  line ${f.line} ${f.file}: ${f.reason}`);
        }
        if (refused.length) throw new CommanderError(1, 'eseal.archive.refused', `${refused.length} row(s) refused`);
      });
    });
}
