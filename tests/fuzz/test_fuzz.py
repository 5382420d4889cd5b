"""Property-based fuzzing of every entry point that reads untrusted input: each input
is accepted, or refused with one clean sentence that changes nothing (harness.py says
how each is judged). The budget is bounded for `make test`; see conftest.py to raise it.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import harness as H

pytestmark = pytest.mark.slow


def _ok(outcome: H.Outcome) -> None:
    assert outcome.kind != H.CRASH, outcome.detail


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="storyreel-fuzz-"))


lines = st.one_of(
    st.sampled_from(H.BODY),
    st.builds(lambda h, n: h.format(n=n), st.sampled_from(H.HEADINGS),
              st.integers(-5, 10**6)),
    st.text(max_size=80),
)
scripts = st.lists(lines, max_size=40).map("\n".join)


@given(text=st.one_of(scripts, st.text(max_size=400)),
       fmt=st.sampled_from(("auto", "fountain", "chinese")))
@example(text=H.SCRIPT_ZH, fmt="auto")
@example(text=H.SCRIPT_FOUNTAIN, fmt="auto")
@example(text="第1场 日 内 客厅\n李明：" + "你" * 2001, fmt="chinese")
def test_script_text_is_parsed_or_refused(text: str, fmt: str) -> None:
    _ok(H.run_script_text(text, fmt))


@given(text=scripts, encoding=st.sampled_from(H.ENCODINGS),
       bom=st.sampled_from((b"", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")),
       tail=st.binary(max_size=3), suffix=st.sampled_from((".txt", ".fountain", ".md")))
@example(text=H.SCRIPT_ZH, encoding="utf-16-le", bom=b"\xff\xfe", tail=b"\x00",
         suffix=".txt")  # finding 3: UTF-16 with an odd byte count
@example(text="第1场 日 内 客厅", encoding="utf-16-le", bom=b"\xff\xfe", tail=b"\x00\xd8",
         suffix=".txt")  # finding 3: a lone surrogate
def test_script_files_in_any_encoding_are_read_or_refused(
        text: str, encoding: str, bom: bytes, tail: bytes, suffix: str) -> None:
    data = bom + text.encode(encoding, errors="replace") + tail
    work = _scratch()
    try:
        _ok(H.run_script_file(data, work, suffix))
    finally:
        shutil.rmtree(work)


@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_as_a_script_are_read_or_refused(data: bytes) -> None:
    work = _scratch()
    try:
        _ok(H.run_script_file(data, work))
    finally:
        shutil.rmtree(work)


timed_lines = st.lists(st.builds(
    lambda text, start, length, timings, lang: __import__(
        "engine.interchange.subtitles", fromlist=["TimedLine"]).TimedLine(
        text, start, start + length, timings, lang),
    st.one_of(st.text(max_size=120), st.sampled_from(H.BODY)),
    st.floats(0, 3600, allow_nan=False), st.floats(-1, 60, allow_nan=False),
    st.lists(st.fixed_dictionaries({"text": st.text(max_size=6),
                                    "start": st.floats(-1, 60, allow_nan=False),
                                    "end": st.floats(-1, 60, allow_nan=False)}), max_size=4),
    st.sampled_from(("zh", "en", "")),
), max_size=6)


@given(lines=timed_lines, aspect=st.sampled_from(("9:16", "16:9", "1:1")))
def test_subtitles_are_written_and_read_back(lines: list, aspect: str) -> None:
    work = _scratch()
    try:
        _ok(H.run_subtitles(lines, work, aspect))
    finally:
        shutil.rmtree(work)


@given(rng=st.randoms(use_true_random=False))
def test_llm_replies_are_parsed_or_refused(rng: random.Random) -> None:
    what, reply = H.llm_reply(rng)
    _ok(H.run_llm(what, reply))


@given(what=st.sampled_from(("story", "shots")), reply=st.text(max_size=300),
       second=st.one_of(st.none(), st.text(max_size=300)))
@example(what="shots", reply='{"shots": [{"beats": [99]}]}', second="{")
def test_arbitrary_llm_text_is_refused_cleanly(what: str, reply: str,
                                               second: str | None) -> None:
    _ok(H.run_llm(what, reply, second))


@given(rng=st.randoms(use_true_random=False))
def test_damaged_media_is_probed_or_refused(seed: dict, rng: random.Random) -> None:
    ext = rng.choice(sorted(seed["media"]))
    work = _scratch()
    try:
        _ok(H.run_media(H.mutate(seed["media"][ext], rng), work, ext))
    finally:
        shutil.rmtree(work)


@given(rng=st.randoms(use_true_random=False))
def test_mutated_bundles_unpack_or_are_refused_leaving_nothing(
        seed: dict, rng: random.Random) -> None:
    work = _scratch()
    try:
        _ok(H.run_bundle(H.mutate(seed["zip"], rng), work))
    finally:
        shutil.rmtree(work)


@given(rng=st.randoms(use_true_random=False), command=st.sampled_from(H.PROJECT_COMMANDS))
def test_damaged_project_db_is_read_or_refused_unchanged(
        seed: dict, rng: random.Random, command: list[str]) -> None:
    work = _scratch()
    try:
        project = work / "p.storyreel"
        shutil.copytree(seed["project"], project)
        _ok(H.run_project(H.mutate(seed["db"], rng), project, work, list(command)))
    finally:
        shutil.rmtree(work)
