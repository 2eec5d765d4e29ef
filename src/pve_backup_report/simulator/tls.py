"""Throw-away TLS material for the simulator.

Why: PVE only speaks HTTPS on 8006 with a self-signed cluster CA, and the tool pins either a CA
file or the server certificate fingerprint. Generating a fresh CA and a server certificate for
127.0.0.1/localhost at start lets tests and the demo exercise both trust paths for real.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsMaterial:
    """PEM files on disk plus the server certificate fingerprint (PVE colon-hex form)."""

    directory: Path
    ca_pem_path: Path
    cert_path: Path
    key_path: Path
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    fingerprint: str


def fingerprint_of(cert_pem: bytes) -> str:
    """SHA-256 of the DER certificate as ``AA:BB:...`` (uppercase), like PVE shows it."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    digest = cert.fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PVE Cluster Manager CA (simulated)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def generate_tls(
    directory: str | Path | None = None, hostnames: tuple[str, ...] = ()
) -> TlsMaterial:
    """Create a CA and a server certificate for 127.0.0.1, ::1 and localhost (plus ``hostnames``).

    Files ``pve-root-ca.pem``, ``pve-ssl.pem`` and ``pve-ssl.key`` are written in ``directory``
    (a new temporary directory when omitted).
    """
    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="pve-sim-tls-"))
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Proxmox Virtual Environment (simulator)")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    alt_names.extend(x509.DNSName(name) for name in hostnames)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ca_path = folder / "pve-root-ca.pem"
    cert_path = folder / "pve-ssl.pem"
    key_path = folder / "pve-ssl.key"
    ca_path.write_bytes(ca_pem)
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    return TlsMaterial(
        directory=folder,
        ca_pem_path=ca_path,
        cert_path=cert_path,
        key_path=key_path,
        ca_pem=ca_pem,
        cert_pem=cert_pem,
        key_pem=key_pem,
        fingerprint=fingerprint_of(cert_pem),
    )
