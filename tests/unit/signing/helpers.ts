/**
 * Helpers for the CAdES suites: a test TSA over a throw-away ES256 PKI (OpenSSL's `ts -verify`
 * cannot check RSASSA-PSS tokens, so every suite time-stamps with ES256), and a DER surgeon that
 * replaces one node of a decoded structure and re-encodes its ancestors' lengths — how tests
 * build CMS that our builder would never write (unsorted, duplicated, swapped parts).
 */
import { buildTimeStampResp, parseTimeStampReq } from '../../../src/pki';
import { decodeDer, encodeTlv, type DerNode } from '../../../src/pki/der';
import { createTestPki, type TestPki } from '../../helpers/test-pki';

export const TEST_TSA_POLICY = '2.999.3161.1';

export interface TestTsa {
  pki: TestPki;
  /** TimeStampReq DER → TimeStampResp DER, as TimeStampAuthority.respond(...).der. */
  respond(request: Buffer): Promise<Buffer>;
  /** How many requests it answered. */
  count(): number;
}

export async function createTestTsa(options: { now?: Date; genTime?: () => Date } = {}): Promise<TestTsa> {
  const pki = await createTestPki({ algorithm: 'ES256', keyLabel: 'cades-tsa', now: options.now });
  let serial = 1n;
  let n = 0;
  return {
    pki,
    count: () => n,
    async respond(request) {
      n++;
      const res = await buildTimeStampResp({
        request: parseTimeStampReq(request),
        tsaCertificate: pki.tsa.der,
        chain: [pki.issuing.der],
        signer: pki.tsa.signer,
        serial: serial++,
        genTime: options.genTime?.() ?? pki.now,
        policy: { defaultPolicy: TEST_TSA_POLICY },
        accuracy: { seconds: 1 },
      });
      return res.der;
    },
  };
}

/** Finds the first node (depth-first, pre-order) for which `pred` holds. */
export function findNode(root: DerNode, pred: (n: DerNode) => boolean): DerNode | undefined {
  if (pred(root)) return root;
  for (const c of root.children) {
    const hit = findNode(c, pred);
    if (hit) return hit;
  }
  return undefined;
}

/** Re-encodes `root` with `target` replaced by `replacement` (a whole TLV). Single-byte tags only. */
export function replaceNode(root: DerNode, target: DerNode, replacement: Buffer): Buffer {
  if (root === target) return replacement;
  if (!root.constructed || !contains(root, target)) return root.der;
  return encodeTlv(root.der[0]!, Buffer.concat(root.children.map((c) => replaceNode(c, target, replacement))));
}

/** Re-encodes `root` with `target`'s children replaced (same tag). */
export function replaceChildren(root: DerNode, target: DerNode, children: Buffer[]): Buffer {
  return replaceNode(root, target, encodeTlv(target.der[0]!, Buffer.concat(children)));
}

function contains(root: DerNode, target: DerNode): boolean {
  return root === target || root.children.some((c) => contains(c, target));
}

/** Navigates a CMS ContentInfo: the SignedData and SignerInfo nodes. */
export function cmsNodes(der: Buffer): { root: DerNode; signedData: DerNode; signerInfos: DerNode; signerInfo: DerNode; certificates?: DerNode } {
  const root = decodeDer(der);
  const signedData = root.children[1]!.children[0]!;
  const signerInfos = signedData.children[signedData.children.length - 1]!;
  const certificates = signedData.children.find((c) => c.tagClass === 'context' && c.tagNumber === 0);
  return { root, signedData, signerInfos, signerInfo: signerInfos.children[0]!, certificates };
}

/** The SignerInfo's [0] signed attributes and [1] unsigned attributes nodes. */
export function attributeNodes(signerInfo: DerNode): { signed: DerNode; unsigned?: DerNode } {
  const signed = signerInfo.children.find((c) => c.tagClass === 'context' && c.tagNumber === 0)!;
  const unsigned = signerInfo.children.find((c) => c.tagClass === 'context' && c.tagNumber === 1);
  return { signed, unsigned };
}
