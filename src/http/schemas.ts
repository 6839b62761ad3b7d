import { Type, type Static } from '@sinclair/typebox';
import { ROLES } from '../store/ports';

/** Request and response schemas: validation and the OpenAPI document both read these. */

const strict = { additionalProperties: false } as const;

export const CreditCode = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Unified social credit code (GB 32100-2015), 18 characters, check character validated',
  examples: ['11330105002500287C'],
});

export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)), { description: 'API key role' });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.Object({ pointer: Type.String(), detail: Type.String(), code: Type.Optional(Type.String()) })),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 400 })),
  },
  strict,
);
export type PageQuery = Static<typeof PageQuery>;

export const CreateAgencyBody = Type.Object(
  {
    code: CreditCode,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    region: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'GB/T 2260 administrative division code' })),
  },
  strict,
);
export type CreateAgencyBody = Static<typeof CreateAgencyBody>;

export const Agency = Type.Object({
  code: Type.String(),
  name: Type.String(),
  region: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const AgencyPage = Type.Object({ items: Type.Array(Agency), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const AgencyCodeParams = Type.Object({ code: Type.String({ maxLength: 64 }) }, strict);

export const CreateApiKeyBody = Type.Object(
  {
    agencyCode: Type.Union([CreditCode, Type.Null()], { description: 'Owning agency; null for a platform key' }),
    roles: Type.Array(RoleSchema, { minItems: 1, maxItems: 5, uniqueItems: true }),
    label: Type.String({ minLength: 1, maxLength: 200 }),
  },
  strict,
);
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>;

export const ApiKeyView = Type.Object({
  id: Type.String(),
  agencyCode: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(RoleSchema),
  label: Type.String(),
  prefix: Type.String({ description: 'First characters of the key, to tell keys apart' }),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const CreatedApiKey = Type.Intersect([
  ApiKeyView,
  Type.Object({ key: Type.String({ description: 'The secret API key. Shown once; only its hash is stored.' }) }),
]);

export const ApiKeyPage = Type.Object({ items: Type.Array(ApiKeyView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const ApiKeyListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 400 })),
    agencyCode: Type.Optional(Type.String({ maxLength: 64, description: "Filter by agency; 'platform' for platform keys" })),
  },
  strict,
);
export type ApiKeyListQuery = Static<typeof ApiKeyListQuery>;

export const ApiKeyIdParams = Type.Object({ id: Type.String({ pattern: '^ak_[0-9a-f]{28}$' }) }, strict);

export const LogReceipt = Type.Object(
  {
    index: Type.Integer({ description: 'Index of the entry in the transparency log' }),
    checkpoint: Type.String({ description: 'Where the signed checkpoints are' }),
    inclusionProof: Type.String({ description: 'Template of the inclusion-proof URL: fill {treeSize} from a checkpoint that covers the index' }),
  },
  { description: 'Where to prove that this operation was logged' },
);
