import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError, type FieldError } from '../errors';

/**
 * Request validation against the same JSON Schemas that the OpenAPI document publishes.
 * Unknown fields are errors (schemas set additionalProperties: false); types are not coerced in
 * bodies, so `{"code": {"$gt": ""}}` is a type error, never an operator.
 */
const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
addFormats(ajv);
const queryAjv = new Ajv({ allErrors: true, strict: false, coerceTypes: true, useDefaults: true });
addFormats(queryAjv);

const cache = new WeakMap<object, ValidateFunction>();
const queryCache = new WeakMap<object, ValidateFunction>();

function compile(schema: object, query: boolean): ValidateFunction {
  const c = query ? queryCache : cache;
  let v = c.get(schema);
  if (!v) {
    v = (query ? queryAjv : ajv).compile(schema);
    c.set(schema, v);
  }
  return v;
}

function toFieldErrors(errors: ErrorObject[] | null | undefined, base: string): FieldError[] {
  return (errors ?? []).map((e) => {
    let pointer = base + e.instancePath;
    let detail = e.message ?? 'invalid';
    let code = 'INVALID';
    switch (e.keyword) {
      case 'required':
        pointer += '/' + (e.params as { missingProperty: string }).missingProperty;
        detail = 'is required';
        code = 'REQUIRED';
        break;
      case 'additionalProperties':
        pointer += '/' + (e.params as { additionalProperty: string }).additionalProperty;
        detail = 'is not a known field';
        code = 'UNKNOWN_FIELD';
        break;
      case 'type':
        code = 'WRONG_TYPE';
        break;
      case 'enum':
        detail = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
        code = 'NOT_ALLOWED';
        break;
      case 'maxLength':
      case 'minLength':
      case 'maxItems':
      case 'minItems':
      case 'minimum':
      case 'maximum':
        code = 'OUT_OF_RANGE';
        break;
      case 'pattern':
      case 'format':
        code = 'BAD_FORMAT';
        break;
    }
    return { pointer: pointer || '/', detail, code };
  });
}

export function validateBody<T>(schema: object, body: unknown): T {
  const v = compile(schema, false);
  if (!v(body)) throw new ValidationError('The request body did not pass validation', toFieldErrors(v.errors, ''));
  return body as T;
}

/** Query strings are coerced (they are all strings on the wire) and get defaults. */
export function validateQuery<T>(schema: object, query: unknown): T {
  const copy = { ...(query as object) };
  const v = compile(schema, true);
  if (!v(copy)) {
    throw new ValidationError('A query parameter is invalid', toFieldErrors(v.errors, ''), 'INVALID_QUERY');
  }
  return copy as T;
}
