"""The webhook's serving certificate, managed by the implementation itself.

trustme makes a private CA and a leaf certificate for exactly the names the API server uses to reach
the webhook (127.0.0.1 for the host process; <service>.<namespace>.svc in-cluster). A new pair is made
at every start and the CA goes into vk-webhook's caBundle, which the implementation owns anyway — so
there is no renewal to schedule and no long-lived key on disk to protect.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class ServingCertificate:
    ca_bundle: bytes
    ssl_context: ssl.SSLContext


def make_serving_certificate(hosts: list[str], workdir: Path) -> ServingCertificate:
    authority = trustme.CA(organization_name="eci-reference webhook CA")
    leaf = authority.issue_cert(*hosts)
    workdir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = workdir / "webhook.crt", workdir / "webhook.key"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key_path.write_bytes(leaf.private_key_pem.bytes())
    key_path.chmod(0o600)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
    return ServingCertificate(ca_bundle=authority.cert_pem.bytes(), ssl_context=context)
