import type { CertificateAuthority } from '../ca';
import type { KeyRouter } from '../crypto';
import type { LogService } from '../log/service';
import type { SealService } from '../seals';
import type { SigningService } from '../signing/service';
import type { Stores } from '../store/ports';
import { AnnotatedCopyService } from './annotated';
import { DEFAULT_LICENCE_TYPES_DIR, LicenceTypeRegistry } from './licence-types';
import { renderLicencePdf } from './render';
import { LicenceService } from './service';
import type { LicenceRenderer } from './types';

export * from './types';
export * from './ports';
export * from './identifier';
export { LicenceService, maskHolderName, LICENCE_REVOCATION_REASONS, type IssueLicenceInput, type IssuedLicence } from './service';
export { LicenceTypeRegistry, DEFAULT_LICENCE_TYPES_DIR } from './licence-types';
export { AnnotatedCopyService } from './annotated';

export interface LicenceServices {
  licences: LicenceService;
  annotatedCopies: AnnotatedCopyService;
}

/**
 * Builds the licence services and repairs unlogged status changes. Types come from
 * ESEAL_LICENCE_TYPES_DIR (default schemas/licence-types); a bad type file stops the start.
 */
export async function buildLicenceServices(
  deps: { stores: Stores; seals: SealService; signing: SigningService; ca: CertificateAuthority; keys: KeyRouter; log: LogService; publicUrl: string; clock?: () => Date },
  options: { typesDir?: string; render?: LicenceRenderer | null; statusListMaxAge?: number } = {},
): Promise<LicenceServices> {
  const types = LicenceTypeRegistry.load(options.typesDir ?? process.env.ESEAL_LICENCE_TYPES_DIR ?? DEFAULT_LICENCE_TYPES_DIR);
  const render = options.render === null ? undefined : (options.render ?? ((input) => renderLicencePdf(input)));
  const rawMaxAge = process.env.ESEAL_STATUS_LIST_MAX_AGE;
  const maxAgeEnv = rawMaxAge === undefined || rawMaxAge === '' ? 300 : Number(rawMaxAge);
  if (!Number.isInteger(maxAgeEnv) || maxAgeEnv < 1 || maxAgeEnv > 86400) {
    throw new Error(`ESEAL_STATUS_LIST_MAX_AGE must be whole seconds from 1 to 86400, got "${rawMaxAge}"`);
  }
  const licences = new LicenceService({
    licences: deps.stores.licences,
    types,
    seals: deps.seals,
    signing: deps.signing,
    ca: deps.ca,
    keys: deps.keys,
    log: deps.log,
    agencies: deps.stores.agencies,
    certificates: deps.stores.certificates,
    counters: deps.stores.counters,
    settings: deps.stores.settings,
    publicUrl: deps.publicUrl,
    render,
    statusListMaxAge: options.statusListMaxAge ?? maxAgeEnv,
    clock: deps.clock,
  });
  await licences.repair();
  const annotatedCopies = new AnnotatedCopyService({
    licences,
    types,
    agencies: deps.stores.agencies,
    signing: deps.signing,
    log: deps.log,
    render: render ?? ((input) => renderLicencePdf(input)),
    clock: deps.clock,
  });
  return { licences, annotatedCopies };
}
