import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import { CLASSIFICATIONS, RETENTION_PERIODS, toView, type ArchiveMetadata, type ArchiveService } from '../../archive';
import { AppError } from '../../errors';
import { route, type RouteSpec } from '../route';
import { PageQuery, Problem } from '../schemas';
import { validateBody, validateQuery } from '../validation';
import { readSignMultipart } from './signatures';

/** Largest record accepted (documented in docs/archive.md): the file is stored in the record itself. */
export const MAX_ARCHIVE_FILE_BYTES = 12 * 1024 * 1024;
const MULTIPART = 'multipart/form-data';

/** DA/T 46 core metadata plus filing options: flat, so the same schema serves the query (raw body) and the multipart `options` part. */
const FilingOptions = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 500, description: '题名' }),
    responsibleAgency: Type.String({ minLength: 1, maxLength: 200, description: '责任者' }),
    date: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: '日期 (YYYY-MM-DD)' }),
    documentNumber: Type.String({ minLength: 1, maxLength: 100, description: '文件编号' }),
    retention: Type.Union(RETENTION_PERIODS.map((r) => Type.Literal(r)), { description: '保管期限' }),
    classification: Type.Union(CLASSIFICATIONS.map((c) => Type.Literal(c)), { description: '密级' }),
    fonds: Type.String({ pattern: '^[A-Za-z0-9]{1,16}$', description: '全宗号' }),
    series: Type.String({ minLength: 1, maxLength: 50, pattern: '^[^/\\\\{}]+$', description: '类别号 (series)' }),
    recordType: Type.String({ minLength: 1, maxLength: 32, description: '文种' }),
    fileName: Type.String({ minLength: 1, maxLength: 255, description: '计算机文件名: the real file name' }),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: "The sender's digest of the file (checked)" })),
    size: Type.Optional(Type.Integer({ minimum: 0, description: "The sender's size of the file (checked)" })),
    agencyCode: Type.Optional(Type.String({ maxLength: 64, description: "Platform keys: the record's agency" })),
    forceReason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Admins: file despite failed checks, for this reason' })),
  },
  { additionalProperties: false },
);
type FilingOptions = Static<typeof FilingOptions>;
/**
 * The route's query: the same fields as strings, all optional, so that the registry lets a raw
 * request through and the handler answers a bad or missing field with ARCHIVE_METADATA_INVALID.
 */
const FilingQuery = Type.Object(
  Object.fromEntries(Object.entries(FilingOptions.properties).map(([k, s]) => [k, Type.Optional(Type.String({ maxLength: 1000, description: (s as { description?: string }).description }))])),
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ pattern: '^arc_[0-9a-f]{28}$' }) }, { additionalProperties: false });
const BatchParams = Type.Object({ id: Type.String({ pattern: '^atb_[0-9a-f]{28}$' }) }, { additionalProperties: false });
const ListQuery = Type.Object(
  {
    limit: PageQuery.properties.limit,
    cursor: PageQuery.properties.cursor,
    agencyCode: Type.Optional(Type.String({ maxLength: 64 })),
    fonds: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{1,16}$' })),
    year: Type.Optional(Type.Integer({ minimum: 1900, maximum: 9999 })),
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(Type.Union([Type.Literal('pending-evidence'), Type.Literal('sealed'), Type.Literal('disposed')])),
  },
  { additionalProperties: false },
);
type ListQuery = Static<typeof ListQuery>;
const PackageQuery = Type.Object({ sealId: Type.Optional(Type.String({ pattern: '^seal_[0-9a-f]{28}$' })) }, { additionalProperties: false });
const RenewBody = Type.Object({ batchIds: Type.Optional(Type.Array(Type.String({ pattern: '^atb_[0-9a-f]{28}$' }), { minItems: 1, maxItems: 1000 })) }, { additionalProperties: false });

const ReasonBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
const RecordView = Type.Object({}, { additionalProperties: true, description: 'An archive record (without the file bytes): metadata, checks, report, evidence' });

function asMetadataError(e: unknown, prefix: string): never {
  if (e instanceof AppError) {
    throw new AppError('ARCHIVE_METADATA_INVALID', 'The archive metadata is missing or invalid', {
      errors: (e.errors ?? []).map((fe) => ({ ...fe, pointer: `${prefix}${fe.pointer === '/' ? '' : fe.pointer}` })),
      cause: e,
    });
  }
  throw e;
}

function toMetadata(o: FilingOptions): ArchiveMetadata {
  const { agencyCode: _a, forceReason: _f, ...m } = o;
  return m;
}

export function archiveRoutes(archive: ArchiveService): RouteSpec[] {
  return [
    route<Buffer, Record<string, unknown>>({
      method: 'post',
      path: '/v1/archive/records',
      operationId: 'fileArchiveRecord',
      summary:
        'File a signed record (Art. 33): the PDF as the body (metadata in the query) or as the `file` part of multipart/form-data with the metadata ' +
        'as JSON in the `options` part. Runs the verification engine and the DA/T 70 checks, assigns a registration number, logs the filing and ' +
        'waits for the batch archive timestamp (status `sealed`; `pending-evidence` if the TSA failed — sealed later).',
      tags: ['archive'],
      access: ['archivist', 'admin'],
      query: FilingQuery,
      raw: { contentTypes: ['application/pdf', MULTIPART], limit: MAX_ARCHIVE_FILE_BYTES + 64 * 1024 },
      responses: {
        201: { description: 'The filed record', schema: RecordView },
        400: { description: 'Missing or invalid metadata (ARCHIVE_METADATA_INVALID), bad multipart', schema: Problem },
        403: { description: "Another agency, or forcing without the admin role", schema: Problem },
        413: { description: 'File too large', schema: Problem },
        422: { description: 'A required check failed (ARCHIVE_CHECKS_FAILED): `details.checks` and `details.report` hold the full report', schema: Problem },
      },
      async handler({ principal, body, req, res }) {
        let options: FilingOptions;
        let bytes: Buffer;
        let mediaType: string;
        if (req.is(MULTIPART)) {
          const m = await readSignMultipart(Readable.from([body]), req.headers);
          if (Object.keys(req.query as object).length) throw new AppError('INVALID_QUERY', 'With multipart, send the metadata in the options part');
          try {
            options = validateBody<FilingOptions>(FilingOptions, m.options ?? {});
          } catch (e) {
            asMetadataError(e, '/options');
          }
          bytes = m.document;
          mediaType = m.mimeType;
        } else {
          try {
            options = validateQuery<FilingOptions>(FilingOptions, req.query);
          } catch (e) {
            asMetadataError(e, '');
          }
          bytes = body;
          mediaType = 'application/pdf';
        }
        if (bytes.length > MAX_ARCHIVE_FILE_BYTES) {
          throw new AppError('PAYLOAD_TOO_LARGE', `The file exceeds the archive limit of ${MAX_ARCHIVE_FILE_BYTES} bytes`, { details: { limit: MAX_ARCHIVE_FILE_BYTES } });
        }
        if (bytes.length === 0) throw new AppError('VALIDATION_FAILED', 'The file is empty');
        const rec = await archive.file(principal!, {
          bytes,
          mediaType,
          metadata: toMetadata(options),
          agencyCode: options.agencyCode,
          force: options.forceReason ? { reason: options.forceReason } : undefined,
        });
        res.status(201).json(rec);
      },
    }),
    route<unknown, ListQuery>({
      method: 'get',
      path: '/v1/archive/records',
      operationId: 'listArchiveRecords',
      summary: "Search records by metadata (fonds, year, title substring, status), paginated; agency keys see their own agency's only.",
      tags: ['archive'],
      access: ['archivist', 'admin'],
      query: ListQuery,
      responses: { 200: { description: 'A page of records', schema: RecordView }, 400: { description: 'Bad query', schema: Problem } },
      async handler({ principal, query }) {
        return archive.list(principal!, query);
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/archive/records/{id}',
      operationId: 'getArchiveRecord',
      summary: 'A record: metadata, registration number, DA/T 70 checks, filing report, evidence (batch, root, archive timestamps, path), re-verifications.',
      tags: ['archive'],
      access: ['archivist', 'admin'],
      params: IdParams,
      responses: { 200: { description: 'The record', schema: RecordView }, 403: { description: "Another agency's record", schema: Problem }, 404: { description: 'Unknown record', schema: Problem } },
      async handler({ principal, params }) {
        const r = await archive.get(principal!, params.id);
        const batch = r.batchId ? await archive.batch(r.batchId) : null;
        return {
          ...toView(r),
          evidence: batch
            ? { batchId: batch.id, hashAlgorithm: batch.hashAlgorithm, root: batch.root, batchSize: batch.size, path: r.evidencePath, timestamps: batch.timestamps }
            : null,
          reverifications: await archive.reverifications(r.id),
        };
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/archive/records/{id}/evidence',
      operationId: 'getArchiveEvidenceRecord',
      summary: "The record's RFC 4998 EvidenceRecord (DER).",
      tags: ['archive'],
      access: ['archivist', 'admin'],
      params: IdParams,
      responses: { 200: { description: 'EvidenceRecord DER', contentType: 'application/octet-stream' }, 404: { description: 'Unknown record', schema: Problem }, 409: { description: 'No archive timestamp yet', schema: Problem } },
      async handler({ principal, params, res }) {
        const r = await archive.get(principal!, params.id);
        const der = await archive.evidenceRecord(r);
        res.setHeader('Content-Disposition', `attachment; filename="${r.id}.ers"`);
        res.type('application/octet-stream').send(der);
      },
    }),
    route<unknown, Static<typeof PackageQuery>, { id: string }>({
      method: 'get',
      path: '/v1/archive/records/{id}/package',
      operationId: 'exportArchivePackage',
      summary: 'The self-contained package (ZIP): file, metadata, validation report, evidence record, TSA chain, DA/T 48 EEP signed with a seal of the agency.',
      tags: ['archive'],
      access: ['archivist', 'admin'],
      params: IdParams,
      query: PackageQuery,
      responses: {
        200: { description: 'The package', contentType: 'application/zip' },
        404: { description: 'Unknown record', schema: Problem },
        409: { description: 'No archive timestamp yet, or no active seal to sign the EEP', schema: Problem },
      },
      async handler({ principal, params, query, res }) {
        const p = await archive.exportPackage(principal!, params.id, query.sealId);
        res.setHeader('Content-Disposition', `attachment; filename="${p.fileName}"`);
        res.type('application/zip').send(p.zip);
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'post',
      path: '/v1/archive/records/{id}/reverify',
      operationId: 'reverifyArchiveRecord',
      summary: 'Runs the verification engine on the archived file again and stores the new report beside the filing report.',
      tags: ['archive'],
      access: ['archivist', 'admin'],
      params: IdParams,
      responses: { 200: { description: 'The new report', schema: RecordView }, 404: { description: 'Unknown record', schema: Problem } },
      async handler({ principal, params }) {
        return archive.reverify(principal!, params.id);
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/archive/batches/{id}',
      operationId: 'getArchiveBatch',
      summary: 'A batch: hash-tree root and its archive timestamp chain (tokens base64).',
      tags: ['archive'],
      access: ['archivist', 'admin'],
      params: BatchParams,
      responses: { 200: { description: 'The batch', schema: RecordView }, 404: { description: 'Unknown batch', schema: Problem } },
      async handler({ params }) {
        // Batches hold only hashes and timestamps of many agencies' records: nothing agency-private.
        return archive.batch(params.id);
      },
    }),
    route<Static<typeof ReasonBody>, unknown, { id: string }>({
      method: 'post',
      path: '/v1/archive/records/{id}/hold',
      operationId: 'holdArchiveRecord',
      summary: 'Puts the record under a legal hold (no disposal until released); logged.',
      tags: ['archive'],
      access: ['admin'],
      params: IdParams,
      body: { schema: ReasonBody, limit: 4096 },
      responses: { 200: { description: 'The record', schema: RecordView }, 403: { description: "Another agency's record", schema: Problem }, 404: { description: 'Unknown record', schema: Problem } },
      async handler({ principal, params, body }) {
        return archive.setLegalHold(principal!, params.id, body.reason);
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'post',
      path: '/v1/archive/records/{id}/release-hold',
      operationId: 'releaseArchiveHold',
      summary: 'Releases the legal hold; logged.',
      tags: ['archive'],
      access: ['admin'],
      params: IdParams,
      responses: { 200: { description: 'The record', schema: RecordView }, 404: { description: 'Unknown record', schema: Problem } },
      async handler({ principal, params }) {
        return archive.setLegalHold(principal!, params.id, null);
      },
    }),
    route<Static<typeof ReasonBody>, unknown, { id: string }>({
      method: 'post',
      path: '/v1/archive/records/{id}/dispose',
      operationId: 'disposeArchiveRecord',
      summary:
        'Disposes of a record after its retention period (DA/T 22: from 1 January after its year; never for permanent records), with an admin\'s ' +
        'approval (the caller), never under a legal hold. The file is erased; a logged tombstone remains.',
      tags: ['archive'],
      access: ['admin'],
      params: IdParams,
      body: { schema: ReasonBody, limit: 4096 },
      responses: {
        200: { description: 'The tombstone', schema: RecordView },
        409: { description: 'ARCHIVE_RETENTION_NOT_ELAPSED or ARCHIVE_LEGAL_HOLD', schema: Problem },
        410: { description: 'Already disposed of', schema: Problem },
      },
      async handler({ principal, params, body }) {
        return archive.dispose(principal!, params.id, body.reason);
      },
    }),
    route<Static<typeof RenewBody> | undefined>({
      method: 'post',
      path: '/v1/archive/evidence/renew',
      operationId: 'renewArchiveEvidence',
      summary:
        'RFC 4998 timestamp renewal: a new archive timestamp over the previous one, for the batches named, or for every batch whose newest TSA ' +
        'certificate expires within ESEAL_ARCHIVE_RENEW_BEFORE_DAYS. Old evidence stays verifiable.',
      tags: ['archive'],
      access: ['admin'],
      body: { schema: RenewBody, limit: 64 * 1024, optional: true },
      responses: { 200: { description: 'The batches renewed', schema: RecordView }, 403: { description: 'Platform admins only', schema: Problem }, 404: { description: 'Unknown batch', schema: Problem } },
      async handler({ principal, body }) {
        return archive.renew(principal!, body?.batchIds);
      },
    }),
  ];
}
