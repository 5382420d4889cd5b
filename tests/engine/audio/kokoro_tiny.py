"""A tiny random stand-in for the Kokoro-82M ONNX graph, built in the test session.

Same interface as the real export: inputs ``tokens`` (int64 1×N), ``style`` (float32 1×256),
``speed`` (float32 [1]); output ``audio`` (float32, 600 samples per duration frame); and an
internal ``/encoder/Gather_output_0`` tensor (int64 frames per token) that the loader must
expose. Each token lasts a random 1–4 frames (divided by speed); phoneme tokens sound as a
tone whose pitch follows the style vector, pad/punctuation/space tokens are silent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.audio import kokoro

N_TOKEN = 178
SILENT = (0, 1, 2, 3, 4, 5, 6, 9, 10, 16)  # pad, marks, space


def build(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    frames = rng.integers(2, 5, size=N_TOKEN).astype(np.float32)
    frames[list(SILENT)] = 3.0
    amp = rng.uniform(0.3, 0.6, size=N_TOKEN).astype(np.float32)
    amp[list(SILENT)] = 0.0
    init = [numpy_helper.from_array(frames, "frames"), numpy_helper.from_array(amp, "amp"),
            numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
            numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
            numpy_helper.from_array(np.array(float(kokoro.FRAME), dtype=np.float32), "hop"),
            numpy_helper.from_array(np.array(2 * np.pi / kokoro.SAMPLE_RATE, dtype=np.float32),
                                    "w"),
            numpy_helper.from_array(np.array(180.0, dtype=np.float32), "f0"),
            numpy_helper.from_array(np.array(2000.0, dtype=np.float32), "fscale"),
            numpy_helper.from_array(np.array(0, dtype=np.int64), "zero_i"),
            numpy_helper.from_array(np.array(1, dtype=np.int64), "one_i"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
    nodes = [
        helper.make_node("Squeeze", ["tokens", "axis0"], ["ids"]),
        helper.make_node("Gather", ["frames", "ids"], ["f"]),
        helper.make_node("Div", ["f", "speed"], ["fs"]),
        helper.make_node("Round", ["fs"], ["fr"]),
        helper.make_node("Max", ["fr", "one"], ["fm"]),
        helper.make_node("Cast", ["fm"], [kokoro.DURATION_OUTPUT], to=TensorProto.INT64,
                         name="/encoder/Gather"),
        # sample → token: how many token ends lie at or before it
        helper.make_node("Mul", ["fm", "hop"], ["len_f"]),
        helper.make_node("CumSum", ["len_f", "zero_i"], ["ends"]),
        helper.make_node("ReduceSum", ["len_f"], ["total"], keepdims=0),
        helper.make_node("Range", ["zero_f", "total", "one"], ["t"]),
        helper.make_node("Unsqueeze", ["t", "axis1"], ["t_col"]),
        helper.make_node("LessOrEqual", ["ends", "t_col"], ["passed"]),
        helper.make_node("Cast", ["passed"], ["passed_i"], to=TensorProto.INT64),
        helper.make_node("ReduceSum", ["passed_i", "axis1"], ["which"], keepdims=0),
        helper.make_node("Gather", ["ids", "which"], ["tok"]),
        helper.make_node("Gather", ["amp", "tok"], ["a"]),
        # pitch from the style vector: voices differ
        helper.make_node("ReduceMean", ["style"], ["sm"], keepdims=0),
        helper.make_node("Abs", ["sm"], ["sa"]),
        helper.make_node("Mul", ["sa", "fscale"], ["df"]),
        helper.make_node("Add", ["df", "f0"], ["freq"]),
        helper.make_node("Mul", ["t", "w"], ["tw"]),
        helper.make_node("Mul", ["tw", "freq"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["wave"]),
        helper.make_node("Mul", ["wave", "a"], ["audio"]),
    ]
    init.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero_f"))
    graph = helper.make_graph(
        nodes, "tiny-kokoro",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "n"]),
         helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
         helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["samples"])],
        init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def write_parts(folder: Path, parts: int = 4, seed: int = 0) -> list[Path]:
    """The tiny model split into ``parts`` files, like the PyPI data packages."""
    folder.mkdir(parents=True, exist_ok=True)
    data = build(seed).SerializeToString()
    step = -(-len(data) // parts)
    out = []
    for i in range(parts):
        p = folder / f"part{i + 1}.bin"
        p.write_bytes(data[i * step:(i + 1) * step])
        out.append(p)
    return out


def write_model(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build(seed).SerializeToString())
    return path
