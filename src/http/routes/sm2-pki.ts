/**
 * Public endpoints of the SM2 certificate hierarchy (src/ca sm2(), docs/ses.md): its CA
 * certificates and CRLs, the targets of the caIssuers and CRL distribution point URLs written
 * in SM2 certificates. OCSP for SM2 certificates is the common /v1/pki/ocsp. Nothing here
 * creates the hierarchy: before the first SM2 seal these answer 404.
 */
import type { CertificateAuthority, CaName } from '../../ca';
import { NotFoundError } from '../../errors';
import { toPem } from '../../pki';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';

async function hierarchy(ca: CertificateAuthority) {
  const h = await ca.sm2IfCreated();
  if (!h) throw new NotFoundError('The SM2 hierarchy (it is created with the first SM2 seal)');
  return h;
}

export function sm2PkiRoutes(ca: CertificateAuthority): RouteSpec[] {
  const certFile = (name: 'root' | 'issuing') =>
    route({
      method: 'get',
      path: `/v1/pki/ca/sm2-${name}.crt`,
      operationId: `getSm2${name === 'root' ? 'Root' : 'Issuing'}CaCertificate`,
      summary: `The SM2 ${name} CA certificate (DER, SM2-with-SM3; the caIssuers target of SM2 certificates)`,
      tags: ['pki'],
      access: 'public',
      responses: { 200: { description: 'DER certificate', contentType: 'application/pkix-cert' }, 404: { description: 'No SM2 hierarchy yet', schema: Problem } },
      async handler({ res }) {
        const h = await hierarchy(ca);
        res.type('application/pkix-cert').send(name === 'root' ? h.root.der : h.issuing.der);
      },
    });
  const crl = (path: string, which: CaName) =>
    route({
      method: 'get',
      path,
      operationId: which === 'sm2-root' ? 'getSm2RootCrl' : 'getSm2Crl',
      summary: `The current CRL of the ${which} CA (DER, SM2-with-SM3; PEM with Accept: application/x-pem-file)`,
      tags: ['pki'],
      access: 'public',
      responses: { 200: { description: 'CRL', contentType: 'application/pkix-crl' }, 404: { description: 'No SM2 hierarchy yet', schema: Problem } },
      async handler({ req, res }) {
        await hierarchy(ca);
        const der = await ca.crl(which);
        res.setHeader('Cache-Control', 'public, max-age=60');
        if (req.get('accept') === 'application/x-pem-file') res.type('application/x-pem-file').send(toPem(der, 'X509 CRL'));
        else res.type('application/pkix-crl').send(der);
      },
    });
  return [
    route({
      method: 'get',
      path: '/v1/pki/ca/sm2',
      operationId: 'getSm2CaChain',
      summary: 'The SM2 CA chain: SM2 issuing CA then SM2 root (PEM)',
      tags: ['pki'],
      access: 'public',
      responses: { 200: { description: 'PEM chain', contentType: 'application/pem-certificate-chain' }, 404: { description: 'No SM2 hierarchy yet', schema: Problem } },
      async handler({ res }) {
        const h = await hierarchy(ca);
        res.type('application/pem-certificate-chain').send(toPem(h.issuing.der) + toPem(h.root.der));
      },
    }),
    certFile('root'),
    certFile('issuing'),
    crl('/v1/pki/crl/sm2', 'sm2-issuing'),
    crl('/v1/pki/crl/sm2-root', 'sm2-root'),
  ];
}
