import { createHash, randomBytes } from 'node:crypto';
import { AppError, ForbiddenError, NotFoundError } from '../errors';
import { newId } from '../store/ids';
import type { AgencyStore, ApiKeyRecord, ApiKeyStore, ListOptions, Page, Role } from '../store/ports';

/** The caller, as established by authentication. */
export interface Principal {
  apiKeyId: string;
  /** Null for platform keys. */
  agencyCode: string | null;
  roles: Role[];
}

export const API_KEY_PREFIX = 'es_';

/** 256-bit random secret, base64url: `es_` + 43 characters. */
export function generateApiKey(random: Buffer = randomBytes(32)): string {
  return API_KEY_PREFIX + random.toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Public view of a key record: never the hash. */
export type ApiKeyView = Omit<ApiKeyRecord, 'keyHash'>;
export function toView(k: ApiKeyRecord): ApiKeyView {
  const { keyHash: _hash, ...rest } = k;
  return rest;
}

export function isPlatformAdmin(p: Principal): boolean {
  return p.agencyCode === null && p.roles.includes('admin');
}

/**
 * May `p` act on resources of `agencyCode` (null = platform resources)? Platform admins may act
 * on everything; any other key only on its own agency's resources.
 */
export function assertAgencyAccess(p: Principal, agencyCode: string | null): void {
  if (isPlatformAdmin(p)) return;
  if (p.agencyCode === null || p.agencyCode !== agencyCode) {
    throw new ForbiddenError("This API key may not act on another agency's resources", 'FORBIDDEN_AGENCY');
  }
}

export class ApiKeyService {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly agencies: AgencyStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Creates a key; the secret is returned once, here, and only its hash is stored. */
  async create(
    actor: Principal | null,
    input: { agencyCode: string | null; roles: Role[]; label: string },
    secret: string = generateApiKey(),
  ): Promise<{ record: ApiKeyRecord; key: string }> {
    if (actor) assertAgencyAccess(actor, input.agencyCode);
    if (input.agencyCode !== null && !(await this.agencies.get(input.agencyCode))) {
      throw new AppError('UNKNOWN_AGENCY', `Agency ${input.agencyCode} is not registered`, {
        errors: [{ pointer: '/agencyCode', detail: 'no agency with this code' }],
      });
    }
    const record: ApiKeyRecord = {
      id: newId('ak_'),
      agencyCode: input.agencyCode,
      roles: [...new Set(input.roles)].sort() as Role[],
      label: input.label,
      keyHash: hashApiKey(secret),
      prefix: secret.slice(0, API_KEY_PREFIX.length + 6),
      createdAt: this.clock().toISOString(),
      revokedAt: null,
    };
    await this.keys.create(record);
    return { record, key: secret };
  }

  async list(actor: Principal, options: ListOptions & { agencyCode?: string | null }): Promise<Page<ApiKeyRecord>> {
    if (!isPlatformAdmin(actor)) {
      // Agency admins see their own agency's keys; asking for another agency is refused, not
      // silently narrowed, so that a mistake is visible.
      if (options.agencyCode !== undefined) assertAgencyAccess(actor, options.agencyCode);
      return this.keys.list({ ...options, agencyCode: actor.agencyCode });
    }
    return this.keys.list(options);
  }

  async revoke(actor: Principal, id: string): Promise<ApiKeyRecord> {
    const k = await this.keys.get(id);
    if (!k) throw new NotFoundError(`API key ${id}`);
    assertAgencyAccess(actor, k.agencyCode);
    return this.keys.revoke(id, this.clock().toISOString());
  }

  /** Resolves a presented secret to its principal; null for unknown or revoked keys. */
  async authenticate(secret: string): Promise<Principal | null> {
    if (!secret.startsWith(API_KEY_PREFIX) && secret.length < 32) return null;
    const k = await this.keys.findByHash(hashApiKey(secret));
    if (!k || k.revokedAt !== null) return null;
    return { apiKeyId: k.id, agencyCode: k.agencyCode, roles: k.roles };
  }
}
