"""PAdES signatures (pyHanko) with the bureau's key, and their verification.

Production loads the bureau's PKCS#12 file; development uses a self-signed key made by
`make_development_pkcs12`. Verification answers the questions a relying party asks of a PDF:
is there a signature, does it cover the whole file, is the file unchanged since signing, and was it
made with one of the keys we trust.
"""

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import get_pyca_cryptography_hash

FIELD = "BureauSeal"
# Room for the CMS signature: a 4096-bit key, the certificate chain and the signed attributes fit.
RESERVED_BYTES = 16384


class KeyError_(ValueError):
    """The PKCS#12 file cannot be used for signing."""


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner re-parses the private key for every signature (tens of milliseconds for
    RSA); this one signs with the key object loaded once."""

    def __init__(self, key, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        digest = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), digest)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(digest))
        return super().sign_raw(data, digest_algorithm)


class Signer:
    """Signs PDFs with one key and certificate."""

    def __init__(self, pkcs12_data: bytes, password: bytes | None):
        try:
            key, certificate, _chain = pkcs12.load_key_and_certificates(pkcs12_data, password)
            loaded = signers.SimpleSigner.load_pkcs12_data(pkcs12_data, [], passphrase=password)
        except ValueError as exc:
            raise KeyError_(f"the signing key file cannot be opened: {exc}") from exc
        if key is None or certificate is None or loaded is None:
            raise KeyError_("the signing key file holds no private key with its certificate")
        self.certificate = certificate
        self.subject = certificate.subject.rfc4514_string()
        self._signer = _LoadedKeySigner(key, loaded.signing_cert, loaded.signing_key, loaded.cert_registry)

    def sign(self, pdf: bytes, reason: str = "", location: str = "") -> bytes:
        """PDF bytes with a PAdES baseline signature over the whole file, appended as an incremental update."""
        meta = signers.PdfSignatureMetadata(field_name=FIELD, subfilter=SigSeedSubFilter.PADES,
                                            md_algorithm="sha256", reason=reason or None, location=location or None)
        def run() -> bytes:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            out = signers.PdfSigner(meta, signer=self._signer).sign_pdf(writer, bytes_reserved=RESERVED_BYTES)
            return out.getvalue()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        # pyHanko signs through asyncio.run, which cannot nest in a running event loop: use a thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()


@dataclass(frozen=True)
class Verdict:
    signed: bool  # a signature is there
    intact: bool  # the signed bytes are unchanged and the signature matches them
    whole_file: bool  # the signature covers the entire file (nothing appended after signing)
    trusted: bool  # made with one of the certificates we trust (even if the file was changed since)
    signer: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.whole_file and self.trusted


def verify(pdf: bytes, trusted: list[x509.Certificate]) -> Verdict:
    """Check the last signature of PDF against TRUSTED signing certificates (compared exactly)."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        return Verdict(False, False, False, False, problem=f"not a readable PDF ({type(exc).__name__})")
    if not signatures:
        return Verdict(False, False, False, False, problem="no signature")
    signature = signatures[-1]
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trusted]
    try:
        # Our own certificates are the trust roots: a signature by any other key is not trusted, however valid.
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots), skip_diff=True)
    except Exception as exc:  # a damaged signature dictionary: report it, do not crash the page
        return Verdict(True, False, False, False, problem=f"signature cannot be validated ({type(exc).__name__})")
    # Made with one of our certificates: compared exactly, whether or not the file is still intact.
    ours = signature.signer_cert.dump() in {c.public_bytes(serialization.Encoding.DER) for c in trusted}
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    signer = signature.signer_cert.subject.human_friendly
    problem = "" if status.intact and status.valid else "the file was changed after signing"
    if not problem and not whole:
        problem = "content was added after signing"
    return Verdict(True, bool(status.intact and status.valid), whole, ours, signer, problem)


def make_development_pkcs12(organisation: str, password: bytes, days: int = 3650) -> bytes:
    """A self-signed RSA key and certificate for development and tests; never for production."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} (development signing key)")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(organisation.encode(), key, certificate, None,
                                                 serialization.BestAvailableEncryption(password))
