import { createHash } from 'node:crypto';
import type { Check, CheckGroup, DocumentChange, Indication, LicenceReport, SignatureReport, VerificationReport } from './report';

/**
 * The verification report as a person reads it: a complete, self-contained HTML page (inline
 * CSS, no external assets, no script), and the drop-a-PDF page at GET /verify.
 *
 * Everything in a report that came from the document — subject and issuer names, field names,
 * reasons, change descriptions — is attacker-controlled. Every value goes through esc(), which
 * escapes HTML and also makes invisible and bidirectional-override characters visible (a
 * subject "CN=\u202Egpj.exe" must not display as something else), and bounds its length.
 * The routes that serve these pages also send a strict Content-Security-Policy (see
 * REPORT_CSP / VERIFY_PAGE_CSP): no script may run on a report page at all.
 */

/** Longest string shown from a report; the JSON report carries the full value. */
const MAX_SHOWN = 2000;

/** C0/C1 controls (but tab/newline), zero-width and bidi-control characters, and unpaired surrogates. */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** HTML-escapes a value from the report for text and attribute (double-quoted) contexts. */
export function esc(value: unknown, max = MAX_SHOWN): string {
  let s = value === undefined || value === null ? '' : String(value);
  if (s.length > max) s = s.slice(0, max) + '…';
  s = s.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`);
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Only a same-origin path ("/v1/…", not "//host") or an http(s) URL may become an <img src>;
 * anything else (javascript:, data:, relative tricks) is not rendered.
 */
function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  if (/^\/(?![/\\])[\x21-\x7e]*$/.test(url)) return url;
  if (/^https?:\/\/[\x21-\x7e]+$/i.test(url)) return url;
  return undefined;
}

const INDICATION_TEXT: Record<Indication, string> = {
  TOTAL_PASSED: 'Valid: every signature verified',
  TOTAL_FAILED: 'Invalid: the document or a signature failed verification',
  INDETERMINATE: 'Indeterminate: a signature could not be fully verified',
};

const CLASS: Record<Indication, string> = { TOTAL_PASSED: 'passed', TOTAL_FAILED: 'failed', INDETERMINATE: 'indeterminate' };

const GROUPS: { group: CheckGroup; title: string }[] = [
  { group: 'format', title: 'Format' },
  { group: 'integrity', title: 'Integrity' },
  { group: 'trust', title: 'Trust (certificate chain)' },
  { group: 'revocation', title: 'Revocation' },
  { group: 'time', title: 'Time' },
];

export const REPORT_CSS = `
:root{--ok:#1b5e20;--okbg:#e8f5e9;--bad:#b71c1c;--badbg:#ffebee;--ind:#8a5a00;--indbg:#fff8e1;--line:#ddd}
*{box-sizing:border-box}
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222;background:#fafafa;line-height:1.45}
header.top{background:#b71c1c;color:#fff;padding:.8rem 2rem}header.top h1{margin:0;font-size:1.3rem}header.top a{color:#fff}
main{padding:1rem 2rem;max-width:72rem}
.banner{border-radius:6px;padding:1rem 1.2rem;margin:1rem 0;border:2px solid}
.banner .ind{font-size:1.8rem;font-weight:700;letter-spacing:.02em;font-family:ui-monospace,monospace}
.banner p{margin:.3rem 0 0}
.passed{color:var(--ok);background:var(--okbg);border-color:var(--ok)}
.failed{color:var(--bad);background:var(--badbg);border-color:var(--bad)}
.indeterminate{color:var(--ind);background:var(--indbg);border-color:var(--ind)}
.badge{display:inline-block;border:1px solid;border-radius:4px;padding:0 .4em;font-family:ui-monospace,monospace;font-weight:600}
section.sig{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.8rem 1.2rem;margin:1rem 0}
section.sig h2{font-size:1.15rem;margin:.2rem 0 .6rem}
h3{font-size:1rem;margin:1rem 0 .4rem}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f3f3;font-weight:600;width:14rem}
table.list th{width:auto}
td.r-passed{color:var(--ok)}td.r-failed{color:var(--bad);font-weight:700}td.r-indeterminate{color:var(--ind);font-weight:600}td.r-warning{color:var(--ind)}td.r-skipped{color:#777}
.allowed{color:var(--ok)}.disallowed{color:var(--bad);font-weight:700}
.seal{display:flex;gap:1rem;align-items:center}.seal img{width:96px;height:96px}
.muted{color:#666;font-size:.9em}
code,pre{font-family:ui-monospace,monospace}pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.8em;max-height:30rem}
form.upload{background:#fff;border:1px solid var(--line);border-radius:6px;padding:1rem 1.2rem}
.drop{display:block;border:2px dashed #999;border-radius:8px;padding:2rem;text-align:center;background:#fff;cursor:pointer}
.drop.over{border-color:#b71c1c;background:#fff5f5}
.drop input{display:block;margin:.8rem auto 0}
button{font-size:1rem;padding:.4rem 1.2rem;margin-top:.8rem;cursor:pointer}
.error{color:var(--bad);font-weight:600}
`;

/** CSP hash source of an inline element's text (CSP Level 3 §8.4). */
function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The policy a report page is served with: nothing but its own inline style (by hash) and
 * same-origin images (the seal image); no script, no forms, no framing, no base.
 */
export const REPORT_CSP = [
  "default-src 'none'",
  `style-src ${hashSource(REPORT_CSS)}`,
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function row(label: string, valueHtml: string): string {
  return `<tr><th scope="row">${esc(label)}</th><td>${valueHtml}</td></tr>`;
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

function indicationHtml(indication: Indication, sub?: string): string {
  return `<span class="badge ${CLASS[indication]}">${esc(indication)}</span>${sub ? ` <span class="badge">${esc(sub)}</span>` : ''}`;
}

function checksHtml(checks: Check[], headingLevel: 'h3' | 'h4'): string {
  if (checks.length === 0) return '<p class="muted">No checks.</p>';
  const known = new Set(GROUPS.map((g) => g.group));
  const groups = [...GROUPS];
  // A group the report model may add later is still shown, after the known ones.
  for (const c of checks) {
    if (known.has(c.group)) continue;
    known.add(c.group);
    groups.push({ group: c.group, title: String(c.group) });
  }
  let html = '';
  for (const g of groups) {
    const list = checks.filter((c) => c.group === g.group);
    if (list.length === 0) continue;
    html += `<${headingLevel}>${esc(g.title)}</${headingLevel}><table class="list checks" data-group="${esc(g.group)}"><thead><tr><th>Check</th><th>Result</th><th>Reason</th><th>Code</th></tr></thead><tbody>`;
    for (const c of list) {
      html += `<tr><td><code>${esc(c.name)}</code></td><td class="r-${esc(c.result)}">${esc(c.result)}</td><td>${esc(c.reason)}</td><td>${c.code ? `<code>${esc(c.code)}</code>` : ''}</td></tr>`;
    }
    html += '</tbody></table>';
  }
  return html;
}

function changesHtml(changes: DocumentChange[]): string {
  if (changes.length === 0) return '';
  let html =
    '<table class="list changes"><thead><tr><th>Revision</th><th>Change</th><th>Object</th><th>Page</th><th>Allowed</th><th>Description</th></tr></thead><tbody>';
  for (const c of changes) {
    html +=
      `<tr><td>${esc(c.revision)}</td><td><code>${esc(c.kind)}</code></td><td>${esc(c.object)}</td><td>${esc(c.page)}</td>` +
      `<td class="${c.allowed ? 'allowed' : 'disallowed'}">${c.allowed ? 'allowed' : 'disallowed'}</td><td>${esc(c.description)}</td></tr>`;
  }
  return html + '</tbody></table>';
}

const KIND_TEXT: Record<VerificationReport['document']['kind'], string> = {
  pdf: 'PDF',
  'ses-detached': 'GB/T 38540 electronic signature (SES) and its content',
  'cades-detached': 'Detached CAdES signature and its content',
  'licence-credential': 'E-licence credential (VC JWS)',
  'licence-token': 'E-licence QR token (JWS)',
};

const LICENCE_STATUS_TEXT: Record<LicenceReport['status'], string> = {
  valid: '有效 valid',
  suspended: '暂停 suspended',
  revoked: '已注销 revoked',
  expired: '已过期 expired',
  unknown: '未知 not a licence we issued',
};

/** The licence's current status, beside (not inside) the signature verdict. */
function licenceHtml(l: LicenceReport): string {
  let html = '<h2>E-licence</h2><table class="document">';
  html += row('Status', `<strong class="${l.status === 'valid' ? 'passed' : l.status === 'unknown' ? 'indeterminate' : 'failed'}">${esc(LICENCE_STATUS_TEXT[l.status])}</strong>`);
  if (l.licenceName) html += row('Licence', esc(l.licenceName));
  if (l.identifier) html += row('Identifier', `<code>${esc(l.identifier)}</code>`);
  if (l.issuer) html += row('Issuer', `${esc(l.issuer.name)} (${esc(l.issuer.creditCode)})`);
  if (l.holderName) html += row('Holder', esc(l.holderName));
  if (l.validFrom) html += row('Valid', `${esc(l.validFrom)} – ${l.validUntil ? esc(l.validUntil) : 'no end date'}`);
  if (l.revocationReason) html += row('Revocation reason', esc(l.revocationReason));
  html += row('Presented as', esc(l.source));
  if (l.source !== 'pdf') html += row('Signature', l.signatureValid ? 'valid' : `not valid (${esc(l.problem ?? 'unknown')})`);
  html += row('Checked at', esc(l.checkedAt));
  return html + '</table>';
}

function signatureHtml(s: SignatureReport, n: number): string {
  const typeText = [s.type, s.format, s.subFilter].filter(Boolean).join(' · ');
  let html = `<section class="sig" data-indication="${esc(s.indication)}" data-signature-id="${esc(s.id)}">`;
  html += `<h2>Signature ${n}: <code>${esc(s.id)}</code></h2>`;
  html += `<p>${indicationHtml(s.indication, s.subIndication)} <span class="muted">${esc(typeText)}</span></p>`;

  html += '<h3>Signer</h3>';
  if (s.signer) {
    const g = s.signer;
    const img = safeUrl(g.seal?.imageUrl);
    if (g.seal) {
      html += `<div class="seal">${img ? `<img src="${esc(img)}" alt="Seal image of ${esc(g.seal.name)}" width="96" height="96">` : ''}<div>Seal <strong>${esc(
        g.seal.name,
      )}</strong> <code>${esc(g.seal.id)}</code> of agency <code>${esc(g.seal.agencyCode)}</code><br><span class="muted">issued by this service</span></div></div>`;
    }
    html += '<table class="signer">';
    html += row('Subject', esc(g.subject));
    if (g.agency?.name !== undefined) html += row('Agency', esc(g.agency.name));
    if (g.agency?.creditCode !== undefined) html += row('Unified social credit code', `<code>${esc(g.agency.creditCode)}</code>`);
    html += row('Issuer', esc(g.issuer));
    html += row('Serial number', `<code>${esc(g.serialNumber)}</code>`);
    html += row('Certificate valid', `${esc(g.notBefore)} – ${esc(g.notAfter)}`);
    html += '</table>';
  } else {
    html += '<p class="muted">No signing certificate could be identified.</p>';
  }

  html += '<h3>Time</h3><table class="time">';
  html += row('Claimed signing time', s.signingTime ? `${esc(s.signingTime)} <span class="muted">(claimed by the signer; not proof)</span>` : '<span class="muted">none</span>');
  if (s.timestamp) {
    const t = s.timestamp;
    html += row(
      'Proven time (time-stamp)',
      `${esc(t.time)} <span class="${t.valid ? 'allowed' : 'disallowed'}">${t.valid ? 'valid' : 'NOT valid'}</span><br><span class="muted">TSA ${esc(t.tsa)}, serial <code>${esc(
        t.serialNumber,
      )}</code></span>`,
    );
  } else {
    html += row('Proven time (time-stamp)', '<span class="muted">none</span>');
  }
  html += row('Validated at', esc(s.bestSignatureTime));
  html += '</table>';

  html += '<h3>Scope</h3><table class="scope">';
  html += row('Level', s.level ? `<code>${esc(s.level)}</code>` : '<span class="muted">not even B-B</span>');
  html += row('Coverage', `<code>${esc(s.coverage)}</code>`);
  if (s.revision !== undefined) html += row('Revision signed', esc(s.revision));
  if (s.byteRange) html += row('Byte range', `<code>${esc(s.byteRange.join(' '))}</code>`);
  const disallowed = s.changes.filter((c) => !c.allowed).length;
  html += row(
    'Modified after signing',
    s.modifiedAfterSigning
      ? `<span class="${disallowed ? 'disallowed' : 'allowed'}">yes</span> — ${esc(s.changes.length)} change(s), ${esc(disallowed)} disallowed`
      : 'no',
  );
  html += '</table>';
  if (s.changes.length) html += `<h3>Changes after signing</h3>${changesHtml(s.changes)}`;

  html += `<h3>Checks</h3>${checksHtml(s.checks, 'h4')}`;
  return html + '</section>';
}

/** The report as an HTML fragment: `<section id="report">…</section>`; the page embeds it. */
export function renderReportSection(report: VerificationReport): string {
  const cls = CLASS[report.indication] ?? 'indeterminate';
  let html = `<section id="report" data-indication="${esc(report.indication)}">`;
  html += `<div class="banner ${cls}" role="status"><div class="ind" id="indication">${esc(report.indication)}</div>`;
  html += `<p>${esc(INDICATION_TEXT[report.indication] ?? '')}${report.subIndication ? ` — <code>${esc(report.subIndication)}</code>` : ''}</p>`;
  html += `<p class="muted">${esc(report.signatures.length)} signature(s) · validated ${esc(report.validationTime)}</p></div>`;

  html += '<h2>Document</h2><table class="document">';
  html += row(
    'Kind',
    esc(KIND_TEXT[report.document.kind]),
  );
  html += row('Size', `${esc(report.document.size)} bytes`);
  html += row('SHA-256', `<code>${esc(report.document.sha256)}</code>`);
  if (report.document.revisions !== undefined) html += row('Revisions', esc(report.document.revisions));
  html += row('Revocation checking', esc(report.policy.revocation));
  html += row('Trust anchors', report.policy.trustAnchors.length ? report.policy.trustAnchors.map((a) => esc(a)).join('<br>') : '<span class="muted">none</span>');
  html += '</table>';
  if (report.licence) html += licenceHtml(report.licence);
  if (report.checks.length) html += `<h2>Document checks</h2>${checksHtml(report.checks, 'h3')}`;

  if (report.signatures.length === 0) html += '<p class="muted">The document has no signatures.</p>';
  report.signatures.forEach((s, i) => (html += signatureHtml(s, i + 1)));

  html += `<details><summary>The report as JSON</summary><pre>${esc(JSON.stringify(report, null, 2), Infinity)}</pre></details>`;
  return html + '</section>';
}

export interface RenderOptions {
  /** Page title; default "Verification report". */
  title?: string;
  /** A link back to where another document can be checked (e.g. /verify). */
  backLink?: string;
}

/** A complete, self-contained HTML page for a report. Serve it with REPORT_CSP. */
export function renderReportHtml(report: VerificationReport, opts: RenderOptions = {}): string {
  const title = opts.title ?? 'Verification report';
  const back = opts.backLink && safeUrl(opts.backLink) ? ` · <a href="${esc(opts.backLink)}">Verify another document</a>` : '';
  return (
    `<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)}: ${esc(report.indication)}</title>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">` +
    `<style>${REPORT_CSS}</style></head><body>` +
    `<header class="top"><h1>eseal · ${esc(title)}</h1><span>ETSI EN 319 102-1 validation report${back}</span></header>` +
    `<main>${renderReportSection(report)}</main></body></html>`
  );
}

/**
 * The drop-a-PDF page (GET /verify). It works without script: the form posts the document (and
 * an optional detached signature) to POST /verify, which answers with the report page. With
 * script, the same request is sent by fetch() and the report is shown below the form; dropping
 * files on the drop zone fills the inputs and submits.
 */
const VERIFY_SCRIPT = `
(function(){
  var form=document.getElementById('upload'),drop=document.getElementById('drop'),doc=document.getElementById('document'),
      sig=document.getElementById('signature'),out=document.getElementById('result'),status=document.getElementById('status');
  function show(msg,cls){status.textContent=msg;status.className=cls||'';}
  function submit(){
    if(!doc.files||doc.files.length===0){show('Choose a document first.','error');return;}
    var fd=new FormData();fd.append('document',doc.files[0]);
    if(sig.files&&sig.files.length>0)fd.append('signature',sig.files[0]);
    show('Verifying '+doc.files[0].name+' …');out.textContent='';
    fetch(form.action,{method:'POST',body:fd,headers:{Accept:'text/html'},credentials:'omit'}).then(function(r){
      var ct=r.headers.get('content-type')||'';
      return r.text().then(function(t){
        if(r.ok&&ct.indexOf('text/html')===0){
          var parsed=new DOMParser().parseFromString(t,'text/html');var rep=parsed.getElementById('report');
          if(!rep){show('The service answered without a report.','error');return;}
          out.appendChild(document.importNode(rep,true));show('');
        }else{
          var detail='';try{var p=JSON.parse(t);detail=(p.code?p.code+': ':'')+(p.detail||'');}catch(e){detail='HTTP '+r.status;}
          show('Not verified: '+detail,'error');
        }
      });
    }).catch(function(){show('The service could not be reached.','error');});
  }
  form.addEventListener('submit',function(e){e.preventDefault();submit();});
  ['dragenter','dragover'].forEach(function(t){drop.addEventListener(t,function(e){e.preventDefault();drop.classList.add('over');});});
  ['dragleave','drop'].forEach(function(t){drop.addEventListener(t,function(e){e.preventDefault();drop.classList.remove('over');});});
  drop.addEventListener('drop',function(e){
    var files=e.dataTransfer&&e.dataTransfer.files;if(!files||files.length===0)return;
    var d=null,s=null;
    for(var i=0;i<files.length&&i<2;i++){if(/\\.(p7s|p7m|pem)$/i.test(files[i].name))s=files[i];else d=files[i];}
    if(!d){show('Drop the document (and optionally its .p7s signature).','error');return;}
    var dt=new DataTransfer();dt.items.add(d);doc.files=dt.files;
    var st=new DataTransfer();if(s)st.items.add(s);sig.files=st.files;
    submit();
  });
})();
`;

export const VERIFY_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${hashSource(REPORT_CSS)}`,
  `script-src ${hashSource(VERIFY_SCRIPT)}`,
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function renderVerifyPage(opts: { maxDocumentBytes: number; action?: string }): string {
  const mib = Math.floor(opts.maxDocumentBytes / 2 ** 20);
  const action = opts.action ?? '/verify';
  return (
    `<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>eseal · Verify a signed document</title>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">` +
    `<style>${REPORT_CSS}</style></head><body>` +
    `<header class="top"><h1>eseal · Verify a signed document 验证电子签章</h1></header><main>` +
    `<p>Drop a signed PDF (PAdES) here, or a file together with its detached signature (.p7s, CAdES). The report says whether every signature is valid ` +
    `(<code>TOTAL_PASSED</code>), invalid (<code>TOTAL_FAILED</code>) or could not be fully checked (<code>INDETERMINATE</code>). ` +
    `Documents up to ${esc(mib)} MiB; the document is checked and not kept.</p>` +
    `<form class="upload" id="upload" method="post" action="${esc(action)}" enctype="multipart/form-data">` +
    `<label class="drop" id="drop" for="document">Drop a signed PDF here, or choose a file` +
    `<input type="file" id="document" name="document" required></label>` +
    `<p><label for="signature">Detached signature (.p7s), only for a non-PDF file: </label>` +
    `<input type="file" id="signature" name="signature" accept=".p7s,.p7m,.pem,application/pkcs7-signature"></p>` +
    `<button type="submit" id="verify">Verify</button> <span id="status" role="status"></span></form>` +
    `<div id="result"></div></main><script>${VERIFY_SCRIPT}</script></body></html>`
  );
}
