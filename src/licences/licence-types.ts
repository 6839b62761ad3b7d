import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { isValidCreditCode } from '../identifiers';
import type { FieldError } from '../errors';
import type { LicenceType } from './types';

/**
 * Licence types are data: one JSON file per type in schemas/licence-types/. Each file is checked
 * against TYPE_FILE_SCHEMA when loaded and its face-data JSON Schema (draft 2020-12) compiled
 * with Ajv; a bad file stops the start with a message naming the file. Adding a type needs no code.
 */
export const DEFAULT_LICENCE_TYPES_DIR = path.resolve(__dirname, '../../schemas/licence-types');

const num = { type: 'number', minimum: 0, maximum: 5000 };
const TYPE_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'typeCode', 'definingAuthority', 'schema', 'layout', 'validity', 'holderCodeTypes'],
  properties: {
    $comment: { type: 'string' },
    id: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,62}$' },
    name: { type: 'string', minLength: 1, maxLength: 60 },
    typeCode: { type: 'string', pattern: '^[0-9A-Z]{18}[0-9]{3}$' },
    definingAuthority: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'creditCode'],
      properties: { name: { type: 'string', minLength: 1 }, creditCode: { type: 'string', pattern: '^[0-9A-Z]{18}$' } },
    },
    schema: { type: 'object' },
    holderCodeTypes: { type: 'array', minItems: 1, items: { type: 'string', enum: ['001', '111', '414', '511'] } },
    validity: {
      type: 'object',
      additionalProperties: false,
      required: ['requiresValidUntil'],
      properties: { requiresValidUntil: { type: 'boolean' }, maxDays: { type: 'integer', minimum: 1, maximum: 36500 } },
    },
    layout: {
      type: 'object',
      additionalProperties: false,
      required: ['page', 'title', 'fields', 'seal', 'qr'],
      properties: {
        page: { type: 'object', additionalProperties: false, required: ['width', 'height'], properties: { width: num, height: num } },
        title: {
          type: 'object',
          additionalProperties: false,
          required: ['text', 'x', 'y', 'fontSize'],
          properties: { text: { type: 'string' }, x: num, y: num, fontSize: { type: 'number', minimum: 4, maximum: 96 } },
        },
        fields: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['key', 'label', 'x', 'y'],
            properties: { key: { type: 'string', minLength: 1 }, label: { type: 'string' }, x: num, y: num, width: num, fontSize: { type: 'number', minimum: 4, maximum: 96 } },
          },
        },
        seal: { type: 'object', additionalProperties: false, required: ['x', 'y', 'size'], properties: { x: num, y: num, size: { type: 'number', minimum: 20, maximum: 400 } } },
        qr: { type: 'object', additionalProperties: false, required: ['x', 'y', 'size'], properties: { x: num, y: num, size: { type: 'number', minimum: 40, maximum: 400 } } },
      },
    },
  },
} as const;

const RESERVED_KEYS = new Set(['holder.name', 'holder.code', 'identifier', 'validFrom', 'validUntil', 'issuer.name']);

export interface LoadedLicenceType extends LicenceType {
  /** Checks face data; returns the field errors (pointers under /data). */
  check(data: unknown): FieldError[];
}

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, coerceTypes: false, useDefaults: false });
  addFormats(ajv);
  return ajv;
}

function toFieldErrors(errors: ErrorObject[] | null | undefined, base: string): FieldError[] {
  return (errors ?? []).map((e) => {
    let pointer = base + e.instancePath;
    if (e.keyword === 'required') pointer += '/' + (e.params as { missingProperty: string }).missingProperty;
    if (e.keyword === 'additionalProperties') pointer += '/' + (e.params as { additionalProperty: string }).additionalProperty;
    return { pointer, detail: e.message ?? 'is invalid', code: e.keyword.toUpperCase() };
  });
}

/** Builds a checked licence type from parsed JSON; throws with every problem listed. */
export function compileLicenceType(json: unknown, source: string): LoadedLicenceType {
  const ajv = newAjv();
  const validFile = ajv.compile(TYPE_FILE_SCHEMA);
  if (!validFile(json)) {
    throw new Error(`licence type ${source}: ${toFieldErrors(validFile.errors, '').map((e) => `${e.pointer} ${e.detail}`).join('; ')}`);
  }
  const t = json as unknown as LicenceType;
  if (!isValidCreditCode(t.definingAuthority.creditCode)) throw new Error(`licence type ${source}: definingAuthority.creditCode has a wrong check digit`);
  if (!t.typeCode.startsWith(t.definingAuthority.creditCode)) {
    throw new Error(`licence type ${source}: typeCode must be the defining authority's credit code + 3 digits (GB/T 36904)`);
  }
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(t.schema);
  } catch (e) {
    throw new Error(`licence type ${source}: schema does not compile: ${(e as Error).message}`);
  }
  const props = ((t.schema as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
  for (const f of t.layout.fields) {
    if (!RESERVED_KEYS.has(f.key) && !(f.key.split('.')[0] in props)) throw new Error(`licence type ${source}: layout field ${f.key} is not in the schema`);
  }
  return {
    ...t,
    check(data) {
      return validate(data) ? [] : toFieldErrors(validate.errors, '/data');
    },
  };
}

/** The registry of licence types, by id and by type code. */
export class LicenceTypeRegistry {
  private readonly byId = new Map<string, LoadedLicenceType>();

  constructor(types: LoadedLicenceType[]) {
    const codes = new Set<string>();
    for (const t of types) {
      if (this.byId.has(t.id)) throw new Error(`licence type id ${t.id} is defined twice`);
      if (codes.has(t.typeCode)) throw new Error(`licence type code ${t.typeCode} is defined twice`);
      this.byId.set(t.id, t);
      codes.add(t.typeCode);
    }
  }

  static load(dir: string = DEFAULT_LICENCE_TYPES_DIR): LicenceTypeRegistry {
    let files: string[];
    try {
      files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    } catch (e) {
      throw new Error(`licence types: cannot read the directory ${dir} (set ESEAL_LICENCE_TYPES_DIR): ${(e as Error).message}`);
    }
    return new LicenceTypeRegistry(
      files.map((f) => {
        let json: unknown;
        try {
          json = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
        } catch (e) {
          throw new Error(`licence type ${f}: not valid JSON (${(e as Error).message})`);
        }
        const t = compileLicenceType(json, f);
        if (`${t.id}.json` !== f) throw new Error(`licence type ${f}: id ${t.id} does not match the file name`);
        return t;
      }),
    );
  }

  get(id: string): LoadedLicenceType | undefined {
    return this.byId.get(id);
  }

  list(): LoadedLicenceType[] {
    return [...this.byId.values()];
  }
}

/** The public description of a type (no compiled validator). */
export function licenceTypeView(t: LoadedLicenceType): LicenceType {
  const { check: _c, ...rest } = t;
  return rest;
}
