"""Validates every signature of a PDF with pyHanko, offline: trust = the given root, revocation
data = only what the file's DSS holds (no fetching, hard-fail). Prints one line per signature."""
import asyncio
import sys

from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext


async def main(path: str, root_path: str) -> int:
    root = x509.Certificate.load(open(root_path, 'rb').read())
    reader = PdfFileReader(open(path, 'rb'))
    dss = reader.root.get('/DSS')
    dss = dss.get_object() if dss is not None else None

    def items(key):
        return [c.get_object().data for c in dss[key].get_object()] if dss is not None and key in dss else []

    crls, ocsps = items('/CRLs'), items('/OCSPs')
    certs = [x509.Certificate.load(c) for c in items('/Certs')]

    def ctx():
        return ValidationContext(trust_roots=[root], other_certs=certs, crls=crls, ocsps=ocsps,
                                 allow_fetching=False, revocation_mode='hard-fail')

    ok = True
    for sig in reader.embedded_signatures:
        if sig.sig_object.get('/Type') == '/DocTimeStamp':
            st = await async_validate_pdf_timestamp(sig, validation_context=ctx())
        else:
            st = await async_validate_pdf_signature(sig, signer_validation_context=ctx(), ts_validation_context=ctx())
        line = f'{sig.field_name}: intact={st.intact} valid={st.valid} trusted={st.trusted} coverage={st.coverage.name}'
        print(line)
        ok = ok and st.intact and st.valid and st.trusted
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
