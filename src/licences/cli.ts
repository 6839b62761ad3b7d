import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { Principal } from '../api-keys';
import { AppError } from '../errors';
import type { Services } from '../services';
import type { Stores } from '../store/ports';
import { progressBar, runBatch } from './batch';
import { CsvError } from './csv';
import { LicenceTypeRegistry } from './licence-types';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

type WithServices = <T>(fn: (services: Services, stores: Stores) => Promise<T>) => Promise<T>;

/**
 * `eseal licence batch FILE.csv --type T --seal S`: issues a licence per row on the configured
 * store (as the seal's agency's counter, attributed to API key id 'cli'), with a progress bar
 * on stderr, failed rows in FILE.errors.csv (or --errors), resumable and idempotent by row key.
 * Exit 0 all rows issued (now or before), 1 some rows failed, 2 the file or options are unusable.
 */
export function licenceCommand(io: Io, withServices: WithServices): Command {
  const licence = new Command('licence').description('e-licences');
  licence
    .command('batch <file>')
    .description('issue one licence per CSV row (see docs/licences.md for the columns); rerunning the same file issues nothing twice')
    .requiredOption('--type <type>', 'licence type id, e.g. business-licence')
    .requiredOption('--seal <sealId>', "the issuing agency's seal")
    .option('--errors <file>', 'where failed rows are written (default <file>.errors.csv)')
    .option('--no-pdf', 'credential only, without the sealed PDF rendition')
    .option('--concurrency <n>', 'rows issued at once', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('expected an integer from 1 to 64');
      return n;
    }, 8)
    .option('--json', 'machine-readable summary')
    .action(async (file: string, opts: { type: string; seal: string; errors?: string; pdf: boolean; concurrency: number; json?: boolean }) => {
      let csv: string;
      try {
        csv = fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new AppError('VALIDATION_FAILED', `cannot read ${file}: ${(e as Error).message}`);
      }
      const errorsFile = opts.errors ?? file.replace(/\.csv$/i, '') + '.errors.csv';
      await withServices(async (services) => {
        const seal = await services.seals.get(null, opts.seal);
        const actor: Principal = { apiKeyId: 'cli', agencyCode: seal.agencyCode, roles: ['counter'] };
        const out = fs.openSync(errorsFile, 'w');
        const tty = process.stderr.isTTY === true;
        const started = Date.now();
        let lastDecile = -1;
        try {
          const r = await runBatch({
            licences: services.licences,
            types: LicenceTypeRegistry.load(process.env.ESEAL_LICENCE_TYPES_DIR || undefined),
            actor,
            type: opts.type,
            sealId: opts.seal,
            csv,
            pdf: opts.pdf,
            concurrency: opts.concurrency,
            writeError: (line) => fs.writeSync(out, line),
            onProgress: (done, total) => {
              const bar = progressBar(done, total, (Date.now() - started) / 1000);
              if (tty) process.stderr.write(`\r${bar}${done === total ? '\n' : ''}`);
              else {
                const decile = Math.floor((done * 10) / total);
                if (decile !== lastDecile) {
                  lastDecile = decile;
                  io.err(bar);
                }
              }
            },
          });
          const summary = { ...r, perSecond: r.seconds > 0 ? Math.round(((r.issued + r.alreadyIssued) / r.seconds) * 10) / 10 : null, errorsFile, pdf: opts.pdf };
          io.out(opts.json ? JSON.stringify(summary) : `${r.total} rows: ${r.issued} issued, ${r.alreadyIssued} already issued, ${r.failed} failed in ${r.seconds.toFixed(1)} s${r.failed ? `; failures in ${errorsFile}` : ''}`);
          if (r.failed > 0) throw new CommanderError(1, 'eseal.licence.rowsFailed', `${r.failed} row(s) failed`);
        } catch (e) {
          if (e instanceof CsvError) throw new AppError('PARSE_ERROR', e.message);
          throw e;
        } finally {
          fs.closeSync(out);
        }
      });
    });
  return licence;
}
