"""Content-addressed media store: ``media/ab/abcdef....ext``, one file per distinct content.

Files are validated before they enter the store (PyAV for audio and video, Pillow for
images); an unreadable file is refused with one sentence and nothing is added.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import MediaError, one_line
from engine.model import MediaAsset, MediaKind

if TYPE_CHECKING:
    from engine.store.project import ProjectStore

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
AUDIO_EXTS = {".wav", ".mp3", ".aac", ".m4a", ".flac", ".ogg", ".opus"}
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
CHUNK = 1 << 20
MAX_SIDE = 16384  # pixels a side; 8K video is 7680×4320
MAX_PIXELS = 100_000_000  # per picture


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Probe:
    kind: MediaKind
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    has_audio: bool = False


def probe(path: Path) -> Probe:
    """Read what a media file is. Raises MediaError if it cannot be decoded."""
    ext = path.suffix.lower()
    if path.is_file() and path.stat().st_size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes).")
    if ext in IMAGE_EXTS:
        return _probe_image(path)
    if ext not in AUDIO_EXTS | VIDEO_EXTS:
        raise MediaError(
            f"{path.name}: unsupported file type {ext or '(none)'}; expected an image "
            f"({', '.join(sorted(IMAGE_EXTS))}), audio or video file."
        )
    return _probe_av(path)


def check_frame_size(name: str, width: int | None, height: int | None) -> None:
    """Refuse absurd picture dimensions (read from the header) before decoding allocates."""
    w, h = int(width or 0), int(height or 0)
    if w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
        raise MediaError(f"{name} says its pictures are {w}×{h}, more than Storyreel reads "
                         f"(at most {MAX_SIDE} a side and {MAX_PIXELS // 1_000_000} megapixels); "
                         "scale it down first.")


def _probe_image(path: Path) -> Probe:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            check_frame_size(path.name, img.width, img.height)
            img.verify()
        with Image.open(path) as img:
            img.load()
            return Probe(MediaKind.IMAGE, width=img.width, height=img.height)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as exc:
        raise MediaError(f"{path.name} is not a readable image ({one_line(str(exc), 120)})."
                         ) from exc


def _readable_end(path: Path) -> float:
    """Seconds up to which the file's packets can actually be read (demux, no decode)."""
    import av

    end = 0.0
    try:
        with av.open(str(path)) as container:
            for packet in container.demux():
                if packet.size and packet.pts is not None and packet.time_base:
                    end = max(end, float((packet.pts + (packet.duration or 0))
                                         * packet.time_base))
    except Exception:  # noqa: BLE001 - a read error mid-file: what came before is what counts
        pass
    return end


def _check_complete(path: Path, duration: float | None) -> None:
    """Refuse a video cut off part-way: its header promises more than its packets hold.
    (Audio is left alone: MP3 headers only estimate their duration.)"""
    if not duration:
        return
    end = _readable_end(path)
    if end + max(0.5, 0.1 * duration) < duration:
        raise MediaError(f"{path.name} is cut off: only {end:.2f} s of the {duration:.2f} s it "
                         "declares can be read; copy the file again from its source.")


def _probe_av(path: Path) -> Probe:
    import av

    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise MediaError(f"{path.name} has no audio or video stream.")
            duration = None
            if container.duration is not None:
                duration = container.duration / 1_000_000
            if video is not None and video.codec_context is None:
                raise MediaError(f"{path.name} uses a video codec Storyreel cannot decode"
                                 "; convert it to H.264.")
            if audio is not None and audio.codec_context is None and video is None:
                raise MediaError(f"{path.name} uses an audio codec Storyreel cannot decode; "
                                 "convert it to WAV, FLAC or AAC.")
            if video is not None:
                check_frame_size(path.name, video.codec_context.width,
                                 video.codec_context.height)
            # decode one frame to prove the content is readable, not just the header
            stream = video if video is not None else audio
            frame = next(iter(container.decode(stream)), None)
            if frame is None:
                raise MediaError(f"{path.name} contains no decodable frames.")
            if video is not None:
                check_frame_size(path.name, frame.width, frame.height)
                _check_complete(path, duration)
            if video is not None:
                rate = video.average_rate or video.guessed_rate
                fps = float(rate) if rate else None
                if duration is None and video.duration is not None and video.time_base:
                    duration = float(video.duration * video.time_base)
                return Probe(
                    MediaKind.VIDEO, duration=duration, width=video.codec_context.width,
                    height=video.codec_context.height, fps=fps, has_audio=audio is not None,
                )
            return Probe(MediaKind.AUDIO, duration=duration, has_audio=True)
    except MediaError:
        raise
    except (av.error.FFmpegError, StopIteration, IndexError, ValueError, OSError,
            EOFError, MemoryError) as exc:
        raise MediaError(f"{path.name} is not a readable media file "
                         f"({one_line(str(exc), 120)}).") from exc


class MediaStore:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    @property
    def root(self) -> Path:
        return self._store.root / "media"

    def path(self, sha256: str) -> Path:
        asset = self._store.get(MediaAsset, sha256)
        if asset is None:
            raise MediaError(f"Media {sha256[:12]}… is not in this project.")
        self._materialize(asset)
        return self._store.root / asset.relpath

    def _materialize(self, asset: MediaAsset) -> None:
        """On a linked copy, bring a shared object into this machine's cache once."""
        shared = self._store.shared
        if shared is None:
            return
        target = self._store.root / asset.relpath
        if target.is_file() and target.stat().st_size == asset.size_bytes:
            return
        shared.fetch(asset.relpath, asset.sha256, asset.size_bytes, target)

    def exists(self, sha256: str) -> bool:
        """The file is in the folder with its recorded size (not deleted or truncated)."""
        asset = self._store.get(MediaAsset, sha256)
        return asset is not None and self._intact(asset)

    def require_intact(self, sha256: str, what: str, remedy: str = "") -> Path:
        """The file's path; else MediaError: ``what`` (e.g. "Shot 1-2: its voice") is
        missing or damaged, and ``remedy`` (e.g. "`storyreel voice` makes it again")."""
        asset = self._store.get(MediaAsset, sha256)
        hint = f" ({remedy})" if remedy else ""
        if asset is None:
            raise MediaError(f"{what} media {sha256[:12]}… is not in this project{hint}.")
        self._materialize(asset)
        target = self._store.root / asset.relpath
        if not target.is_file():
            raise MediaError(
                f"{what} file {asset.relpath} is missing from the project folder{hint}."
            )
        size = target.stat().st_size
        if size != asset.size_bytes:
            raise MediaError(f"{what} file {asset.relpath} is damaged ({size} bytes, "
                             f"{asset.size_bytes} saved) and cannot be opened{hint}.")
        return target

    def _intact(self, asset: MediaAsset) -> bool:
        self._materialize(asset)
        target = self._store.root / asset.relpath
        return target.is_file() and target.stat().st_size == asset.size_bytes

    def import_file(self, source: str | Path) -> MediaAsset:
        """Copy a file into the store once (same bytes → same file) and record it."""
        src = Path(source)
        if not src.is_file():
            raise MediaError(f"{source} does not exist or is not a file.")
        info = probe(src)
        sha = sha256_file(src)
        existing = self._store.get(MediaAsset, sha)
        if existing is not None and self._intact(existing):
            return existing
        asset = MediaAsset(
            sha256=sha, ext=src.suffix.lower(), kind=info.kind, original_name=src.name,
            size_bytes=src.stat().st_size, duration=info.duration, width=info.width,
            height=info.height, fps=info.fps, has_audio=info.has_audio,
        )
        self._place(src, asset, copy=True)
        if existing is None:
            self._store.add(asset)
        return asset

    def add_bytes(self, data: bytes, ext: str, original_name: str = "") -> MediaAsset:
        """Store generated bytes (validated like any other file) and record them."""
        with tempfile.NamedTemporaryFile(suffix=ext, delete=False, dir=self._tmp_dir()) as fh:
            fh.write(data)
            tmp = Path(fh.name)
        try:
            return self.add_file(tmp, original_name=original_name, move=True)
        finally:
            tmp.unlink(missing_ok=True)

    def add_file(self, path: Path, original_name: str = "", move: bool = False) -> MediaAsset:
        """Store a file produced by Storyreel itself (a take, a voice clip, a thumbnail)."""
        info = probe(path)
        sha = sha256_file(path)
        existing = self._store.get(MediaAsset, sha)
        if existing is not None and self._intact(existing):
            if move:
                path.unlink(missing_ok=True)
            return existing
        asset = MediaAsset(
            sha256=sha, ext=path.suffix.lower(), kind=info.kind,
            original_name=original_name or path.name, size_bytes=path.stat().st_size,
            duration=info.duration, width=info.width, height=info.height, fps=info.fps,
            has_audio=info.has_audio,
        )
        self._place(path, asset, copy=not move)
        if existing is None:
            self._store.add(asset)
        return asset

    def _tmp_dir(self) -> Path:
        tmp = self._store.root / "cache" / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def _place(self, src: Path, asset: MediaAsset, copy: bool) -> None:
        target = self._store.root / asset.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.stat().st_size == asset.size_bytes:
            if not copy:
                src.unlink(missing_ok=True)
            if self._store.shared is not None:
                self._store.shared.put(target, asset.relpath, asset.size_bytes)
            return
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if copy:
                shutil.copyfile(src, tmp)
            else:
                shutil.move(str(src), tmp)
            # mkstemp makes the file private (0600); media is shared like any document
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        if self._store.shared is not None:
            self._store.shared.put(target, asset.relpath, asset.size_bytes)
