/**
 * A throw-away SM2 PKI for the SES suites: root → issuing CA (SM2-with-SM3) → seal maker and
 * seal signer certificates, issued by our issueCertificate with SM2 variants of the standard
 * profiles. Keys are Node-generated SM2 keys signing through src/crypto/sm2.ts (user id in Z).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { keyObjectSigner, type Signer } from '../../../src/crypto';
import { buildTimeStampReq, creditCodeOrganizationIdentifier, getProfile, issueCertificate, parseCertificate, parseTimeStampResp, toPem, type ParsedCertificate, type ProfileName } from '../../../src/pki';
import { createTestTsa, type TestTsa } from '../signing/helpers';

export interface Sm2Cert {
  der: Buffer;
  pem: string;
  parsed: ParsedCertificate;
  signer: Signer;
}

export interface Sm2TestPki {
  now: Date;
  root: Sm2Cert;
  issuing: Sm2Cert;
  maker: Sm2Cert;
  sealHolder: Sm2Cert;
  tsa: TestTsa;
  /** An RFC 3161 token over `data` (SHA-256 imprint) from the ES256 test TSA. */
  timestamp(data: Buffer): Promise<Buffer>;
  anchors: ParsedCertificate[];
}

function sm2Signer(): Signer {
  return keyObjectSigner('SM2', generateKeyPairSync('ec', { namedCurve: 'SM2' }).privateKey);
}

const sm2Profile = (name: ProfileName) => ({ ...getProfile(name), algorithms: ['SM2' as const] });

function serial(label: string): Buffer {
  return createHash('sha256').update(`sm2:${label}`).digest().subarray(0, 16);
}

export async function createSm2TestPki(now: Date): Promise<Sm2TestPki> {
  const notBefore = new Date(now.getTime() - 3600_000);
  const wrap = (der: Buffer, signer: Signer): Sm2Cert => ({ der, pem: toPem(der), parsed: parseCertificate(der), signer });
  const rootSigner = sm2Signer();
  const root = wrap(
    await issueCertificate({
      profile: sm2Profile('root-ca'),
      subject: { c: 'CN', o: 'eseal test', cn: 'eseal Test SM2 Root CA' },
      subjectPublicKey: rootSigner.publicKey,
      issuer: { selfSigned: true, signer: rootSigner },
      serial: serial('root'),
      notBefore,
    }),
    rootSigner,
  );
  const issuingSigner = sm2Signer();
  const issuing = wrap(
    await issueCertificate({
      profile: sm2Profile('issuing-ca'),
      subject: { c: 'CN', o: 'eseal test', cn: 'eseal Test SM2 Issuing CA' },
      subjectPublicKey: issuingSigner.publicKey,
      issuer: { certificate: root.der, signer: rootSigner },
      serial: serial('issuing'),
      notBefore,
    }),
    issuingSigner,
  );
  const leaf = async (cn: string, label: string): Promise<Sm2Cert> => {
    const s = sm2Signer();
    return wrap(
      await issueCertificate({
        profile: sm2Profile('seal'),
        subject: { c: 'CN', o: '杭州市测试局', organizationIdentifier: creditCodeOrganizationIdentifier('11330105002500287C'), cn },
        subjectPublicKey: s.publicKey,
        issuer: { certificate: issuing.der, signer: issuingSigner },
        serial: serial(label),
        notBefore,
      }),
      s,
    );
  };
  const maker = await leaf('eseal seal maker', 'maker');
  const sealHolder = await leaf('杭州市测试局 公章', 'holder');
  const tsa = await createTestTsa({ now });
  return {
    now,
    root,
    issuing,
    maker,
    sealHolder,
    tsa,
    anchors: [root.parsed, tsa.pki.root.parsed],
    async timestamp(data) {
      const req = buildTimeStampReq({ hashAlg: 'sha256', digest: createHash('sha256').update(data).digest(), certReq: true });
      const token = parseTimeStampResp(await tsa.respond(req)).token;
      if (!token) throw new Error('the test TSA refused');
      return token;
    },
  };
}
