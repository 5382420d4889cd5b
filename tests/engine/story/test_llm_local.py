"""The in-process backend: a tiny random causal LM, built and saved here, decodes under a
JSON-schema grammar (xgrammar) and still produces schema-valid output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engine.errors import StoryreelError
from engine.model import Shot
from engine.ops import story as story_ops
from engine.story.llm import LocalTransformersBackend, Message, ask_json, strict_schema
from engine.story.schemas import ScenePlanDraft, ShotDraft, bound_scene_schema

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("xgrammar")

SCRIPT = """\
Title: Tiny

INT. ROOM - NIGHT

Ann waits by the window.

ANN
(softly)
You came.

BOB
I did.
"""



def import_script_text(store, text, *args, **options):
    """The import operation's report (engine.ops.story.import_script_text)."""
    return story_ops.import_script_text(store, text, *args, **options).result


def plan(store, **options):
    """The plan operation's report (engine.ops.story.plan)."""
    return story_ops.plan(store, **options).result


@pytest.fixture(autouse=True)
def _one_thread():
    """A 16-wide model gains nothing from threads; on a busy CI box they cost 10×."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 1-layer Llama with a character-level tokenizer made in code."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for code in range(32, 127):
        vocab[chr(code)] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>",
                                        bos_token="<s>", eos_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=8192, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0)
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-llm")
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def test_constrained_decoding_gives_schema_valid_json(tiny_model_dir: Path) -> None:
    backend = LocalTransformersBackend(tiny_model_dir)
    schema = bound_scene_schema(strict_schema(ScenePlanDraft), beats=2, names=["ANN", "BOB"])
    started = time.monotonic()
    reply = backend.complete_json([Message("system", "Plan a shot."), Message("user", "go")],
                                  schema, "ScenePlanDraft", max_tokens=3000)
    elapsed = time.monotonic() - started
    draft = ScenePlanDraft.model_validate(json.loads(reply))  # parses and validates
    assert 1 <= len(draft.shots) <= 4
    for shot in draft.shots:
        assert shot.size in {"EWS", "WS", "MS", "MCU", "CU", "ECU"}
        assert all(0 <= b <= 1 for b in shot.beats)
        assert set(shot.characters) <= {"ANN", "BOB"}
        assert 1 <= len(shot.action) <= 140
    assert elapsed < 30
    # the same model without a grammar would not write JSON: the constraint did the work
    ids = backend.tokenizer("go", return_tensors="pt")["input_ids"]
    free = backend.model.generate(ids, max_new_tokens=30, do_sample=False)
    free_text = backend.tokenizer.decode(free[0][ids.shape[1]:], skip_special_tokens=True)
    with pytest.raises(ValueError):
        json.loads(free_text)


def test_ask_json_through_local_backend(tiny_model_dir: Path) -> None:
    backend = LocalTransformersBackend(tiny_model_dir)
    schema = bound_scene_schema(strict_schema(ScenePlanDraft), beats=1, names=["ANN"])
    draft = ask_json(backend, ScenePlanDraft, "Plan a shot.", "A woman by a window.",
                     max_tokens=3000, schema=schema)
    assert isinstance(draft.shots[0], ShotDraft)


def test_plan_with_local_model_through_the_user_path(project, tiny_model_dir: Path) -> None:
    import_script_text(project, SCRIPT)
    rule_shots = {s.id for s in project.shots()}
    locked = project.shots()[0]
    locked.locked = True
    locked.prompt_override = "keep me"
    project.update(locked)
    report = plan(project, llm="local", model_path=tiny_model_dir)
    assert report.backend == f"local model {tiny_model_dir.name}"
    assert report.shots_kept_locked == 1
    shots = project.shots()
    kept = project.require(Shot, locked.id)
    assert kept.locked and kept.prompt_override == "keep me" and kept.order == locked.order
    assert all(s.prompt for s in shots)
    # every script line is still spoken exactly once, whatever the random model chose
    spoken = [d.text for s in shots for d in s.dialogue]
    assert sorted(spoken) == ["I did.", "You came."]
    assert rule_shots  # the plan reused or replaced the rule-based shots
    assert project.project.settings["planner"]["backend"] == report.backend


def test_local_model_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(StoryreelError, match="not a folder"):
        LocalTransformersBackend(tmp_path / "missing")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(StoryreelError, match="safetensors"):
        LocalTransformersBackend(tmp_path)
