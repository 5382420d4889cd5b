"""C2PA content credentials: sign an exported film offline, and verify one.

The manifest states that the picture is ``trainedAlgorithmicMedia`` (IPTC digital source
type for media made by a trained model), names Storyreel as the claim generator, and
lists the models and versions that made the takes (from their take records). It is
signed with ``c2pa-python``:

- with the user's certificate chain and key (PEM files), or
- with a local identity made once per user in the config folder: a local CA (self-signed,
  CA:true) and a leaf it issues (CA:false, digitalSignature, emailProtection), EC P-256,
  keys written 0600. The C2PA library refuses a self-signed leaf, hence the two.

Verification reads the manifest back; a file changed after signing fails its hash
binding and reads as invalid. A local identity is trusted by no one else: the manifest
is then "Valid" (intact, well-formed) but its signer is not on a public trust list —
``verify`` says so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import __version__
from engine.errors import StoryreelError

SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
        ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
CA_CERT, LEAF_CERT, LEAF_KEY = "c2pa-ca.pem", "c2pa-cert.pem", "c2pa-key.pem"


class C2paError(StoryreelError):
    """Signing or reading content credentials failed."""


@dataclass
class Identity:
    cert_chain: Path  # leaf then CA, PEM
    key: Path
    local: bool = False


@dataclass
class Verification:
    path: Path
    present: bool
    valid: bool
    state: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "manifest_present": self.present, "valid": self.valid,
                "state": self.state, "errors": self.errors, "manifest": self.manifest}


def _lib() -> Any:
    try:
        import c2pa
    except ImportError as exc:  # pragma: no cover - a dependency of the base install
        raise C2paError(f"c2pa-python is not installed ({exc}).") from exc
    return c2pa


def config_dir() -> Path:
    """The per-user config folder (``$STORYREEL_HOME`` or the platform's)."""
    from engine.generate.registry import storyreel_home

    return storyreel_home()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def local_identity(folder: Path | None = None, name: str = "Storyreel user") -> Identity:
    """The user's local signing identity, made on first use in ``folder`` (the config
    folder by default): a local CA and a leaf certificate it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder) if folder else config_dir() / "c2pa"
    chain, key_path = folder / LEAF_CERT, folder / LEAF_KEY
    if chain.is_file() and key_path.is_file():
        return Identity(chain, key_path, local=True)
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} local CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Storyreel")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                                     x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                        "Storyreel")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    _write_private(folder / "c2pa-ca-key.pem", ca_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _write_private(key_path, leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / CA_CERT).write_bytes(ca.public_bytes(pem))
    chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    return Identity(chain, key_path, local=True)


def _mime(path: Path) -> str:
    mime = MIME.get(path.suffix.lower())
    if mime is None:
        raise C2paError(f"{path.name}: C2PA signing supports {', '.join(sorted(MIME))} files.")
    return mime


def manifest_definition(title: str, models: list[dict[str, str]]) -> dict[str, Any]:
    """The manifest: AI-made (trainedAlgorithmicMedia), and which models made it."""
    return {
        "claim_generator_info": [{"name": "Storyreel", "version": __version__}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE,
                 "softwareAgent": {"name": "Storyreel", "version": __version__},
                 "parameters": {"models": models}},
            ]}},
            {"label": "org.storyreel.models", "data": {"models": models}},
        ],
    }


def sign_file(path: Path, identity: Identity, *, title: str,
              models: list[dict[str, str]]) -> Path:
    """Embed a signed manifest in ``path`` (rewritten through a temporary file)."""
    c2pa = _lib()
    path = Path(path)
    mime = _mime(path)
    try:
        cert = identity.cert_chain.read_bytes()
        key = identity.key.read_bytes()
    except OSError as exc:
        raise C2paError(f"The signing certificate or key cannot be read: {exc}.") from None
    tmp = path.with_name(f".{path.name}.c2pa-part")
    try:
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert, key, None)
        with c2pa.Signer.from_info(info) as signer, \
                c2pa.Builder(manifest_definition(title, models)) as builder, \
                open(path, "rb") as src, open(tmp, "w+b") as dst:
            builder.sign(signer, mime, src, dst)
        os.replace(tmp, path)
    except c2pa.C2paError as exc:
        raise C2paError(f"C2PA signing failed: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def verify_file(path: Path, trust_anchor: Path | None = None) -> Verification:
    """Read and validate the manifest in ``path``."""
    c2pa = _lib()
    path = Path(path)
    if not path.is_file():
        raise C2paError(f"{path} does not exist.")
    mime = _mime(path)
    try:
        with open(path, "rb") as f, c2pa.Reader(mime, f) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state() or ""
    except c2pa.C2paError as exc:
        text = str(exc)
        if "ManifestNotFound" in type(exc).__name__ or "not found" in text.lower() or \
                "JUMBF" in text:
            return Verification(path, False, False, "", {}, ["no C2PA manifest"])
        return Verification(path, True, False, "Invalid", {}, [text])
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    status = store.get("validation_status") or []
    errors = [f"{s.get('code')}: {s.get('explanation', '')}".strip() for s in status
              if s.get("code") not in _BENIGN]
    valid = state in ("Valid", "Trusted") and not errors
    return Verification(path, True, valid, state, active, errors)


# an identity no public trust list knows is reported, not counted as a broken manifest
_BENIGN = {"signingCredential.untrusted"}


def models_used(store: Any, take_ids: list[str | None]) -> list[dict[str, str]]:
    """The models (and versions) that made the takes in the film, from their records."""
    from engine.model import entities as E

    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    for take_id in take_ids:
        take = store.get(E.Take, take_id) if take_id else None
        if take is None:
            continue
        rec = take.record or {}
        entry = {
            "backend": str(rec.get("backend") or rec.get("family") or take.kind),
            "model": str(rec.get("model") or rec.get("family") or rec.get("backend") or ""),
            "version": str(rec.get("model_hash") or rec.get("renderer_version")
                           or rec.get("version") or ""),
        }
        seen.setdefault((entry["backend"], entry["model"], entry["version"]), entry)
    return list(seen.values())


def identity_for(cert: str | Path | None = None, key: str | Path | None = None) -> Identity:
    """The signing identity: the user's PEM certificate chain and key (checked now, before
    a long export), or the local identity."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if bool(cert) != bool(key):
        raise C2paError("--c2pa-cert and --c2pa-key go together (PEM files).")
    if not (cert and key):
        return local_identity()
    identity = Identity(Path(cert), Path(key))
    try:
        certs = x509.load_pem_x509_certificates(identity.cert_chain.read_bytes())
        serialization.load_pem_private_key(identity.key.read_bytes(), password=None)
    except OSError as exc:
        raise C2paError(f"Cannot read {exc.filename}: {exc.strerror}.") from None
    except (ValueError, TypeError) as exc:
        raise C2paError(f"--c2pa-cert/--c2pa-key are not a PEM certificate chain and an "
                        f"unencrypted PEM key ({exc}).") from None
    if len(certs) == 1 and certs[0].issuer == certs[0].subject:
        raise C2paError("--c2pa-cert is a self-signed certificate, which C2PA refuses: sign "
                        "with a certificate issued by a CA (chain: yours, then the CA's).")
    return identity


def sign_export(store: Any, path: Path, identity: Identity) -> Path:
    """``export --c2pa``: sign the exported film; the manifest lists the models of the
    film's takes."""
    from engine.render.timeline_builder import build_timeline

    timeline = build_timeline(store)
    try:
        return sign_file(path, identity, title=store.project.title,
                         models=models_used(store, [c.take_id for c in timeline.video]))
    except C2paError as exc:
        raise C2paError(f"{path.name} was exported but is not signed: {exc}") from None
