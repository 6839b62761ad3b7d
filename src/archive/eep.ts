import type { ArchiveMetadata } from './ports';

/**
 * DA/T 48-2009 electronic-record encapsulation package (EEP) writer and the reader the offline
 * verifier needs. Element names are the standard's (Chinese); namespace
 * http://www.saac.gov.cn/standards/ERM/encapsulation.
 *
 * Signature rule (签名规则), stated in the package itself: the signature covers the UTF-8 bytes
 * of the one `被签名对象` element exactly as they appear in eep.xml, from its `<` to the `>` of
 * its end tag. We write that element without a namespace declaration of its own, without
 * comments, CDATA, entity references other than the five predefined ones, or carriage
 * returns, so those bytes are also its canonical form; a verifier reads them back verbatim
 * (never re-serialising), and refuses a file where the element does not occur exactly once.
 */

export const EEP_NS = 'http://www.saac.gov.cn/standards/ERM/encapsulation';
export const EEP_SIGNATURE_RULE =
  'ECDSA-P256-SHA256 (或 RSA/SM2, 见签名算法标识) 覆盖 eep.xml 中唯一的 <被签名对象> 元素自 "<" 至结束标签 ">" 的 UTF-8 原始字节';

const RETENTION_ZH: Record<ArchiveMetadata['retention'], string> = { permanent: '永久', '30y': '定期30年', '10y': '定期10年' };
const CLASS_ZH: Record<ArchiveMetadata['classification'], string> = { public: '公开', internal: '内部', restricted: '限制' };

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const el = (name: string, text: string | number) => `<${name}>${xmlEscape(String(text))}</${name}>`;

export interface SignedObjectInput {
  registrationNumber: string;
  recordId: string;
  metadata: ArchiveMetadata;
  agencyName: string;
  agencyCode: string;
  fileBytes: Buffer;
  pageCount: number | null;
  createdAt: Date;
  filedAt: string;
  archiveName: string;
}

export function buildSignedObject(i: SignedObjectInput): string {
  const m = i.metadata;
  return (
    '<被签名对象 eep版本="2009">' +
    el('封装包类型', '原始型') +
    el('封装包类型描述', '本封装包包含电子文件数据及其元数据，原始封装，未经修改') +
    el('封装包创建时间', i.createdAt.toISOString()) +
    el('封装包创建单位', i.archiveName) +
    '<封装内容><文件实体块><文件实体>' +
    el('聚合层次', '文件') +
    '<来源>' + el('档案馆名称', i.archiveName) + el('全宗号', m.fonds) + el('立档单位名称', i.agencyName) + '</来源>' +
    el('电子文件号', i.recordId) +
    el('档号', i.registrationNumber) +
    '<内容描述>' +
    el('题名', m.title) +
    el('责任者', m.responsibleAgency) +
    el('日期', m.date) +
    el('文件编号', m.documentNumber) +
    el('保管期限', RETENTION_ZH[m.retention]) +
    el('密级', CLASS_ZH[m.classification]) +
    el('类别号', m.series) +
    el('文种', m.recordType) +
    '</内容描述>' +
    '<形式特征>' + el('文件组合类型', '单件') + (i.pageCount === null ? '' : el('页数', i.pageCount)) + '</形式特征>' +
    '<文档数据><文档>' +
    el('文档标识符', 'doc-1') +
    '<编码>' +
    el('编码标识符', 'enc-1') +
    '<电子属性>' + el('格式信息', 'PDF') + el('计算机文件名', m.fileName) + el('计算机文件大小', i.fileBytes.length) + '</电子属性>' +
    el('编码描述', 'base64') +
    el('编码数据', i.fileBytes.toString('base64')) +
    '</编码></文档></文档数据>' +
    '</文件实体></文件实体块>' +
    '<业务实体块><业务实体>' + el('业务状态', '归档') + el('业务行为', '归档') + el('行为时间', i.filedAt) + el('行为依据', '浙江省人民政府令第354号 第三十三条') + '</业务实体></业务实体块>' +
    '<机构人员实体块><机构人员实体>' + el('机构人员类型', '单位') + el('机构人员名称', i.agencyName) + el('组织机构代码', i.agencyCode) + '</机构人员实体></机构人员实体块>' +
    '</封装内容>' +
    '</被签名对象>'
  );
}

export interface EepSignature {
  id: string;
  time: string;
  signer: string;
  /** Signature value, DER as the algorithm defines it. */
  value: Buffer;
  certificate: Buffer;
  algorithmOid: string;
}

export function buildEep(signedObject: string, sig: EepSignature): Buffer {
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<电子文件封装包 xmlns="${EEP_NS}">\n` +
    el('封装包格式描述', '本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成') +
    '\n' +
    el('版本', '2009') +
    '\n' +
    signedObject +
    '\n<电子签名块><电子签名>' +
    el('签名标识符', sig.id) +
    el('签名规则', EEP_SIGNATURE_RULE) +
    el('签名时间', sig.time) +
    el('签名人', sig.signer) +
    el('签名结果', sig.value.toString('base64')) +
    '<证书块>' + el('证书', sig.certificate.toString('base64')) + '</证书块>' +
    el('签名算法标识', sig.algorithmOid) +
    '</电子签名></电子签名块>\n' +
    '</电子文件封装包>\n';
  return Buffer.from(xml, 'utf8');
}

function once(text: string, open: string, close: string): { start: number; end: number } | null {
  const start = text.indexOf(open);
  if (start < 0 || text.indexOf(open, start + 1) >= 0) return null;
  const endTag = text.indexOf(close, start);
  if (endTag < 0 || text.indexOf(close, endTag + 1) >= 0) return null;
  return { start, end: endTag + close.length };
}

/** The signed bytes (see the rule above), or null when the element is missing or repeated. */
export function extractSignedObject(xml: Buffer): Buffer | null {
  const text = xml.toString('latin1'); // byte offsets: search the raw bytes as latin1
  const open = Buffer.from('<被签名对象', 'utf8').toString('latin1');
  const close = Buffer.from('</被签名对象>', 'utf8').toString('latin1');
  const r = once(text, open, close);
  return r ? xml.subarray(r.start, r.end) : null;
}

/** Text of a simple element that must occur exactly once, unescaped; null otherwise. */
export function elementText(xml: string, name: string): string | null {
  const r = once(xml, `<${name}>`, `</${name}>`);
  if (!r) return null;
  const inner = xml.slice(r.start + name.length + 2, r.end - name.length - 3);
  if (inner.includes('<')) return null;
  return inner.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}
