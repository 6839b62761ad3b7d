import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, ERROR_CODES, problemType } from '../errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  requestId?: string;
  errors?: { pointer: string; detail: string; code?: string }[];
  [k: string]: unknown;
}

export function toProblem(err: AppError, requestId?: string, instance?: string): ProblemBody {
  const entry = (ERROR_CODES as Record<string, { title: string }>)[err.code];
  const body: ProblemBody = {
    type: problemType(err.code),
    title: entry?.title ?? err.code,
    status: err.status,
    detail: err.message,
    code: err.code,
  };
  if (instance) body.instance = instance;
  if (requestId) body.requestId = requestId;
  if (err.errors?.length) body.errors = err.errors;
  if (err.details) Object.assign(body, { details: err.details });
  return body;
}

export function sendProblem(res: Response, err: AppError): void {
  const requestId = res.locals.requestId as string | undefined;
  res.status(err.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(toProblem(err, requestId, res.req.originalUrl)));
}

/** Errors raised by body-parser / raw-body carry a `type`; map them to our codes. */
function fromBodyParser(e: { type?: string; status?: number; limit?: number; message?: string }): AppError | null {
  switch (e.type) {
    case 'entity.parse.failed':
      return new AppError('MALFORMED_JSON', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${e.limit} bytes for this route`, {
        details: { limit: e.limit },
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported content encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError('VALIDATION_FAILED', 'The request body could not be read');
    default:
      return null;
  }
}

/**
 * The one mapper from errors to RFC 9457 problem+json. Unknown errors become a 500 with no
 * detail; they are logged with the request id so that an operator can find them.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let appErr: AppError;
    if (err instanceof AppError) appErr = err;
    else if (err && typeof err === 'object' && fromBodyParser(err)) appErr = fromBodyParser(err)!;
    else {
      const log = (res.locals.log as Logger | undefined) ?? logger;
      log.error({ err }, 'unhandled error');
      appErr = new AppError('INTERNAL', 'An internal error occurred; quote the request id when reporting it');
    }
    if (appErr.status >= 500 && appErr.code !== 'INTERNAL') {
      ((res.locals.log as Logger | undefined) ?? logger).warn({ code: appErr.code, err: appErr.cause ?? appErr }, appErr.message);
    }
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    sendProblem(res, appErr);
  };
}
