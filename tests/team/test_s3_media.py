"""Shared media in an S3-compatible bucket (moto's server on loopback, through boto3)."""

from __future__ import annotations

import socket

import pytest

from engine.errors import MediaError, ProjectError
from engine.model import Character, Project
from engine.ops import characters
from engine.ops.team import join, share
from engine.store import ProjectStore
from tests.media_factory import make_image


@pytest.fixture
def s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    for key, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                       "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    import boto3

    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}")
    client.create_bucket(Bucket="studio")
    yield client
    server.stop()


def test_media_in_a_bucket_is_uploaded_once_and_verified_on_fetch(tmp_path, server_url,
                                                                  s3) -> None:
    store = ProjectStore.create(tmp_path / "a.storyreel", Project(title="a"))
    lin = store.add(Character(name="林雨"))
    characters.add_reference_images(store, lin.id, [make_image(tmp_path / "r.png")])
    sha = store.require(Character, lin.id).reference_images[0]
    root = store.root
    store.close()
    with pytest.raises(ProjectError, match="cannot be reached"):
        share(root, server_url, "s3://no-such-bucket/x")
    share(root, server_url, "s3://studio/films/a")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="studio")["Contents"]]
    assert keys == [f"films/a/{sha[:2]}/{sha}.png"]
    other = join(server_url, tmp_path / "b.storyreel", "s3://studio/films/a")
    try:
        local = other.media.require_intact(sha, "林雨's reference")
        assert local.read_bytes() == (root / "media" / sha[:2] / f"{sha}.png").read_bytes()
        # a damaged object in the bucket is one sentence, and no broken file is cached
        local.unlink()
        s3.put_object(Bucket="studio", Key=keys[0], Body=b"not the saved bytes")
        with pytest.raises(MediaError, match="is damaged"):
            other.media.require_intact(sha, "林雨's reference")
        assert not local.exists()
    finally:
        other.close()
