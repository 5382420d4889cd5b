from __future__ import annotations

import hashlib
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.errors import ProjectError
from engine.model import Character, Shot
from engine.store import ProjectStore, schema
from engine.store.orm import Base

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "schema1.storyreel"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_migrations_match_the_orm(project: ProjectStore) -> None:
    with project.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    assert project.schema_version == schema.head_version() >= 2


def test_migrates_schema_1_fixture_after_backup(tmp_path: Path) -> None:
    work = tmp_path / "old.storyreel"
    shutil.copytree(FIXTURE, work)
    before = _dump(work / "project.db")
    store = ProjectStore.open(work)
    assert store.schema_version == schema.head_version()
    backups = list(work.glob("project.v1.*.bak.db"))
    assert len(backups) == 1 and _dump(backups[0]) == before
    assert store.project.title == "旧项目 Old project"
    (char,) = store.characters()
    assert char.name == "林雨" and char.costume == "白色风衣" and char.description == ""
    (shot,) = store.shots()
    assert shot.dialogue[0].text == "你终于来了。" and shot.seed == 42
    assert shot.generation == {}
    # the migrated project is fully writable
    store.add(Character(name="陈默"))
    shot.duration = 6.0
    store.update(shot)
    store.close()
    again = ProjectStore.open(work)
    assert [c.name for c in again.characters()] == ["林雨", "陈默"]
    assert again.require(Shot, shot.id).duration == 6.0
    again.close()


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path, project: ProjectStore) -> None:
    db = project.db_path
    project.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num='9999'")
    conn.commit()
    conn.close()
    before = _digest(db)
    files_before = sorted(p.name for p in db.parent.iterdir())
    with pytest.raises(ProjectError, match="newer Storyreel"):
        ProjectStore.open(db.parent)
    assert _digest(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == files_before


def test_corrupt_database_gets_one_sentence(tmp_path: Path, project: ProjectStore) -> None:
    db = project.db_path
    project.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ProjectError, match="corrupt|not a Storyreel"):
        ProjectStore.open(db.parent)


WRITER = r"""
import sys
from engine.store import ProjectStore
from engine.model import Scene, Shot
store = ProjectStore.open(sys.argv[1])
scene = store.scenes()[0]
i = 0
print("ready", flush=True)
while True:
    with store.transaction("batch"):
        for k in range(5):
            store.add(Shot(scene_id=scene.id, order=i * 5 + k, action="x" * 2000))
        p = store.project
        p.settings = {"batches": i + 1}
        store.update(p)
    i += 1
    print("committed", i, flush=True)
"""


COMMITS_BEFORE_KILL = 3


def test_killed_mid_write_leaves_last_commit_readable(tmp_path: Path) -> None:
    from engine.model import Scene

    store = ProjectStore.create(tmp_path / "kill.storyreel")
    store.add(Scene(number=1))
    store.close()
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "kill.storyreel")],
        stdout=subprocess.PIPE, text=True, cwd=root,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        # kill it once it has committed a few batches, while it is writing the next one
        for expected in range(1, COMMITS_BEFORE_KILL + 1):
            assert proc.stdout.readline().split() == ["committed", str(expected)]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    reopened = ProjectStore.open(tmp_path / "kill.storyreel")
    batches = reopened.project.settings.get("batches", 0)
    shots = reopened.shots()
    assert batches >= COMMITS_BEFORE_KILL, "a batch the writer reported committed was lost"
    # every committed batch is whole: 5 shots per batch, and the counter agrees
    assert len(shots) == batches * 5
    reopened.close()
