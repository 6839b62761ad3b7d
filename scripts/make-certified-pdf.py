"""Certifies a PDF with pyHanko (a DocMDP certification signature, ISO 32000-1 §12.8.2.2, P=2:
form filling and signing allowed, nothing else), for the attack corpus in tests/vectors/attacks/.

Our signer makes approval signatures only, so the certified baseline comes from a tool we did not
write. scripts/make-attack-vectors.ts calls this with a key and certificate issued by the
corpus's throw-away CA and the URL of a local RFC 3161 endpoint served by the same CA's TSA; it
adds the DSS afterwards. Not part of the service.

  python3 scripts/make-certified-pdf.py --in doc.pdf --out certified.pdf --key key.pem \
      --cert cert.pem --chain issuing.pem --chain root.pem --tsa-url http://127.0.0.1:PORT/
"""
import argparse
import sys

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--in', dest='src', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--chain', action='append', default=[])
    ap.add_argument('--tsa-url', required=True)
    ap.add_argument('--field', default='Certification')
    a = ap.parse_args()

    signer = signers.SimpleSigner.load(a.key, a.cert, ca_chain_files=tuple(a.chain), key_passphrase=None)
    if signer is None:
        print('could not load the key or certificate', file=sys.stderr)
        return 1
    meta = signers.PdfSignatureMetadata(
        field_name=a.field,
        certify=True,
        docmdp_permissions=MDPPerm.FILL_FORMS,  # P=2
        subfilter=SigSeedSubFilter.PADES,  # ETSI.CAdES.detached
        md_algorithm='sha256',
        reason='Certified for the eseal attack corpus',
    )
    with open(a.src, 'rb') as inf:
        writer = IncrementalPdfFileWriter(inf, strict=False)
        pdf_signer = signers.PdfSigner(
            meta,
            signer=signer,
            timestamper=timestamps.HTTPTimeStamper(a.tsa_url),
            new_field_spec=fields.SigFieldSpec(a.field, on_page=0),  # invisible widget on page 1
        )
        out = pdf_signer.sign_pdf(writer)
        with open(a.out, 'wb') as f:
            f.write(out.getvalue())
    return 0


if __name__ == '__main__':
    sys.exit(main())
