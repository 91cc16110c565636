"""The webhook's serving certificate: a self-managed CA and a serving certificate, kept in the workdir.

The API server calls ``vk-webhook`` over HTTPS and verifies the server against the webhook
configuration's ``caBundle``; nothing else ever needs to trust this CA, so the implementation is its
own CA: it needs no cert-manager and no cluster signer, in the host-process mode and in a cluster alike.

Why ``cryptography`` and not ``trustme``: trustme is built for test suites (its own documentation says
so) — it issues certificates with fixed, test-friendly lifetimes and keeps keys in memory. Here the
certificate must outlive the process: it is persisted, reloaded and checked on every start (does it
still cover the names, chain to the CA, match its key, stay valid for long enough?), which needs
``cryptography``'s x509 API anyway; trustme would only add a second layer over it.

Lifecycle:

- files ``ca.crt``, ``ca.key``, ``tls.crt``, ``tls.key`` in one directory (keys mode 0600, every file
  written to a temporary name and renamed, so a crash never leaves half a key behind);
- reused across restarts while valid for more than ``RENEW_WITHIN`` (7 days); the CA is kept while it
  is, so a renewed serving certificate still verifies against the ``caBundle`` already in
  ``vk-webhook``; anything unreadable, mismatched or too short-lived is issued again;
- ECDSA P-256 keys: fast to generate and accepted by every Go TLS stack the API server may use.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from eci_reference.constants import COMPONENT_NAME

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Reuse a certificate only while it stays valid for longer than this.
RENEW_WITHIN: Final = timedelta(days=7)
CA_VALIDITY: Final = timedelta(days=3650)
SERVING_VALIDITY: Final = timedelta(days=365)
#: Backdating covers clocks a little behind ours (the API server's, in a VM or container).
CLOCK_SKEW: Final = timedelta(minutes=5)

CA_CERT_FILE: Final = "ca.crt"
CA_KEY_FILE: Final = "ca.key"
SERVING_CERT_FILE: Final = "tls.crt"
SERVING_KEY_FILE: Final = "tls.key"

_LOOPBACK_NAMES: Final = ("localhost",)
_LOOPBACK_ADDRESSES: Final = (ipaddress.IPv4Address("127.0.0.1"),)


class CertificateError(RuntimeError):
    """The certificate directory cannot be used (not writable, not a directory, ...)."""


@dataclass(frozen=True)
class ServingNames:
    """The names the webhook is reached by: they become the serving certificate's SANs."""

    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[IPAddress, ...] = ()

    @classmethod
    def for_host(cls, host: str) -> ServingNames:
        """Host-process mode: the listen host, plus 127.0.0.1 and localhost (how a local API server calls)."""
        dns: list[str] = list(_LOOPBACK_NAMES)
        addresses: list[IPAddress] = list(_LOOPBACK_ADDRESSES)
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            if host:
                dns.insert(0, host.lower())
        else:
            if not address.is_unspecified:  # 0.0.0.0 / :: is where we listen, never what is dialled
                addresses.insert(0, address)
        return cls(dns_names=tuple(dict.fromkeys(dns)), ip_addresses=tuple(dict.fromkeys(addresses)))

    @classmethod
    def for_service(cls, name: str, namespace: str) -> ServingNames:
        """In-cluster mode: every name of the Service; the API server dials ``<name>.<namespace>.svc``."""
        base = f"{name}.{namespace}"
        return cls(dns_names=(f"{base}.svc", f"{base}.svc.cluster.local", base, name))

    @property
    def common_name(self) -> str:
        """Informational only (TLS clients check the SANs); the first name."""
        if self.dns_names:
            return self.dns_names[0]
        return str(self.ip_addresses[0]) if self.ip_addresses else COMPONENT_NAME

    def covered_by(self, certificate: x509.Certificate) -> bool:
        """Does ``certificate`` carry every one of these names as a SAN?"""
        try:
            sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        dns = {name.lower() for name in sans.get_values_for_type(x509.DNSName)}
        addresses = set(sans.get_values_for_type(x509.IPAddress))
        return {n.lower() for n in self.dns_names} <= dns and set(self.ip_addresses) <= addresses


@dataclass(frozen=True)
class ServingCertificate:
    """The certificate files in ``directory`` and what the rest of the runtime needs from them."""

    directory: Path
    ca_pem: bytes
    certificate_pem: bytes
    not_after: datetime
    #: True when this call issued a new serving certificate (the caBundle may have changed too).
    issued: bool

    @property
    def ca_bundle(self) -> bytes:
        """PEM of the CA, for the webhook configuration's ``caBundle``."""
        return self.ca_pem

    @property
    def certificate_file(self) -> Path:
        return self.directory / SERVING_CERT_FILE

    @property
    def key_file(self) -> Path:
        return self.directory / SERVING_KEY_FILE

    def ssl_context(self) -> ssl.SSLContext:
        """A server-side TLS context (TLS 1.2 or later) serving this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.load_into(context)
        return context

    def load_into(self, context: ssl.SSLContext) -> None:
        """Serve this certificate from ``context``; connections made afterwards use it (renewal)."""
        context.load_cert_chain(self.certificate_file, self.key_file)

    def needs_renewal(self, now: datetime | None = None, renew_within: timedelta = RENEW_WITHIN) -> bool:
        return self.not_after - (now or datetime.now(UTC)) <= renew_within


def ensure_serving_certificate(
    directory: Path,
    names: ServingNames,
    *,
    now: datetime | None = None,
    renew_within: timedelta = RENEW_WITHIN,
) -> ServingCertificate:
    """Reuse the CA and serving certificate in ``directory`` when still good, else issue what is needed.

    Blocking file I/O and key generation: call it from a thread in async code.
    """
    if not names.dns_names and not names.ip_addresses:
        raise ValueError("a serving certificate needs at least one DNS name or IP address")
    moment = now or datetime.now(UTC)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise CertificateError(f"cannot create the certificate directory {directory}: {error}") from error

    ca = _load_pair(directory / CA_CERT_FILE, directory / CA_KEY_FILE)
    if ca is None or not _is_usable_ca(ca[0], moment, renew_within):
        ca = _issue_ca(moment)
        _write(directory / CA_KEY_FILE, _key_pem(ca[1]), private=True)
        _write(directory / CA_CERT_FILE, ca[0].public_bytes(serialization.Encoding.PEM), private=False)
    ca_certificate, ca_key = ca

    serving = _load_pair(directory / SERVING_CERT_FILE, directory / SERVING_KEY_FILE)
    issued = False
    if serving is None or not _is_usable_serving(serving[0], ca_certificate, names, moment, renew_within):
        serving = _issue_serving(ca_certificate, ca_key, names, moment)
        _write(directory / SERVING_KEY_FILE, _key_pem(serving[1]), private=True)
        _write(
            directory / SERVING_CERT_FILE, serving[0].public_bytes(serialization.Encoding.PEM), private=False
        )
        issued = True
    return ServingCertificate(
        directory=directory,
        ca_pem=ca_certificate.public_bytes(serialization.Encoding.PEM),
        certificate_pem=serving[0].public_bytes(serialization.Encoding.PEM),
        not_after=serving[0].not_valid_after_utc,
        issued=issued,
    )


# --- checks --------------------------------------------------------------------------------------


def _load_pair(
    certificate_file: Path, key_file: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The certificate and its key, or ``None`` when missing, unreadable, or not a matching pair."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if _public_der(certificate.public_key()) != _public_der(key.public_key()):
        return None
    return certificate, key


def _public_der(key: Any) -> bytes:
    encoding, form = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    encoded: bytes = key.public_bytes(encoding, form)
    return encoded


def _remaining_ok(certificate: x509.Certificate, now: datetime, renew_within: timedelta) -> bool:
    return certificate.not_valid_before_utc <= now and certificate.not_valid_after_utc - now > renew_within


def _is_usable_ca(certificate: x509.Certificate, now: datetime, renew_within: timedelta) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca and _remaining_ok(certificate, now, renew_within)


def _is_usable_serving(
    certificate: x509.Certificate,
    ca: x509.Certificate,
    names: ServingNames,
    now: datetime,
    renew_within: timedelta,
) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    # The serving certificate cannot outlive its CA in any useful way: renew both together.
    return (
        names.covered_by(certificate)
        and _remaining_ok(certificate, now, renew_within)
        and certificate.not_valid_after_utc <= ca.not_valid_after_utc
    )


# --- issuing -------------------------------------------------------------------------------------


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _issue_ca(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, COMPONENT_NAME),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{COMPONENT_NAME} webhook CA {now:%Y-%m-%dT%H:%M:%SZ}"),
        ]
    )
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _issue_serving(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: ServingNames, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in names.dns_names]
    sans.extend(x509.IPAddress(address) for address in names.ip_addresses)
    not_after = min(now + SERVING_VALIDITY, ca.not_valid_after_utc)
    ca_key_identifier = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, COMPONENT_NAME),
                    x509.NameAttribute(NameOID.COMMON_NAME, names.common_name[:64]),
                ]
            )
        )
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_identifier), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


# --- files ---------------------------------------------------------------------------------------


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, content: bytes, *, private: bool) -> None:
    """Write ``content`` to a temporary file next to ``path`` and rename it into place."""
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.chmod(temporary, 0o600 if private else 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise CertificateError(f"cannot write {path}: {error}") from error
