"""C2PA content credentials: signed offline on export, verified, a changed file invalid."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509

from engine.cli import main
from engine.interchange.c2pa_sign import (
    SOURCE_TYPE,
    C2paError,
    local_identity,
    sign_file,
    verify_file,
)
from tests.engine.render.conftest import make_film
from tests.media_factory import make_video


@pytest.fixture
def animatic_project(tmp_path: Path, monkeypatch) -> Path:
    """A two-shot project whose takes the animatic pipeline made (real take records)."""
    monkeypatch.setenv("STORYREEL_HOME", str(tmp_path / "config"))
    store = make_film(tmp_path, 2, duration=1.0)
    root = store.root
    store.close()
    assert main(["generate", str(root), "--size", "64x96"]) == 0
    return root


def test_export_c2pa_validates_and_a_changed_copy_does_not(animatic_project, tmp_path: Path,
                                                          capsys) -> None:
    out = tmp_path / "film.mp4"
    assert main(["export", str(animatic_project), str(out), "--preset", "draft", "--c2pa"]) == 0
    capsys.readouterr()
    assert main(["verify", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] and report["state"] in ("Valid", "Trusted")
    actions = next(a for a in report["manifest"]["assertions"]
                   if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert actions[0]["digitalSourceType"] == SOURCE_TYPE
    models = next(a for a in report["manifest"]["assertions"]
                  if a["label"] == "org.storyreel.models")["data"]["models"]
    assert models == [{"backend": "animatic", "model": "animatic", "version": "animatic-2"}]
    # the local identity: a CA and a leaf it issued, the keys readable by the user only
    folder = tmp_path / "config" / "c2pa"
    for key in ("c2pa-key.pem", "c2pa-ca-key.pem"):
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600
    leaf, ca = x509.load_pem_x509_certificates((folder / "c2pa-cert.pem").read_bytes())
    assert leaf.issuer == ca.subject != leaf.subject
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    # one changed byte in the picture: the hash binding fails
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(data)
    capsys.readouterr()
    assert main(["verify", str(tampered)]) == 1
    text = capsys.readouterr().out
    assert "INVALID" in text
    assert verify_file(tampered).valid is False


def test_users_own_certificate_signs(tmp_path: Path) -> None:
    mine = local_identity(tmp_path / "mine", name="林晓")
    film = make_video(tmp_path / "a.mp4", frames=24, fps=24)
    unsigned = verify_file(film)
    assert not unsigned.present and not unsigned.valid
    store = make_film(tmp_path, 1)
    root = store.root
    store.close()
    out = tmp_path / "film.mp4"
    assert main(["export", str(root), str(out), "--preset", "draft", "--c2pa",
                 "--c2pa-cert", str(mine.cert_chain), "--c2pa-key", str(mine.key)]) == 0
    assert verify_file(out).valid
    assert main(["export", str(root), str(tmp_path / "b.mp4"), "--preset", "draft", "--c2pa",
                 "--c2pa-cert", str(mine.cert_chain)]) == 2


def test_self_signed_leaf_is_refused(tmp_path: Path) -> None:
    import datetime as dt

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from engine.interchange.c2pa_sign import Identity

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    film = make_video(tmp_path / "a.mp4", frames=24, fps=24)
    before = film.read_bytes()
    # the C2PA library itself refuses it ...
    with pytest.raises(C2paError):
        sign_file(film, Identity(tmp_path / "c.pem", tmp_path / "k.pem"), title="t", models=[])
    assert film.read_bytes() == before  # nothing half-written
    # ... and export says so before rendering anything
    store = make_film(tmp_path, 1)
    root = store.root
    store.close()
    out = tmp_path / "film.mp4"
    assert main(["export", str(root), str(out), "--c2pa", "--c2pa-cert",
                 str(tmp_path / "c.pem"), "--c2pa-key", str(tmp_path / "k.pem")]) == 2
    assert not out.exists()


def test_bad_c2pa_input_is_one_sentence(tmp_path: Path, capsys) -> None:
    store = make_film(tmp_path, 1)
    root = store.root
    store.close()
    (tmp_path / "junk.pem").write_text("not a certificate")
    cases = [
        (["export", str(root), str(tmp_path / "a.mp4"), "--c2pa-cert", str(tmp_path / "junk.pem"),
          "--c2pa-key", str(tmp_path / "junk.pem")], "add it"),
        (["export", str(root), str(tmp_path / "a.mp4"), "--c2pa", "--c2pa-cert",
          str(tmp_path / "junk.pem"), "--c2pa-key", str(tmp_path / "junk.pem")], "not a PEM"),
        (["export", str(root), str(tmp_path / "a.mp4"), "--c2pa", "--c2pa-cert",
          str(tmp_path / "none.pem"), "--c2pa-key", str(tmp_path / "none.pem")], "none.pem"),
        (["verify", str(tmp_path / "missing.mp4")], "does not exist"),
        (["verify", str(tmp_path / "junk.pem")], "supports"),
    ]
    for argv, needle in cases:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert needle in err and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "a.mp4").exists()
