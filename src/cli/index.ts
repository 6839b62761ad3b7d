import { createHash, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { AgencyService } from '../agencies';
import { ApiKeyService, toView, type Principal } from '../api-keys';
import { ensureBootstrapAdmin } from '../bootstrap';
import { ConfigError, loadConfig, type Config } from '../config';
import { ALGORITHMS, type AlgorithmName } from '../crypto';
import { AppError } from '../errors';
import { auditLog, httpAuditSource, originOf, storeAuditSource, storedLogKeys, type AuditSource } from '../log';
import { noteVerifier } from '../log/note';
import { startService } from '../main';
import { SEAL_KINDS, type SealKind, type SealRecord } from '../seals';
import { buildServices, buildVerifier, type Services } from '../services';
import type { SignatureFormat, SignatureLevel } from '../signing/service';
import { openStores, REVOCATION_REASONS, ROLES, type RevocationReason, type Role, type Stores } from '../store';
import { VERSION } from '../version';
import { archiveCommand } from '../archive/cli';
import { licenceCommand } from '../licences/cli';
import { Verifier } from '../verify/engine';
import type { VerificationReport } from '../verify/report';
import { RevocationChecker } from '../verify/revocation';

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

/**
 * The signing services on the configured store, as the service builds them. No periodic
 * checkpoints from a short-lived command: the service signs the next one over our entries.
 */
async function withServices<T>(fn: (services: Services, stores: Stores, config: Config) => Promise<T>): Promise<T> {
  return withStores(async (stores, config) => {
    const services = await buildServices({ ...config, logCheckpointIntervalMs: 0 }, stores);
    try {
      return await fn(services, stores, config);
    } finally {
      await services.close();
    }
  });
}

/**
 * The CLI acts as the platform operator, who has the store itself in hand. Its log entries and
 * key uses are attributed to the API key id 'cli'. Administration runs as a platform admin;
 * signing as a signer of the seal's own agency, since SealService.assertUsable (rightly) lets no
 * platform key sign with an agency's seal.
 */
const CLI_ACTOR_ID = 'cli';
const operatorAdmin: Principal = { apiKeyId: CLI_ACTOR_ID, agencyCode: null, roles: ['admin'] };
const operatorSigner = (agencyCode: string): Principal => ({ apiKeyId: CLI_ACTOR_ID, agencyCode, roles: ['signer'] });

/** A seal as the API shows it: never the key id or internal counters. */
function sealView(s: SealRecord & { logIndex?: number }) {
  const { keyId: _k, generation: _g, loggedGeneration: _l, ...rest } = s;
  return rest;
}

function numberArg(min: number, max: number, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    return n;
  };
}

function table(rows: Record<string, unknown>[], cols: string[]): string {
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n');
}

/** `eseal verify` exit statuses besides the verdicts 0/1/2 (sysexits.h). */
const EXIT_USAGE = 64;
const EXIT_SOFTWARE = 70;

/** Ends a command with a given exit status (after its output is written). */
class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** A command-line mistake found after parsing (e.g. an unreadable file): exit EXIT_USAGE. */
class UsageError extends Error {}

/** A file named on the command line; unreadable → usage error. */
function readInput(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`${what} ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** The certificates of a --trust file (PEM with one or more CERTIFICATE blocks, or DER), each parsed. */
function readAnchors(file: string): Buffer[] {
  const data = readInput(file, '--trust');
  let anchors: Buffer[];
  try {
    anchors = Verifier.anchorsFrom(data);
    // The constructor parses every anchor: a broken one is the user's to fix, not a silent no-op.
    new Verifier({ trustAnchors: anchors, revocation: new RevocationChecker({ mode: 'offline' }) });
  } catch (e) {
    throw new UsageError(`--trust ${file} is not a certificate (PEM or DER): ${e instanceof Error ? e.message : String(e)}`);
  }
  if (anchors.length === 0) throw new UsageError(`--trust ${file} holds no CERTIFICATE block`);
  return anchors;
}

/** Whether the configured store exists (a verification never creates one, nor a CA). */
function storeExists(config: Config): boolean {
  return config.mongodbUri !== null || fs.existsSync(path.join(config.dataDir, 'eseal.sqlite'));
}

/**
 * The verifier `eseal verify` runs. With the store: the service's own verifier (root CA,
 * ESEAL_TRUST_ANCHORS, imported anchors, our CA answering for its own certificates, seal lookup),
 * so that the command and the API agree; with --trust or --offline, the same wiring (as in
 * buildServices) with the extra anchors and/or offline revocation. Without a store: only the
 * --trust anchors and the configured revocation settings; nothing is created.
 */
async function withVerifier<T>(opts: { extraAnchors: Buffer[]; offline: boolean }, fn: (v: Pick<Verifier, 'verifyPdf' | 'verifyDetached'>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (!storeExists(config)) {
    const revocation = new RevocationChecker({ mode: opts.offline ? 'offline' : config.revocationMode, allowHosts: config.revocationHosts, timeoutMs: config.revocationTimeoutMs });
    return fn(new Verifier({ trustAnchors: opts.extraAnchors, revocation }));
  }
  return withServices(async (services, stores) => {
    if (opts.extraAnchors.length === 0 && !opts.offline) return fn(services.verifier);
    const settings = { ...config, revocationMode: opts.offline ? ('offline' as const) : config.revocationMode };
    return fn(buildVerifier(settings, stores, services.ca, services.seals, undefined, opts.extraAnchors));
  });
}

/** A few lines per signature: verdict, signer, times, scope, and every check that did not pass. */
function reportSummary(file: string, r: VerificationReport): string {
  const lines: string[] = [];
  lines.push(`${file}: ${r.indication}${r.subIndication ? ` (${r.subIndication})` : ''}`);
  const d = r.document;
  lines.push(`  document: ${d.kind === 'pdf' ? 'PDF' : 'detached CAdES'}, ${d.size} bytes${d.revisions !== undefined ? `, ${d.revisions} revision(s)` : ''}, sha256 ${d.sha256}`);
  const problems = (checks: VerificationReport['checks'], indent: string) => {
    for (const c of checks) {
      if (c.result === 'passed' || c.result === 'skipped') continue;
      lines.push(`${indent}${c.result === 'warning' ? '!' : '✗'} ${c.group}/${c.name}: ${c.result}${c.reason ? ` — ${c.reason}` : ''}${c.code ? ` [${c.code}]` : ''}`);
    }
  };
  problems(r.checks, '  ');
  if (r.signatures.length === 0) lines.push('  no signatures');
  r.signatures.forEach((s, i) => {
    lines.push(`  signature ${i + 1} ${s.id} (${s.format}${s.level ? ` ${s.level}` : ''}${s.type !== 'signature' ? `, ${s.type}` : ''}): ${s.indication}${s.subIndication ? ` (${s.subIndication})` : ''}`);
    if (s.signer) {
      const g = s.signer;
      const agency = g.agency ? `; agency ${[g.agency.name, g.agency.creditCode ? `(${g.agency.creditCode})` : ''].filter(Boolean).join(' ')}` : '';
      lines.push(`    signer: ${g.subject}${agency}${g.seal ? `; seal ${g.seal.name} ${g.seal.id}` : ''}`);
    }
    const ts = s.timestamp ? `time-stamp ${s.timestamp.time} by ${s.timestamp.tsa}${s.timestamp.valid ? '' : ' (NOT valid)'}` : 'no time-stamp';
    lines.push(`    time: ${s.signingTime ? `claimed ${s.signingTime}; ` : ''}${ts}`);
    const changes = s.changes.length ? ` (${s.changes.length} change(s), ${s.changes.filter((c) => !c.allowed).length} disallowed)` : '';
    lines.push(`    covers: ${s.coverage}; modified after signing: ${s.modifiedAfterSigning ? 'yes' : 'no'}${changes}`);
    for (const c of s.changes.filter((x) => !x.allowed)) lines.push(`    ✗ revision ${c.revision}: ${c.kind}${c.object ? ` ${c.object}` : ''}: ${c.description}`);
    problems(s.checks, '    ');
  });
  lines.push(`  policy: revocation ${r.policy.revocation}; ${r.policy.trustAnchors.length} trust anchor(s)`);
  return lines.join('\n');
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

  const seal = program
    .command('seal')
    .description(`agency seals on the local store; the CLI acts as the platform operator (logged as API key id '${CLI_ACTOR_ID}')`);
  seal
    .command('create')
    .description('create a seal: a key in the key store, a seal certificate from the CA, a log entry')
    .requiredOption('--agency <code>', 'owning agency (unified social credit code)')
    .requiredOption('--name <name>', 'seal name, e.g. 行政许可专用章')
    .addOption(new Option('--kind <kind>', 'kind of seal').choices(SEAL_KINDS).makeOptionMandatory())
    .addOption(new Option('--algorithm <alg>', 'signature algorithm').choices(Object.keys(ALGORITHMS)).default('ES256'))
    .addOption(new Option('--key-store <store>', 'where the key is generated (default: ESEAL_KEY_STORE)').choices(['software', 'pkcs11']))
    .option('--json', 'machine-readable output')
    .action(async (opts: { agency: string; name: string; kind: SealKind; algorithm: AlgorithmName; keyStore?: 'software' | 'pkcs11'; json?: boolean }) => {
      await withServices(async (services) => {
        const s = await services.seals.create(operatorAdmin, { agencyCode: opts.agency, name: opts.name, kind: opts.kind, algorithm: opts.algorithm, keyStore: opts.keyStore });
        io.out(opts.json ? JSON.stringify(sealView(s)) : `${s.id}\ncreated seal ${s.id} "${s.name}" of ${s.agencyCode} (${s.algorithm}, ${s.keyStore}); log index ${s.logIndex}`);
      });
    });
  seal
    .command('list')
    .description('list seals')
    .option('--agency <code>', 'only this agency\'s seals')
    .option('--json', 'machine-readable output')
    .action(async (opts: { agency?: string; json?: boolean }) => {
      await withServices(async (services) => {
        const all = [];
        let cursor: string | null = null;
        do {
          const page = await services.seals.list(operatorAdmin, { limit: 500, cursor, agencyCode: opts.agency });
          all.push(...page.items.map(sealView));
          cursor = page.nextCursor;
        } while (cursor);
        io.out(opts.json ? JSON.stringify(all) : table(all as unknown as Record<string, unknown>[], ['id', 'agencyCode', 'name', 'kind', 'algorithm', 'keyStore', 'status', 'createdAt']));
      });
    });
  seal
    .command('revoke <id>')
    .description('revoke a seal and its certificate (RFC 5280 reason); it can never sign again')
    .addOption(
      new Option('--reason <reason>', 'RFC 5280 revocation reason').choices(REVOCATION_REASONS.filter((r) => r !== 'removeFromCRL')).default('cessationOfOperation'),
    )
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { reason: RevocationReason; json?: boolean }) => {
      await withServices(async (services) => {
        const s = await services.seals.revoke(operatorAdmin, id, opts.reason);
        io.out(opts.json ? JSON.stringify(sealView(s)) : `revoked ${s.id} (${opts.reason}); log index ${s.logIndex}`);
      });
    });

  program
    .command('sign <file>')
    .description(
      'sign a file with a seal on the local store: PAdES (signed PDF) or CAdES detached (.p7s). The CLI acts as the platform ' +
        `operator signing as a signer of the seal's agency: the signature and the key use are logged with API key id '${CLI_ACTOR_ID}'`,
    )
    .requiredOption('--seal <id>', 'seal id (seal_…)')
    .addOption(new Option('--format <format>', 'signature format').choices(['pades', 'cades']).makeOptionMandatory())
    .addOption(new Option('--level <level>', 'baseline level (CAdES: B-B or B-T)').choices(['B-B', 'B-T', 'B-LT', 'B-LTA']).default('B-T'))
    .option('--page <n>', 'PAdES: page of the visible seal (1-based)', numberArg(1, 100000, true))
    .option('--x <pt>', 'PAdES: left edge of the visible seal, points from the bottom-left', numberArg(0, 14400))
    .option('--y <pt>', 'PAdES: bottom edge of the visible seal, points', numberArg(0, 14400))
    .option('--width <pt>', 'PAdES: diameter of the visible seal in points (default 120)', numberArg(20, 600))
    .option('--reason <text>', 'PAdES: /Reason')
    .option('--location <text>', 'PAdES: /Location')
    .requiredOption('-o, --output <file>', 'where to write the signed PDF or the .p7s')
    .option('--json', 'machine-readable output')
    .action(
      async (
        file: string,
        opts: {
          seal: string;
          format: SignatureFormat;
          level: SignatureLevel;
          page?: number;
          x?: number;
          y?: number;
          width?: number;
          reason?: string;
          location?: string;
          output: string;
          json?: boolean;
        },
      ) => {
        const document = fs.readFileSync(file);
        const mb = (document.length / 2 ** 20).toFixed(1);
        if (!opts.json && document.length >= 8 * 2 ** 20) io.err(`signing ${file} (${mb} MiB)…`);
        await withServices(async (services) => {
          const s = await services.seals.get(null, opts.seal);
          const r = await services.signing.sign(operatorSigner(s.agencyCode), {
            sealId: s.id,
            format: opts.format,
            level: opts.level,
            document,
            pades: { page: opts.page, x: opts.x, y: opts.y, width: opts.width, reason: opts.reason, location: opts.location },
          });
          // Write then rename: an interrupted run never leaves a half-written signature behind.
          const tmp = `${opts.output}.${process.pid}.tmp`;
          fs.writeFileSync(tmp, r.bytes);
          fs.renameSync(tmp, opts.output);
          const result = {
            output: opts.output,
            sealId: s.id,
            format: opts.format,
            level: opts.level,
            bytes: r.bytes.length,
            sha256: createHash('sha256').update(r.bytes).digest('hex'),
            logIndex: r.logIndex,
          };
          io.out(opts.json ? JSON.stringify(result) : `signed ${file} → ${opts.output} (${opts.format} ${opts.level}, ${r.bytes.length} bytes); log index ${r.logIndex}`);
        });
      },
    );

  program
    .command('verify <file>')
    .description(
      'verify a signed PDF (PAdES), or a file and its detached CAdES signature (--signature). Trusts the root CA and the ' +
        'trust anchors of the local store when there is one, plus --trust files. Exit status: 0 TOTAL_PASSED, 1 TOTAL_FAILED, ' +
        `2 INDETERMINATE, ${EXIT_USAGE} usage error (bad arguments, unreadable files), ${EXIT_SOFTWARE} the verification could not run (configuration, store)`,
    )
    .option('--signature <file>', 'detached CAdES signature (.p7s: DER or PEM) of FILE')
    .option('--trust <file>', 'PEM (one or more certificates) or DER file of a CA to trust; repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--offline', 'never fetch OCSP responses or CRLs: use only what the file and the local CA hold')
    .option('--json', 'print the whole report as JSON')
    // Usage errors of this command exit 64 (EX_USAGE), apart from 1 and 2, which are verdicts.
    .exitOverride((err) => {
      if (err.exitCode === 0) throw err;
      throw new CommanderError(EXIT_USAGE, err.code, err.message);
    })
    .action(async (file: string, opts: { signature?: string; trust: string[]; offline?: boolean; json?: boolean }) => {
      let document: Buffer;
      let signature: Buffer | undefined;
      let extraAnchors: Buffer[];
      try {
        document = readInput(file, 'FILE');
        signature = opts.signature === undefined ? undefined : readInput(opts.signature, '--signature');
        extraAnchors = opts.trust.flatMap((f) => readAnchors(f));
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        io.err(`eseal verify: ${e.message}`);
        throw new CliExit(EXIT_USAGE);
      }
      let report: VerificationReport;
      try {
        report = await withVerifier({ extraAnchors, offline: Boolean(opts.offline) }, (v) =>
          signature ? v.verifyDetached(document, signature) : v.verifyPdf(document),
        );
      } catch (e) {
        io.err(`eseal: the verification could not run: ${e instanceof AppError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}`);
        throw new CliExit(EXIT_SOFTWARE);
      }
      io.out(opts.json ? JSON.stringify(report, null, 2) : reportSummary(file, report));
      throw new CliExit(report.indication === 'TOTAL_PASSED' ? 0 : report.indication === 'TOTAL_FAILED' ? 1 : 2);
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

  program.addCommand(archiveCommand(io, withServices));
  program.addCommand(licenceCommand(io, withServices));

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
    if (e instanceof CliExit) return e.exitCode;
    if (e instanceof AuditFailed) return 1;
    if (e instanceof ConfigError) io.err(`eseal: ${e.message}`);
    else if (e instanceof AppError) {
      io.err(`eseal: ${e.code}: ${e.message}`);
      for (const fe of e.errors ?? []) io.err(`  ${fe.pointer}: ${fe.detail}`);
    } else io.err(`eseal: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof AppError && e.status < 500 ? 2 : 1;
  }
}
