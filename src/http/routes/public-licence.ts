import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Request, Response } from 'express';
import { AppError } from '../../errors';
import type { PublicLicenceView, PublicLicenceViewer } from '../../licences/types';
import { esc } from '../../verify/html';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';
import { TokenBuckets } from './verifications';

/**
 * The page a licence's QR code opens: GET /v/{token} (docs/licence-rendering.md "The public
 * page"). No API key — whoever holds the printed licence (a bank clerk, a customer, an inspector)
 * scans it and reads whether it is genuine and what its status is NOW (valid, suspended,
 * revoked, expired), with the licence name, issuer, validity, the holder's name partly masked
 * (masking is LicenceService.publicView's job) and the issuing agency's seal image.
 *
 * - HTML for browsers (Chinese labels, inline CSS, no script, strict CSP); JSON with
 *   Accept: application/json (preferred order: HTML, then JSON; 406 when neither is acceptable).
 * - A token that is malformed or whose signature does not verify (publicView → null) is NOT
 *   genuine: 404 in both representations — problem+json LICENCE_NOT_GENUINE for JSON, an HTML
 *   page that says so in words for a browser (browsers show a 404's body like any page).
 * - Rate-limited per client address (token bucket, shared implementation with POST /verify):
 *   the page reveals a status for any token, so it must not serve as a fast oracle. 429 with
 *   Retry-After.
 * - Never cached (the status changes) and never indexed; no Referer leaves the page (the token
 *   is in its URL).
 */

export const PUBLIC_LICENCE_LIMITS = { burst: 30, perMinute: 30, trackedClients: 10_000 };

/** Longest token looked at: a compact JWS of a few claims is far shorter. */
export const MAX_TOKEN_LENGTH = 4096;
/** A compact JWS: three base64url parts (the QR token format of src/licences). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;
const SEAL_ID_SHAPE = /^[A-Za-z0-9_-]{1,100}$/;

const STATUS_TEXT: Record<PublicLicenceView['status'], { headline: string; detail: string; cls: string }> = {
  valid: { headline: '真实有效', detail: '该证照由发证机关签发，当前有效。', cls: 'ok' },
  suspended: { headline: '已暂停', detail: '该证照由发证机关签发，但目前已被暂停使用，暂停期间不能作为有效证照使用。', cls: 'warn' },
  revoked: { headline: '已撤销', detail: '该证照由发证机关签发，但已被撤销（注销、吊销），不再有效。', cls: 'bad' },
  expired: { headline: '已过期', detail: '该证照由发证机关签发，但已超过有效期，不再有效。', cls: 'bad' },
  unknown: { headline: '状态未知', detail: '该证照由发证机关签发，但当前无法确认其状态，请稍后重试或向发证机关核实。', cls: 'warn' },
};

/** The revocation reason codes of LicenceService (LICENCE_REVOCATION_REASONS), in words; others are shown as given. */
const REASON_TEXT: Record<string, string> = {
  'revoked-by-issuer': '发证机关依法撤销',
  'holder-request': '持证主体申请注销',
  'obtained-fraudulently': '以欺骗等不正当手段取得，依法撤销',
  'holder-dissolved': '持证主体已终止',
  'error-in-issuance': '发证有误，予以撤销',
  superseded: '已换发新版证照，本版本不再使用',
};

const CSS = `
:root{--ok:#1b5e20;--okbg:#e8f5e9;--bad:#b71c1c;--badbg:#ffebee;--warn:#8a5a00;--warnbg:#fff8e1;--line:#ddd}
*{box-sizing:border-box}
body{margin:0;font:16px/1.6 "Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;color:#222;background:#f6f6f6}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.25rem;margin:.5rem 0 1rem}
.verdict{border-radius:.5rem;padding:1rem;margin-bottom:1rem;border:1px solid var(--line)}
.verdict strong{display:block;font-size:1.5rem}
.ok{background:var(--okbg);color:var(--ok)}.bad{background:var(--badbg);color:var(--bad)}.warn{background:var(--warnbg);color:var(--warn)}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;vertical-align:top;padding:.5rem;border-bottom:1px solid var(--line)}
th{width:7.5em;color:#555;font-weight:normal;white-space:nowrap}
td{word-break:break-all}
.seal{text-align:center;margin:1rem 0}.seal img{width:120px;height:120px}
footer{color:#666;font-size:.85rem;margin-top:1rem}
`;

function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

/** Only the page's own inline style and same-origin images (the seal); no script at all. */
export const LICENCE_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${hashSource(CSS)}`,
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow"><meta name="referrer" content="no-referrer">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>${body}
<footer>本页面由电子证照系统根据证照二维码即时生成，核验时间为页面所示时间；如有疑问请向发证机关核实。</footer>
</main></body></html>`;
}

function row(label: string, valueHtml: string): string {
  return `<tr><th scope="row">${esc(label)}</th><td>${valueHtml}</td></tr>`;
}

/** "2025-05-22" or an ISO date-time → "2025年05月22日" (China Standard Time); anything else as given. */
function day(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (m) return `${m[1]}年${m[2]}月${m[3]}日`;
  const t = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(t)) {
    const iso = new Date(t + 8 * 3600 * 1000).toISOString();
    return `${iso.slice(0, 4)}年${iso.slice(5, 7)}月${iso.slice(8, 10)}日`;
  }
  return value;
}

function time(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) return value;
  const iso = new Date(t + 8 * 3600 * 1000).toISOString();
  return `${day(value)} ${iso.slice(11, 19)}（北京时间）`;
}

export function renderLicencePage(view: PublicLicenceView): string {
  const s = view.genuine
    ? STATUS_TEXT[view.status] ?? STATUS_TEXT.unknown
    : { headline: '未通过核验', detail: '该证照的信息与发证机关的记录不符，不能作为证照使用。', cls: 'bad' };
  const status = view.genuine ? view.status : 'not-genuine';
  // The agency's seal is shown only beside a genuine licence: it vouches for nothing else.
  const seal = view.genuine && view.sealId && SEAL_ID_SHAPE.test(view.sealId)
    ? `<div class="seal"><img src="/verify/seals/${encodeURIComponent(view.sealId)}/image" alt="发证机关电子印章" width="120" height="120"></div>`
    : '';
  const rows = [
    row('证照名称', esc(view.licenceName)),
    row('证照标识', `<code>${esc(view.identifier)}</code>`),
    row('持证主体', esc(view.holderName)),
    row('发证机关', `${esc(view.issuer?.name)}<br><small>统一社会信用代码 ${esc(view.issuer?.creditCode)}</small>`),
    row('有效期', `${esc(day(view.validFrom))} 至 ${view.validUntil ? esc(day(view.validUntil)) : '长期'}`),
    row('当前状态', `<span id="status" data-status="${esc(status)}">${esc(s.headline)}</span>`),
    ...(view.revocationReason ? [row('撤销原因', esc(Object.hasOwn(REASON_TEXT, view.revocationReason) ? REASON_TEXT[view.revocationReason] : view.revocationReason))] : []),
    row('核验时间', esc(time(view.checkedAt))),
  ];
  return page(
    `电子证照核验：${s.headline}`,
    `<h1>电子证照核验</h1>
<section class="verdict ${s.cls}" id="verdict" data-genuine="${view.genuine ? 'true' : 'false'}" data-status="${esc(status)}"><strong>${esc(s.headline)}</strong>${esc(s.detail)}</section>
${seal}<table>${rows.join('')}</table>`,
  );
}

export function renderNotGenuinePage(): string {
  return page(
    '电子证照核验：未通过核验',
    `<h1>电子证照核验</h1>
<section class="verdict bad" id="verdict" data-genuine="false" data-status="not-genuine"><strong>未通过核验</strong>该二维码不是本系统签发的电子证照，或其内容已被篡改：请勿将其作为有效证照使用，并向出示者或发证机关核实。</section>
<p>二维码中的核验信息无法通过发证机关的签名验证。</p>`,
  );
}

/** The view's shape for the OpenAPI document (src/licences/types.ts is the source of truth). */
export const PublicLicenceViewSchema = Type.Object(
  {
    genuine: Type.Boolean(),
    status: Type.String({ enum: ['valid', 'suspended', 'revoked', 'expired', 'unknown'] }),
    licenceName: Type.String(),
    typeCode: Type.String(),
    identifier: Type.String({ description: 'GB/T 36904 e-licence identifier' }),
    issuer: Type.Object({ name: Type.String(), creditCode: Type.String() }),
    holderName: Type.String({ description: 'Partly masked, e.g. 张*明' }),
    validFrom: Type.String(),
    validUntil: Type.Union([Type.String(), Type.Null()]),
    sealId: Type.Optional(Type.String()),
    revocationReason: Type.Optional(Type.String()),
    checkedAt: Type.String({ format: 'date-time' }),
  },
  { description: 'What the QR page shows about a licence (docs/licence-rendering.md)' },
);

function negotiate(req: Request): 'html' | 'json' {
  const pick = req.accepts(['text/html', 'application/json']);
  if (pick === false) throw new AppError('NOT_ACCEPTABLE', 'Ask for text/html or application/json');
  return pick === 'application/json' ? 'json' : 'html';
}

function commonHeaders(res: Response): void {
  // The status can change at any moment: no cache may keep an answer.
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Vary', 'Accept');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Robots-Tag', 'noindex, nofollow');
}

export function publicLicenceRoutes(
  deps: PublicLicenceViewer,
  opts: { limits?: Partial<typeof PUBLIC_LICENCE_LIMITS>; now?: () => number } = {},
): RouteSpec[] {
  const limits = { ...PUBLIC_LICENCE_LIMITS, ...opts.limits };
  const buckets = new TokenBuckets({ capacity: limits.burst, refillPerSecond: limits.perMinute / 60, maxKeys: limits.trackedClients }, opts.now ?? Date.now);
  return [
    route<unknown, unknown, { token: string }>({
      method: 'get',
      path: '/v/{token}',
      operationId: 'publicLicencePage',
      summary:
        "The page a licence's QR code opens: whether the licence is genuine and its current status (valid, suspended, revoked, expired), " +
        'licence name, issuer, validity, the holder partly masked, and the seal image. HTML by default, JSON with Accept: application/json. ' +
        `No key; rate-limited per client address (${limits.burst} at once, then ${limits.perMinute} a minute). A token that does not verify → 404 ` +
        '(LICENCE_NOT_GENUINE; the HTML page says "未通过核验").',
      tags: ['licences'],
      access: 'public',
      // Any string: a token that is not a well-formed JWS is answered "not genuine" (404), not 400.
      params: Type.Object({ token: Type.String({ description: 'The QR token: a compact JWS signed with the issuing agency’s seal key' }) }),
      responses: {
        200: { description: 'A licence issued here: the page (text/html) or its view (application/json)', schema: PublicLicenceViewSchema },
        404: { description: 'Not genuine: a malformed token or one whose signature does not verify (code LICENCE_NOT_GENUINE)', schema: Problem },
        406: { description: 'Neither text/html nor application/json is acceptable', schema: Problem },
        429: { description: 'Too many lookups from this address (code RATE_LIMITED, Retry-After)', schema: Problem },
      },
      async handler({ req, res, params, log }) {
        const as = negotiate(req);
        const taken = buckets.take(req.ip ?? req.socket.remoteAddress ?? 'unknown');
        if (!taken.ok) {
          res.setHeader('Retry-After', String(taken.retryAfterSeconds));
          throw new AppError('RATE_LIMITED', `Too many licence checks from this address; retry in ${taken.retryAfterSeconds} s`, { status: 429 });
        }
        const token = params.token;
        const view = token.length <= MAX_TOKEN_LENGTH && TOKEN_SHAPE.test(token) ? await deps.publicView(token) : null;
        commonHeaders(res);
        // Who looked is not recorded (the page is public); what was shown is, without the token.
        log.info({ genuine: view?.genuine ?? false, status: view?.status, identifier: view?.identifier }, 'licence QR page');
        if (!view) {
          if (as === 'json') throw new AppError('LICENCE_NOT_GENUINE', 'This QR token was not issued by this service, or it was altered');
          res.setHeader('Content-Security-Policy', LICENCE_PAGE_CSP);
          res.status(404).type('text/html; charset=utf-8').send(renderNotGenuinePage());
          return;
        }
        if (as === 'json') {
          res.status(200).json(view);
          return;
        }
        res.setHeader('Content-Security-Policy', LICENCE_PAGE_CSP);
        // genuine=false: a token we signed whose licence is not (or no longer) on record — the
        // view's fields are then empty, and the page says only that it is not genuine.
        res.status(200).type('text/html; charset=utf-8').send(view.genuine ? renderLicencePage(view) : renderNotGenuinePage());
      },
    }),
  ];
}
