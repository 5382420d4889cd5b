"""Local voice servers: real HTTP on loopback, an OpenAI-compatible /v1/audio/speech."""

from __future__ import annotations

import io
import json
import socket
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from engine.audio import tts, voices
from engine.errors import StoryreelError
from engine.model import Character, DialogueLine, Scene, Shot, VoiceClip, VoiceProfile

SR = 22050


def _wav_for(text: str, speed: float) -> bytes:
    """0.25 s of silence, then 0.18 s of tone per character (at ``speed``), then silence."""
    chars = sum(1 for c in text if c.isalnum())
    voiced = int(SR * 0.18 * chars / speed)
    t = np.arange(voiced) / SR
    tone = 0.4 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    x = np.concatenate([np.zeros(int(0.25 * SR)), tone, np.zeros(int(0.3 * SR))])
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(SR)
        wf.writeframes((x * 32767).astype("<i2").tobytes())
    return buf.getvalue()


class Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append({"path": self.path, **body})
        if body["voice"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model not loaded")
            return
        data = b"not audio at all" if body["voice"] == "junk" else \
            _wav_for(body["input"], body["speed"])
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_server_voice_speaks_by_sentence_with_timings_from_silence(server: str) -> None:
    text = "你好，我来了。我们走吧！"
    clip = tts.synthesize(text, VoiceProfile(backend="server", voice=f"{server}#my_clone"), "zh")
    assert clip.backend == "server" and clip.voice == "my_clone"
    assert [r["input"] for r in Handler.requests] == ["你好，我来了。", "我们走吧！"]
    assert all(r["path"] == "/v1/audio/speech" and r["voice"] == "my_clone"
               and r["response_format"] == "wav" for r in Handler.requests)
    assert [t["text"] for t in clip.timings] == list("你好我来了我们走吧")
    assert [text[t["pos"]] for t in clip.timings] == list("你好我来了我们走吧")
    # each sentence's characters fill its voiced span: 0.18 s each, silence cut to a pause
    first, second = clip.timings[:5], clip.timings[5:]
    assert first[-1]["end"] - first[0]["start"] == pytest.approx(5 * 0.18, abs=0.03)
    assert second[-1]["end"] - second[0]["start"] == pytest.approx(4 * 0.18, abs=0.03)
    assert 0.3 <= second[0]["start"] - first[-1]["end"] <= 0.45
    assert clip.duration == pytest.approx(9 * 0.18 + 0.35 + 0.05 * 2 + 0.12, abs=0.1)
    fast = tts.synthesize("你好。", VoiceProfile(backend="server", voice=f"{server}#a",
                                                rate=2.0), "zh")
    assert Handler.requests[-1]["speed"] == 2.0 and fast.duration < 0.6


def test_dead_or_failing_server_is_one_sentence_and_nothing_is_stored(server: str,
                                                                      project) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1#x"  # bound, never listening
    with pytest.raises(tts.TTSError, match="does not answer"):
        tts.synthesize("你好。", VoiceProfile(backend="server", voice=dead), "zh")
    with pytest.raises(tts.TTSError, match="HTTP 500: model not loaded"):
        tts.synthesize("你好。", VoiceProfile(backend="server", voice=f"{server}#broken"), "zh")
    with pytest.raises(tts.TTSError, match="did not send audio"):
        tts.synthesize("你好。", VoiceProfile(backend="server", voice=f"{server}#junk"), "zh")
    with pytest.raises(tts.TTSError, match="names no voice"):
        tts.synthesize("你好。", VoiceProfile(backend="server", voice=server), "zh")
    # in a project: the line that fails stores nothing, and says why in one sentence
    her = project.add(Character("林夏", voice=VoiceProfile(backend="server", voice=dead)))
    scene = project.add(Scene(number=1))
    project.add(Shot(scene_id=scene.id, dialogue=[DialogueLine("你好。", her.id)]))
    with pytest.raises(StoryreelError, match="does not answer"):
        voices.synthesize_project(project)
    assert project.all(VoiceClip) == []
