"""Share a project on a real PostgreSQL server, join it, and work on two linked copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ProjectError
from engine.model import Character, Project, Scene, Shot, ShotSize
from engine.ops import characters, shots
from engine.ops.team import join, share
from engine.store import ProjectStore
from engine.store.history import StaleWriteError
from tests.media_factory import make_image


def _local_film(tmp_path: Path) -> Path:
    store = ProjectStore.create(tmp_path / "雨夜.storyreel", Project(title="雨夜"))
    scene = store.add(Scene(number=1, heading="INT. 客厅"))
    lin = store.add(Character(name="林雨", costume="白衬衫"))
    for i in range(3):
        store.add(Shot(scene_id=scene.id, order=i, characters=[lin.id], duration=2.0 + i))
    img = make_image(tmp_path / "ref.png")
    characters.add_reference_images(store, lin.id, [img])
    shots.set_shot_fields(store, store.shots()[0].id, action="她推开门", author="owner")
    root = store.root
    store.close()
    return root


def test_share_moves_the_project_and_join_links_a_second_copy(tmp_path, server_url) -> None:
    root = _local_film(tmp_path)
    media = tmp_path / "nas"
    media.mkdir()
    with ProjectStore.open(root) as before:
        titles = [(s.order, s.duration, s.action) for s in before.shots()]
        history_len = len(before.history())
        ref_sha = before.character_by_name("林雨").reference_images[0]
    link = share(root, server_url.replace("postgres@", "postgres:secret@"), str(media))
    kept = json.loads((root / "team.json").read_text())
    assert "secret" not in kept["server"] and kept["server"].startswith("postgresql+psycopg://")
    assert not (root / "project.db").exists()
    assert list(root.glob("project.before-share.*.bak.db"))
    # the shared media store holds every object, content addressed
    assert (media / ref_sha[:2]).is_dir()
    assert link.project_id

    with ProjectStore.open(root) as a:
        assert a.is_linked and a.engine.dialect.name == "postgresql"
        assert [(s.order, s.duration, s.action) for s in a.shots()] == titles
        assert len(a.history()) == history_len  # the history moved with it
        b = join(server_url, tmp_path / "machine2" / "雨夜.storyreel", str(media))
        try:
            # the second machine's cache is empty until a file is needed, then verified
            assert a.media.exists(ref_sha)
            path = b.media.require_intact(ref_sha, "林雨's reference")
            assert path.is_file() and path.is_relative_to(b.root)
            shot_id = a.shots()[1].id
            seen: list = []
            b.subscribe(seen.append)
            shots.set_shot_fields(a, shot_id, size="CU")
            entries = b.wait_for_change(5.0)
            assert [e.op for e in entries] and b.require(Shot, shot_id).size is ShotSize.CLOSE_UP
            assert seen and any(c.key == shot_id for c in seen[0])
            # a stale write from b's old read of a field a changed is refused
            stale = b.require(Shot, shot_id)
            shots.set_shot_fields(a, shot_id, duration=7.0)
            stale.duration = 1.0
            with pytest.raises(StaleWriteError):
                b.update(stale)
            assert a.require(Shot, shot_id).duration == 7.0
        finally:
            b.close()


def test_sharing_refuses_bad_servers_and_a_database_in_use(tmp_path, server_url, pg) -> None:
    root = _local_film(tmp_path)
    (tmp_path / "nas").mkdir()
    with pytest.raises(ProjectError, match="not a PostgreSQL URL"):
        share(root, "sqlite:///x.db", str(tmp_path / "nas"))
    with pytest.raises(ProjectError, match="cannot be reached"):
        share(root, f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/no_such_db",
              str(tmp_path / "nas"))
    with pytest.raises(ProjectError, match="does not exist or is not mounted"):
        share(root, server_url, str(tmp_path / "missing"))
    assert (root / "project.db").is_file() and not (root / "team.json").exists()
    share(root, server_url, str(tmp_path / "nas"))
    other = _local_film(tmp_path / "second")
    with pytest.raises(ProjectError, match="already holds a Storyreel project"):
        share(other, server_url, str(tmp_path / "nas"))
    assert (other / "project.db").is_file()


def test_a_server_with_a_newer_schema_is_refused(tmp_path, server_url) -> None:
    from sqlalchemy import create_engine, text

    root = _local_film(tmp_path)
    (tmp_path / "nas").mkdir()
    share(root, server_url, str(tmp_path / "nas"))
    engine = create_engine(server_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '999'"))
    engine.dispose()
    with pytest.raises(ProjectError, match=r"saved by a newer Storyreel \(schema 999\)"):
        ProjectStore.open(root)


def test_the_kept_url_drops_the_password_and_keeps_tls_settings() -> None:
    from engine.store.team import public_url

    kept = public_url("postgresql://ed:hunter2@db.example:6543/film?sslmode=verify-full"
                      "&sslrootcert=/etc/ca.pem")
    assert kept == ("postgresql+psycopg://ed@db.example:6543/film?sslmode=verify-full"
                    "&sslrootcert=%2Fetc%2Fca.pem")
    with pytest.raises(ProjectError, match="names no user"):
        public_url("postgresql://db.example/film")
