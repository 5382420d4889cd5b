"""The film's sound encoded to AAC in chunks: in parallel, and reused across exports.

The mix is cut into chunks of ``CHUNK_FRAMES`` AAC frames (3.2 s at 48 kHz: 150 frames of
1024 samples, 32 loudness steps of 100 ms). Each chunk is encoded by its own encoder with
``PRE_ROLL`` samples of the mix before it and ``POST_ROLL`` after it, and only the packets
whose decoded output lies inside the chunk are kept. AAC packet *p* (its timestamp, in
samples of the film) decodes to samples [p, p + 1024) by overlap-adding the second half of
packet p − 1024's window and the first half of its own, and each window spans 2048
samples: at a splice both windows were computed from the same sound (each encoder saw
past the cut), so the aliasing cancels as it does inside one stream, and the join is as
clean as any other frame. The first chunk has no pre-roll: its encoder's priming packet
(at −1024) starts the stream, and the file's edit list has players drop it.

A chunk's packets are a pure function of the samples its encoder saw and the encoder's
settings, so they are cached in the project's ``cache/`` under a hash of exactly those
(bounded in bytes, least recently used out): a re-export after a trim reuses every chunk
before the trim point and encodes only the rest, in threads (PyAV encodes without the
GIL). A full ``--no-cache`` export encodes the same chunks, so both files hold the same
packets.

Cache files are plain bytes (a magic, the packet count, the sizes, the payloads): never
pickle.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from engine.jobs.progress import CancelToken
from engine.store.cache_files import prune_oldest

AAC_FRAME = 1024
CHUNK_FRAMES = 150
CHUNK = CHUNK_FRAMES * AAC_FRAME  # samples
PRE_ROLL = 4 * AAC_FRAME  # the encoder settles (window shape, rate control) before the cut
POST_ROLL = 3 * AAC_FRAME  # the last kept window and the encoder's look-ahead see the sound
CHUNK_CODE_VERSION = "1"  # bump when what a chunk's packets are made from changes
_MAGIC = b"SRAAC1\n\0"
_FIGURES_MAGIC = b"SRFIG1\n\0"
DEFAULT_CHUNK_CACHE_BYTES = 256 * 1024**2


@dataclass(frozen=True)
class AacSettings:
    rate: int = 48000
    bit_rate: int = 192_000
    codec: str = "aac"
    coder: str | None = None
    channels: int = 2

    def key(self) -> str:
        import av

        return "|".join(map(str, (CHUNK_CODE_VERSION, av.library_versions.get("libavcodec"),
                                  self.rate, self.bit_rate, self.codec, self.coder,
                                  self.channels, CHUNK, PRE_ROLL, POST_ROLL)))

    def encoder(self) -> Any:
        import av

        ctx = av.CodecContext.create(self.codec, "w")
        ctx.sample_rate = self.rate
        ctx.layout = "stereo" if self.channels == 2 else "mono"
        ctx.format = "fltp"
        ctx.bit_rate = self.bit_rate
        ctx.time_base = Fraction(1, self.rate)
        ctx.options = self.options()
        return ctx

    def options(self) -> dict[str, str]:
        """FFmpeg's native AAC encoder without perceptual noise substitution: a decoder
        draws PNS noise from a generator that runs on across the whole stream, so with
        it a chunk would decode differently after a seek — and its figures could not be
        measured once and kept. Without it every packet decodes to the same samples
        however the decoder got there (the overlap with the previous packet aside)."""
        if self.codec != "aac":
            return {}
        options = {"aac_pns": "0"}
        if self.coder:
            options["aac_coder"] = self.coder
        return options


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # first sample of the film this chunk's packets decode to
    end: int  # exclusive
    feed_start: int  # first sample its encoder reads (start − pre-roll, or 0)
    feed_end: int  # exclusive (end + post-roll, or the film's end)

    @property
    def first_pts(self) -> int:
        return -AAC_FRAME if self.start == 0 else self.start


def plan_chunks(total: int) -> list[Chunk]:
    """The chunks of a ``total``-sample mix."""
    chunks = []
    for i, c0 in enumerate(range(0, max(total, 1), CHUNK)):
        c1 = min(total, c0 + CHUNK)
        chunks.append(Chunk(i, c0, c1, max(0, c0 - PRE_ROLL), min(total, c1 + POST_ROLL)))
    return chunks


def chunk_key(settings: AacSettings, chunk: Chunk, pcm: Any, total: int) -> str:
    """A hash of all a chunk's packets depend on: the settings, the samples its encoder
    reads (``pcm``, (frames, channels) float32 of the whole mix), where the chunk sits in
    them, and whether the stream starts or ends there."""
    h = hashlib.sha256(settings.key().encode())
    h.update(struct.pack("<qqqq?", chunk.start - chunk.feed_start, chunk.end - chunk.start,
                         chunk.feed_end - chunk.end, chunk.feed_end - chunk.feed_start,
                         chunk.start == 0))
    h.update(struct.pack("<?", chunk.feed_end == total))
    h.update(np.ascontiguousarray(pcm[chunk.feed_start:chunk.feed_end], dtype="<f4").data)
    return h.hexdigest()[:32]


def encode_chunk(settings: AacSettings, chunk: Chunk, pcm: Any,
                 cancel: CancelToken | None = None) -> list[bytes]:
    """The packets (payloads, in order, one per 1024 samples from ``chunk.first_pts``)
    that decode to the chunk's samples."""
    import av

    ctx = settings.encoder()
    layout = "stereo" if settings.channels == 2 else "mono"
    kept: list[bytes] = []
    last_pts = ((chunk.end - 1) // AAC_FRAME) * AAC_FRAME  # decodes to the chunk's last sample

    def take(packets: list[Any]) -> None:
        for packet in packets:
            pts = int(packet.pts)
            if chunk.first_pts <= pts <= last_pts and (pts - chunk.first_pts) % AAC_FRAME == 0:
                kept.append(bytes(packet))

    step = 8 * AAC_FRAME
    for s0 in range(chunk.feed_start, chunk.feed_end, step):
        if cancel is not None:
            cancel.check()
        s1 = min(chunk.feed_end, s0 + step)
        block = np.ascontiguousarray(pcm[s0:s1].T, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = settings.rate
        frame.pts = s0
        frame.time_base = Fraction(1, settings.rate)
        take(ctx.encode(frame))
    take(ctx.encode(None))
    expected = (last_pts - chunk.first_pts) // AAC_FRAME + 1
    if len(kept) != expected:
        raise RuntimeError(f"AAC chunk {chunk.index}: {len(kept)} packets, not {expected}.")
    return kept


class ChunkCache:
    """Encoded chunks in a folder, by key; bounded in bytes, least recently used out."""

    def __init__(self, folder: Path, limit_bytes: int = DEFAULT_CHUNK_CACHE_BYTES) -> None:
        self.folder, self.limit = folder, limit_bytes

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.aacchunk"

    def get(self, key: str) -> list[bytes] | None:
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        packets = _unpack(data)
        if packets is None:  # damaged: made again
            path.unlink(missing_ok=True)
            return None
        os.utime(path)
        return packets

    def put(self, key: str, packets: list[bytes]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        tmp = path.with_name(f"{path.name}.part-{os.getpid()}-{id(packets):x}")
        try:
            tmp.write_bytes(_pack(packets))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def get_figures(self, key: str) -> np.ndarray | None:
        """A chunk's measured figures (float64: true peak, 100 ms step powers)."""
        path = self.folder / f"{key}.figures"
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not data.startswith(_FIGURES_MAGIC) or (len(data) - len(_FIGURES_MAGIC)) % 8 \
                or len(data) == len(_FIGURES_MAGIC):
            path.unlink(missing_ok=True)
            return None
        os.utime(path)
        return np.frombuffer(data, dtype="<f8", offset=len(_FIGURES_MAGIC)).copy()

    def put_figures(self, key: str, values: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.figures"
        tmp = path.with_name(f"{path.name}.part-{os.getpid()}-{id(values):x}")
        try:
            tmp.write_bytes(_FIGURES_MAGIC + np.asarray(values, dtype="<f8").tobytes())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def prune(self, keep: set[str]) -> int:
        return prune_oldest(self.folder, ("*.aacchunk", "*.figures"), self.limit, keep)


def _pack(packets: list[bytes]) -> bytes:
    sizes = struct.pack(f"<I{len(packets)}I", len(packets), *(len(p) for p in packets))
    return _MAGIC + sizes + b"".join(packets)


def _unpack(data: bytes) -> list[bytes] | None:
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 4:
        return None
    pos = len(_MAGIC)
    (count,) = struct.unpack_from("<I", data, pos)
    pos += 4
    if len(data) < pos + 4 * count:
        return None
    sizes = struct.unpack_from(f"<{count}I", data, pos)
    pos += 4 * count
    if pos + sum(sizes) != len(data):
        return None
    out = []
    for size in sizes:
        out.append(data[pos:pos + size])
        pos += size
    return out


@dataclass
class ChunkedEncode:
    packets: list[list[bytes]]  # per chunk
    chunks: list[Chunk]
    encoded: int  # chunks encoded in this call (the rest came from the cache)
    keys: list[str]


def encode_chunks(pcm: Any, settings: AacSettings, cache: ChunkCache | None = None,
                  use_cache: bool = True, workers: int | None = None,
                  cancel: CancelToken | None = None) -> ChunkedEncode:
    """Every chunk of ``pcm`` ((frames, channels) float32: an array, or anything sliced
    like one, as ``engine.audio.decode.PcmFile``) encoded, or taken from
    ``cache``; the missing ones in ``workers`` threads (None: one per core)."""
    total = int(pcm.shape[0])
    chunks = plan_chunks(total)
    keys = [chunk_key(settings, c, pcm, total) for c in chunks]
    packets: list[list[bytes] | None] = [None] * len(chunks)
    todo: list[int] = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache is not None and use_cache else None
        if hit is not None:
            packets[i] = hit
        else:
            todo.append(i)

    def run(i: int) -> list[bytes]:
        out = encode_chunk(settings, chunks[i], pcm, cancel)
        if cache is not None:
            cache.put(keys[i], out)
        return out

    n = max(1, min(len(todo), workers or os.cpu_count() or 1))
    if n == 1:
        for i in todo:
            packets[i] = run(i)
    else:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="storyreel-aac") as pool:
            for i, out in zip(todo, pool.map(run, todo), strict=True):
                packets[i] = out
    return ChunkedEncode([p for p in packets if p is not None], chunks, len(todo), keys)


def write_packets(result: ChunkedEncode, settings: AacSettings, out_path: Path,
                  on_packet: Callable[[Any], None] | None = None) -> int:
    """The chunks' packets, in order, as an audio-only MP4 at ``out_path`` (the priming
    packet at −1024 becomes the file's edit list). Returns the samples of sound."""
    import av

    tb = Fraction(1, settings.rate)
    total = result.chunks[-1].end if result.chunks else 0
    with av.open(str(out_path), "w", format="mp4") as container:
        stream = container.add_stream(settings.codec, rate=settings.rate)
        stream.layout = "stereo" if settings.channels == 2 else "mono"
        stream.bit_rate = settings.bit_rate
        stream.options = settings.options()
        stream.time_base = tb
        for chunk, payloads in zip(result.chunks, result.packets, strict=True):
            for j, payload in enumerate(payloads):
                packet = av.Packet(payload)
                pts = chunk.first_pts + j * AAC_FRAME
                packet.pts = packet.dts = pts
                packet.duration = min(AAC_FRAME, max(0, total - pts)) if pts >= 0 \
                    else AAC_FRAME
                packet.time_base = tb
                packet.stream = stream
                if on_packet is not None:
                    on_packet(packet)
                container.mux(packet)
    return total


def _figures_key(settings: AacSettings, keys: list[str], i: int) -> str:
    # a chunk's decoded samples (and the history its meters read) come from its packets
    # and the previous chunk's
    h = hashlib.sha256(f"figures|{settings.key()}|{keys[i - 1] if i else ''}|{keys[i]}"
                       .encode())
    return h.hexdigest()[:32]


def _chunk_figures(history: np.ndarray, samples: np.ndarray, channels: int) -> np.ndarray:
    """[true peak (linear), 100 ms step powers …] of one chunk's decoded samples, its
    meters primed with the decoded samples before it."""
    from engine.audio.loudness import LoudnessMeter, TruePeakMeter

    loud, peak = LoudnessMeter(channels), TruePeakMeter(channels)
    loud.prime(history)
    peak.prime(history)
    loud.add(samples)
    peak.add(samples)
    return np.array([peak.peak, *loud.steps], dtype="<f8")


TAIL_PACKETS = 10  # of the chunk before, decoded for a chunk's meter history: 8191
# samples, and one packet more (decoded without its overlap, so not used)


def _extradata(settings: AacSettings) -> bytes | None:
    encoder = settings.encoder()
    encoder.open()
    return encoder.extradata


def measure_chunk(result: ChunkedEncode, settings: AacSettings, index: int,
                  extradata: bytes | None) -> np.ndarray:
    """[true peak (linear), 100 ms step powers …] of chunk ``index`` decoded as a player
    decodes the file (the priming before time 0 and the padding after the end dropped),
    its meters primed with the decoded end of the chunk before it. Without PNS a packet
    decodes to the same samples whatever came before it but the packet just before, so
    this decodes only the chunk and the last packets of the one before."""
    import av

    from engine.audio.loudness import LoudnessMeter

    channels = settings.channels
    chunk = result.chunks[index]
    packets: list[tuple[int, bytes]] = []
    if index > 0:
        before, payloads = result.chunks[index - 1], result.packets[index - 1]
        first = max(0, len(payloads) - TAIL_PACKETS)
        packets += [(before.first_pts + k * AAC_FRAME, payloads[k])
                    for k in range(first, len(payloads))]
    packets += [(chunk.first_pts + k * AAC_FRAME, p)
                for k, p in enumerate(result.packets[index])]
    decoder = av.CodecContext.create(settings.codec, "r")
    decoder.extradata = extradata
    decoder.sample_rate = settings.rate
    decoder.layout = "stereo" if channels == 2 else "mono"
    lo = max(0, chunk.start - LoudnessMeter.HISTORY)  # the history, then the chunk
    parts = []
    last = index == len(result.chunks) - 1
    for n, (pts, payload) in enumerate(packets):
        packet = av.Packet(payload)
        packet.pts = packet.dts = pts
        packet.time_base = Fraction(1, settings.rate)
        frames = list(decoder.decode(packet))
        if last and n == len(packets) - 1:
            frames += list(decoder.decode(None))
        position = pts
        for frame in frames:
            data = frame.to_ndarray().reshape(channels, -1)
            a, b = position, position + data.shape[1]
            position = b
            x0, x1 = max(a, lo), min(b, chunk.end)
            if x1 > x0:
                parts.append(np.asarray(data[:, x0 - a:x1 - a], dtype=np.float32))
    decoded = np.concatenate(parts, axis=1) if parts else np.zeros((channels, 0), np.float32)
    if decoded.shape[1] != chunk.end - lo:
        raise RuntimeError(f"AAC chunk {index} decoded to {decoded.shape[1]} samples, "
                           f"not {chunk.end - lo}.")
    cut = chunk.start - lo
    return _chunk_figures(decoded[:, :cut], decoded[:, cut:], channels)


def measure_packets(result: ChunkedEncode, settings: AacSettings,
                    cancel: CancelToken | None = None,
                    cache: ChunkCache | None = None, use_cache: bool = True,
                    workers: int | None = 1) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the packets decoded as a player decodes the
    file: in order, the priming before time 0 and the padding after the end dropped.

    Measured chunk by chunk (``measure_chunk``: each chunk's meters primed with the
    decoded samples before it; chunks start on the meters' 100 ms steps, so the steps
    are those of one pass), in ``workers`` threads (None: one per core); a chunk's
    figures depend only on its packets and the previous chunk's, so they are kept in
    ``cache`` beside the packets and a chunk measured before (after the same chunk) is
    not decoded again (``use_cache=False``: all measured, and kept)."""
    from engine.audio.loudness import LoudnessMeter

    chunks = result.chunks
    if not chunks:
        return -float("inf"), -float("inf")
    fkeys = [_figures_key(settings, result.keys, i) for i in range(len(chunks))]
    figures: list[np.ndarray | None] = [
        cache.get_figures(k) if cache is not None and use_cache else None for k in fkeys]
    todo = [i for i, f in enumerate(figures) if f is None]
    extradata = _extradata(settings) if todo else None

    def run(i: int) -> np.ndarray:
        if cancel is not None:
            cancel.check()
        values = measure_chunk(result, settings, i, extradata)
        if cache is not None:
            cache.put_figures(fkeys[i], values)
        return values

    n = max(1, min(len(todo), workers or os.cpu_count() or 1))
    if n == 1:
        for i in todo:
            figures[i] = run(i)
    else:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="storyreel-meter") as pool:
            for i, values in zip(todo, pool.map(run, todo), strict=True):
                figures[i] = values
    steps = [x for f in figures if f is not None for x in f[1:].tolist()]
    peak = max(float(f[0]) for f in figures if f is not None)
    lufs = LoudnessMeter.from_steps(settings.channels, steps).integrated
    dbtp = 20.0 * float(np.log10(peak)) if peak > 0 else -float("inf")
    if cache is not None:
        cache.prune(set(result.keys) | set(fkeys))
    return lufs, dbtp
