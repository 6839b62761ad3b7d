import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { AgencyService } from '../agencies';
import { ApiKeyService, toView } from '../api-keys';
import { ensureBootstrapAdmin } from '../bootstrap';
import { ConfigError, loadConfig, type Config } from '../config';
import { AppError } from '../errors';
import { auditLog, httpAuditSource, originOf, storeAuditSource, storedLogKeys, type AuditSource } from '../log';
import { noteVerifier } from '../log/note';
import { startService } from '../main';
import { openStores, ROLES, type Role, type Stores } from '../store';
import { VERSION } from '../version';

/**
 * The `eseal` command. Operator commands work on the configured store directly (same
 * environment variables as the service), so they also work while the service is down.
 */
interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') };

async function withStores<T>(fn: (stores: Stores, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const stores = await openStores(config);
  try {
    return await fn(stores, config);
  } finally {
    await stores.close();
  }
}

function table(rows: Record<string, unknown>[], cols: string[]): string {
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n');
}

export function buildProgram(io: Io = defaultIo): Command {
  const program = new Command('eseal')
    .description('eseal: electronic seals, e-licences, verification and e-archive')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('init')
    .description('create the data directory, the store schema and the bootstrap admin key')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withStores(async (stores, config) => {
        const r = await ensureBootstrapAdmin(stores, config, pino({ level: 'silent' }));
        const result = { store: stores.kind, dataDir: config.dataDir, adminKeyFile: r.adminKeyFile, adminKeyCreated: r.created };
        io.out(opts.json ? JSON.stringify(result) : `initialised ${stores.kind} store in ${config.dataDir}` + (r.adminKeyFile ? `; admin key in ${r.adminKeyFile}` : ''));
      });
    });

  program
    .command('serve')
    .description('run the HTTP service (same as npm start)')
    .action(async () => {
      const config = loadConfig();
      const service = await startService(config);
      await new Promise<void>((resolve) => {
        for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => service.stop().then(resolve));
      });
    });

  const agency = program.command('agency').description('agencies');
  agency
    .command('add')
    .description('register an agency')
    .requiredOption('--code <code>', 'unified social credit code (18 characters)')
    .requiredOption('--name <name>', 'agency name')
    .option('--region <region>', '6-digit administrative division code')
    .option('--json', 'machine-readable output')
    .action(async (opts: { code: string; name: string; region?: string; json?: boolean }) => {
      await withStores(async (stores) => {
        const a = await new AgencyService(stores.agencies).create({ code: opts.code, name: opts.name, region: opts.region ?? null });
        io.out(opts.json ? JSON.stringify(a) : `registered ${a.code} ${a.name}`);
      });
    });
  agency
    .command('list')
    .description('list agencies')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withStores(async (stores) => {
        const all = [];
        let cursor: string | null = null;
        do {
          const page = await stores.agencies.list({ limit: 500, cursor });
          all.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor);
        io.out(opts.json ? JSON.stringify(all) : table(all as unknown as Record<string, unknown>[], ['code', 'name', 'region', 'createdAt']));
      });
    });

  const apiKey = program.command('api-key').description('API keys');
  apiKey
    .command('create')
    .description('create an API key; the secret is printed once')
    .option('--agency <code>', 'owning agency (omit for a platform key)')
    .requiredOption('--roles <roles>', `comma-separated: ${ROLES.join(',')}`)
    .requiredOption('--label <label>', 'what the key is for')
    .option('--json', 'machine-readable output')
    .action(async (opts: { agency?: string; roles: string; label: string; json?: boolean }) => {
      const roles = opts.roles.split(',').map((r) => r.trim());
      const bad = roles.filter((r) => !ROLES.includes(r as Role));
      if (bad.length) throw new AppError('VALIDATION_FAILED', `unknown role(s): ${bad.join(', ')}; roles are ${ROLES.join(', ')}`);
      await withStores(async (stores) => {
        const svc = new ApiKeyService(stores.apiKeys, stores.agencies);
        const { record, key } = await svc.create(null, { agencyCode: opts.agency ?? null, roles: roles as Role[], label: opts.label });
        io.out(opts.json ? JSON.stringify({ ...toView(record), key }) : `${record.id}\n${key}\n(the key is shown once; store it now)`);
      });
    });
  apiKey
    .command('list')
    .description('list API keys (never secrets)')
    .option('--agency <code>', "filter by agency ('platform' for platform keys)")
    .option('--json', 'machine-readable output')
    .action(async (opts: { agency?: string; json?: boolean }) => {
      await withStores(async (stores) => {
        const agencyCode = opts.agency === undefined ? undefined : opts.agency === 'platform' ? null : opts.agency;
        const all = [];
        let cursor: string | null = null;
        do {
          const page = await stores.apiKeys.list({ limit: 500, cursor, agencyCode });
          all.push(...page.items.map(toView));
          cursor = page.nextCursor;
        } while (cursor);
        io.out(
          opts.json
            ? JSON.stringify(all)
            : table(
                all.map((k) => ({ ...k, roles: k.roles.join(','), agencyCode: k.agencyCode ?? 'platform', revokedAt: k.revokedAt ?? '' })),
                ['id', 'agencyCode', 'roles', 'label', 'prefix', 'createdAt', 'revokedAt'],
              ),
        );
      });
    });
  apiKey
    .command('revoke <id>')
    .description('revoke an API key')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withStores(async (stores) => {
        const k = await stores.apiKeys.revoke(id, new Date().toISOString());
        io.out(opts.json ? JSON.stringify(toView(k)) : `revoked ${k.id}`);
      });
    });

  const log = program.command('log').description('transparency log');
  log
    .command('verify')
    .description('audit the whole log: recompute the tree, check every checkpoint; exit 0 only when all holds')
    .option('--url <url>', 'audit a running service over HTTP instead of the local store')
    .option('--checkpoint <file>', 'a checkpoint saved earlier: the log must extend it')
    .option('--key <file>', 'log public key (PEM) to trust, instead of the one the log says it uses')
    .option('--json', 'machine-readable output')
    .action(async (opts: { url?: string; checkpoint?: string; key?: string; json?: boolean }) => {
      const saved = opts.checkpoint ? fs.readFileSync(opts.checkpoint, 'utf8') : undefined;
      const pinned = opts.key ? [createPublicKey(fs.readFileSync(opts.key, 'utf8')).export({ type: 'spki', format: 'der' })] : null;
      const run = async (source: AuditSource, keys: Buffer[], proof?: (m: number, n: number) => Promise<Buffer[]>) => {
        const origin = (await originOf(source)) ?? '';
        const report = await auditLog(source, {
          origin,
          verifiers: (pinned ?? keys).map((k) => noteVerifier(origin, k)),
          savedCheckpoint: saved,
          consistencyProof: proof,
        });
        if (opts.json) io.out(JSON.stringify(report));
        else {
          io.out(`log ${origin}: ${report.treeSize} entries, root ${report.root}, ${report.checkpointsVerified} checkpoints verified`);
          for (const p of report.problems.slice(0, 50)) io.out(`  index ${p.index}: ${p.kind}: ${p.detail}`);
          io.out(report.ok ? 'OK' : `FAILED: first divergence at index ${report.firstDivergence}`);
        }
        if (!report.ok) throw new AuditFailed();
      };
      if (opts.url) {
        const src = httpAuditSource(opts.url);
        const keyInfo = (await (await fetch(opts.url.replace(/\/+$/, '') + '/v1/log/key')).json()) as { all: { publicKey: string }[] };
        const keys = keyInfo.all.map((k) => createPublicKey(k.publicKey).export({ type: 'spki', format: 'der' }));
        await run(src, keys, (m, n) => src.consistencyProof(m, n));
      } else {
        await withStores(async (stores) => run(storeAuditSource(stores.log), await storedLogKeys(stores.settings, stores.certificates)));
      }
    });

  return program;
}

class AuditFailed extends Error {}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof AuditFailed) return 1;
    if (e instanceof ConfigError) io.err(`eseal: ${e.message}`);
    else if (e instanceof AppError) {
      io.err(`eseal: ${e.code}: ${e.message}`);
      for (const fe of e.errors ?? []) io.err(`  ${fe.pointer}: ${fe.detail}`);
    } else io.err(`eseal: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof AppError && e.status < 500 ? 2 : 1;
  }
}
