"""The webhook's serving certificate: names, files, reuse, renewal, and a real TLS handshake."""

import ipaddress
import ssl
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from eci_reference.certs import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    CA_VALIDITY,
    RENEW_WITHIN,
    SERVING_CERT_FILE,
    SERVING_KEY_FILE,
    SERVING_VALIDITY,
    ServingNames,
    ensure_serving_certificate,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOCAL = ServingNames.for_host("127.0.0.1")
SERVICE = ServingNames.for_service("eci-reference", "kube-system")


def sans(pem: bytes):
    certificate = x509.load_pem_x509_certificate(pem)
    extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(extension.get_values_for_type(x509.DNSName)), set(
        extension.get_values_for_type(x509.IPAddress)
    )


def handshake(server_context: ssl.SSLContext, ca_pem: bytes, server_hostname: str) -> None:
    """A TLS handshake in memory: the client trusts only ``ca_pem`` and checks ``server_hostname``."""
    client_context = ssl.create_default_context(cadata=ca_pem.decode())
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(to_client, to_server, server_hostname=server_hostname)
    server = server_context.wrap_bio(server_in, server_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        server_in.write(to_server.read())
        to_client.write(server_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not complete")


# --- names ---------------------------------------------------------------------------------------


def test_host_names_cover_loopback_and_the_listen_host():
    names = ServingNames.for_host("192.168.7.9")
    assert names.ip_addresses == (ipaddress.ip_address("192.168.7.9"), ipaddress.ip_address("127.0.0.1"))
    assert names.dns_names == ("localhost",)


def test_host_names_with_a_dns_listen_host_and_no_duplicates():
    assert ServingNames.for_host("Node-1.example").dns_names == ("node-1.example", "localhost")
    assert ServingNames.for_host("localhost").dns_names == ("localhost",)
    assert ServingNames.for_host("127.0.0.1").ip_addresses == (ipaddress.ip_address("127.0.0.1"),)


def test_a_wildcard_listen_address_is_not_a_name():
    names = ServingNames.for_host("0.0.0.0")
    assert names.ip_addresses == (ipaddress.ip_address("127.0.0.1"),)


def test_service_names_include_the_one_the_api_server_dials():
    assert SERVICE.dns_names[0] == "eci-reference.kube-system.svc"
    assert "eci-reference.kube-system.svc.cluster.local" in SERVICE.dns_names
    assert SERVICE.ip_addresses == ()


def test_no_names_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        ensure_serving_certificate(tmp_path, ServingNames())


# --- issuing and files ---------------------------------------------------------------------------


def test_issues_ca_and_serving_certificate_with_the_sans(tmp_path):
    issued = ensure_serving_certificate(tmp_path / "tls", LOCAL, now=NOW)
    assert issued.issued
    dns, ips = sans(issued.certificate_pem)
    assert dns == {"localhost"}
    assert ips == {ipaddress.ip_address("127.0.0.1")}
    assert issued.not_after == NOW + SERVING_VALIDITY
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem)
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_keys_are_private_and_files_are_where_documented(tmp_path):
    directory = tmp_path / "tls"
    ensure_serving_certificate(directory, LOCAL, now=NOW)
    for name in (CA_KEY_FILE, SERVING_KEY_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    for name in (CA_CERT_FILE, SERVING_CERT_FILE):
        assert (directory / name).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [CA_CERT_FILE, CA_KEY_FILE, SERVING_CERT_FILE, SERVING_KEY_FILE]
    )


def test_the_ca_bundle_verifies_the_serving_certificate(tmp_path):
    issued = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    ca = x509.load_pem_x509_certificate(issued.ca_bundle)
    x509.load_pem_x509_certificate(issued.certificate_pem).verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


@pytest.mark.parametrize("server_hostname", ["127.0.0.1", "localhost"])
def test_tls_handshake_against_the_ca_bundle_host_mode(tmp_path, server_hostname):
    issued = ensure_serving_certificate(tmp_path, LOCAL)  # real clock: the handshake checks validity
    handshake(issued.ssl_context(), issued.ca_bundle, server_hostname)


def test_tls_handshake_against_the_ca_bundle_in_cluster(tmp_path):
    issued = ensure_serving_certificate(tmp_path, SERVICE)
    handshake(issued.ssl_context(), issued.ca_bundle, "eci-reference.kube-system.svc")


def test_tls_handshake_fails_for_a_name_not_in_the_certificate(tmp_path):
    issued = ensure_serving_certificate(tmp_path, SERVICE)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(issued.ssl_context(), issued.ca_bundle, "127.0.0.1")


def test_ssl_context_requires_tls_1_2(tmp_path):
    context = ensure_serving_certificate(tmp_path, LOCAL).ssl_context()
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


# --- reuse and renewal ---------------------------------------------------------------------------


def test_reused_across_restarts_while_valid(tmp_path):
    first = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    again = ensure_serving_certificate(tmp_path, LOCAL, now=NOW + timedelta(days=100))
    assert not again.issued
    assert again.certificate_pem == first.certificate_pem
    assert again.ca_bundle == first.ca_bundle


def test_renewed_within_seven_days_of_expiry_keeping_the_ca(tmp_path):
    first = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    late = first.not_after - RENEW_WITHIN + timedelta(minutes=1)
    assert first.needs_renewal(late)
    renewed = ensure_serving_certificate(tmp_path, LOCAL, now=late)
    assert renewed.issued
    assert renewed.certificate_pem != first.certificate_pem
    assert renewed.ca_bundle == first.ca_bundle  # vk-webhook's caBundle stays valid
    assert renewed.not_after == late + SERVING_VALIDITY


def test_still_reused_just_outside_the_renewal_window(tmp_path):
    first = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    almost = first.not_after - RENEW_WITHIN - timedelta(minutes=1)
    assert not first.needs_renewal(almost)
    assert not ensure_serving_certificate(tmp_path, LOCAL, now=almost).issued


def test_ca_near_expiry_renews_everything(tmp_path):
    first = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    late = NOW + CA_VALIDITY - timedelta(days=3)
    renewed = ensure_serving_certificate(tmp_path, LOCAL, now=late)
    assert renewed.issued
    assert renewed.ca_bundle != first.ca_bundle
    x509.load_pem_x509_certificate(renewed.certificate_pem).verify_directly_issued_by(
        x509.load_pem_x509_certificate(renewed.ca_bundle)
    )


def test_serving_certificate_never_outlives_its_ca(tmp_path):
    ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    late = NOW + CA_VALIDITY - timedelta(days=30)  # the CA is kept, with less than a year left
    renewed = ensure_serving_certificate(tmp_path, LOCAL, now=late)
    ca = x509.load_pem_x509_certificate(renewed.ca_bundle)
    assert renewed.issued
    assert renewed.not_after == ca.not_valid_after_utc


def test_new_names_issue_a_new_certificate(tmp_path):
    first = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    other = ensure_serving_certificate(tmp_path, ServingNames.for_host("10.0.0.5"), now=NOW)
    assert other.issued
    assert ipaddress.ip_address("10.0.0.5") in sans(other.certificate_pem)[1]
    assert other.ca_bundle == first.ca_bundle


def test_fewer_names_reuse_the_certificate(tmp_path):
    ensure_serving_certificate(tmp_path, ServingNames.for_host("10.0.0.5"), now=NOW)
    assert not ensure_serving_certificate(tmp_path, LOCAL, now=NOW).issued


@pytest.mark.parametrize("damaged", [SERVING_KEY_FILE, SERVING_CERT_FILE])
def test_damaged_serving_files_are_replaced(tmp_path, damaged):
    ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    (tmp_path / damaged).write_bytes(b"garbage")
    again = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    assert again.issued
    handshake(ensure_serving_certificate(tmp_path, LOCAL).ssl_context(), again.ca_bundle, "127.0.0.1")


def test_a_key_that_does_not_match_is_replaced(tmp_path):
    ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    (tmp_path / SERVING_KEY_FILE).write_bytes((tmp_path / CA_KEY_FILE).read_bytes())
    assert ensure_serving_certificate(tmp_path, LOCAL, now=NOW).issued


def test_a_damaged_ca_replaces_both(tmp_path):
    first = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    (tmp_path / CA_KEY_FILE).unlink()
    again = ensure_serving_certificate(tmp_path, LOCAL, now=NOW)
    assert again.issued
    assert again.ca_bundle != first.ca_bundle
