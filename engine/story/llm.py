"""Language-model backends behind one interface: JSON out, validated by pydantic.

- ``OpenAICompatBackend``: any OpenAI-compatible server (Ollama, LM Studio, vLLM,
  llama-server) over HTTP with ``response_format`` json_schema; servers that refuse it
  get the schema in the prompt and plain JSON is parsed out of the reply (fences and all).
- ``LocalTransformersBackend``: a causal LM from a local folder (safetensors only, no
  network) with JSON-schema-constrained decoding by xgrammar: every token it picks keeps
  the output a valid prefix of the schema.

``ask_json`` validates the reply against a pydantic model; malformed or truncated JSON
gets one repair retry that quotes the error, then a clear StoryreelError.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from engine.errors import Cancelled, StoryreelError, one_line
from engine.jobs.progress import CancelToken

M = TypeVar("M", bound=BaseModel)

# local servers `--llm auto` tries, in order
LOCAL_SERVERS = ("http://127.0.0.1:11434/v1", "http://127.0.0.1:1234/v1")
PROBE_TIMEOUT = 0.6
REQUEST_TIMEOUT = 600.0


class LLMError(StoryreelError):
    """The language model could not be reached or gave no usable answer."""


@dataclass
class Message:
    role: str  # system | user | assistant
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


class LLMBackend(Protocol):
    name: str

    def complete_json(self, messages: list[Message], schema: dict[str, Any], schema_name: str,
                      max_tokens: int, cancel: CancelToken | None = None) -> str:
        """The model's reply text, which should be JSON matching ``schema``."""
        ...


# ----------------------------------------------------------------------------- JSON helpers
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """Parse the JSON object in a reply: bare, inside ```json fences, or amid chatter.

    Raises ValueError with the parser's message when there is none or it is cut off.
    """
    text = text.strip()
    text = re.sub(r"^<think>.*?</think>\s*", "", text, flags=re.DOTALL)  # reasoning models
    candidates = [m.group(1).strip() for m in _FENCE.finditer(text)]
    if text.startswith("```") and not candidates:  # an opening fence, never closed
        candidates.append(re.sub(r"^```(?:json|JSON)?\s*", "", text))
    candidates.append(text)
    start = text.find("{")
    if start >= 0:
        end = text.rfind("}")
        candidates.append(text[start:end + 1] if end > start else text[start:])
    error: json.JSONDecodeError | None = None
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            error = error or exc
    if start >= 0 and _unclosed(text[start:]):
        raise ValueError(f"the JSON is cut off (truncated) after {len(text) - start} characters")
    raise ValueError(f"no valid JSON object: {error.msg} at character {error.pos}"
                     if error else "no JSON object in the reply")


def _unclosed(text: str) -> bool:
    """True when a string, object or array is still open at the end of the text."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_string or depth > 0


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with $refs inlined and no extra keys, as strict modes want."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any, properties: bool = False) -> Any:
        if isinstance(node, dict):
            if properties:  # keys are field names, not schema keywords
                return {k: resolve(v) for k, v in node.items()}
            if "$ref" in node:
                return resolve(defs[node["$ref"].split("/")[-1]])
            out = {k: resolve(v, k == "properties") for k, v in node.items()
                   if k not in ("title", "default")}
            if out.get("type") == "object":
                out["additionalProperties"] = False
                out["required"] = list(out.get("properties", {}))
            return out
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def ask_json(backend: LLMBackend, model: type[M], system: str, user: str, *,
             max_tokens: int = 2048, cancel: CancelToken | None = None,
             what: str = "plan", schema: dict[str, Any] | None = None,
             check: Callable[[M], None] | None = None) -> M:
    """Ask for JSON matching ``model``; one repair retry quoting the error, then LLMError.

    ``schema`` narrows the model's schema (sent to the server / the decoder); ``check``
    raises ValueError for what a schema cannot say.
    """
    schema = schema or strict_schema(model)
    messages = [Message("system", system), Message("user", user)]
    problem = ""
    for attempt in range(2):
        if cancel is not None:
            cancel.check()
        reply = backend.complete_json(messages, schema, model.__name__, max_tokens, cancel)
        try:
            result = model.model_validate(extract_json(reply))
            if check is not None:
                check(result)
            return result
        except ValueError as exc:  # ValidationError is a ValueError too
            problem = one_line(_describe(exc), 300)
        if attempt == 0:
            messages += [
                Message("assistant", reply[:8000]),
                Message("user", f"That reply is not valid: {problem}. Reply again with only "
                                "the corrected JSON object, complete, matching the schema."),
            ]
    raise LLMError(f"The language model ({backend.name}) did not return a valid {what} "
                   f"after a repair retry: {problem}.")


def _describe(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors()[:3]
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'root'}: {e['msg']}" for e in errors)
    return str(exc)


# ----------------------------------------------------------------------------- HTTP
def _http_json(url: str, payload: dict[str, Any] | None, timeout: float,
               api_key: str = "") -> dict[str, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Content-Type", "application/json")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = response.read()
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as exc:
        raise LLMError(f"{url} did not answer with JSON.") from exc
    if not isinstance(parsed, dict):
        raise LLMError(f"{url} answered with something other than a JSON object.")
    return parsed


def probe_server(base_url: str, timeout: float = PROBE_TIMEOUT) -> list[str] | None:
    """The model names an OpenAI-compatible server lists, or None if nothing answers."""
    try:
        listing = _http_json(base_url.rstrip("/") + "/models", None, timeout)
    except (OSError, LLMError, ValueError):
        return None
    return [str(m.get("id")) for m in listing.get("data", []) if isinstance(m, dict)]


class OpenAICompatBackend:
    """Chat completions over HTTP with ``response_format`` json_schema, plain JSON fallback."""

    def __init__(self, base_url: str, model: str | None = None, *,
                 timeout: float = REQUEST_TIMEOUT, api_key: str | None = None) -> None:
        if not re.match(r"^https?://", base_url):
            raise StoryreelError(f"--base-url {base_url!r} must start with http:// or https://.")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.api_key = os.environ.get("OPENAI_API_KEY", "") if api_key is None else api_key
        self.supports_schema = True
        self.model = model or self._default_model()
        self.name = f"{self.model} at {self.base_url}"

    def _default_model(self) -> str:
        models = probe_server(self.base_url, timeout=min(self.timeout, 10.0))
        if models is None:
            raise LLMError(f"Cannot reach an OpenAI-compatible server at {self.base_url}.")
        if not models:
            raise LLMError(f"The server at {self.base_url} lists no models; pass --model.")
        return models[0]

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url + "/chat/completions"
        try:
            return _http_json(url, payload, self.timeout, self.api_key)
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            if exc.code in (400, 404, 415, 422, 500, 501) and "response_format" in payload:
                raise _SchemaRefused(detail) from exc
            raise LLMError(f"The server at {self.base_url} refused the request "
                           f"(HTTP {exc.code}: {detail.strip()}).") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise LLMError(f"Cannot reach the language model at {self.base_url} "
                           f"({getattr(exc, 'reason', exc)}).") from exc

    def complete_json(self, messages: list[Message], schema: dict[str, Any], schema_name: str,
                      max_tokens: int, cancel: CancelToken | None = None) -> str:
        payload: dict[str, Any] = {
            "model": self.model, "messages": [m.to_dict() for m in messages],
            "temperature": 0.4, "max_tokens": max_tokens, "stream": False,
        }
        if self.supports_schema:
            try:
                reply = self._post({**payload, "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": schema, "strict": True}}})
                return _content(reply, self.base_url)
            except _SchemaRefused:
                self.supports_schema = False  # remember: plain JSON from now on
        hint = ("Reply with one JSON object only, no prose, matching this JSON schema:\n"
                + json.dumps(schema, ensure_ascii=False))
        plain = [m.to_dict() for m in messages]
        plain[0] = {"role": plain[0]["role"], "content": plain[0]["content"] + "\n\n" + hint}
        return _content(self._post({**payload, "messages": plain}), self.base_url)


class _SchemaRefused(Exception):
    pass


def _content(reply: dict[str, Any], where: str) -> str:
    try:
        message = reply["choices"][0]["message"]
        content = message.get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LLMError(f"The server at {where} answered without a chat message.") from exc
    return str(content)


# ----------------------------------------------------------------------------- local model
class LocalTransformersBackend:
    """A causal LM from a local folder, decoding under an xgrammar JSON-schema grammar."""

    def __init__(self, model_path: Path, *, device: str | None = None) -> None:
        path = Path(model_path)
        if not path.is_dir():
            raise StoryreelError(f"--model-path {model_path} is not a folder.")
        if not (path / "config.json").is_file():
            raise StoryreelError(f"{model_path} has no config.json; it is not a model folder.")
        if not any(path.glob("*.safetensors")):
            raise StoryreelError(f"{model_path} has no .safetensors weights; only safetensors "
                                 "models are loaded.")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise StoryreelError("Local language models need the [gpu] extra "
                                 f"(torch, transformers, xgrammar): {exc}.") from exc
        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                path, local_files_only=True, use_safetensors=True,
                dtype=torch.bfloat16 if self.device == "cuda" else torch.float32)
        except (OSError, ValueError) as exc:
            raise StoryreelError(f"Cannot load the language model in {model_path}: {exc}") \
                from exc
        self.model.to(self.device).eval()
        self.name = f"local model {path.name}"
        self._compiler: Any = None

    def _prompt_ids(self, messages: list[Message]) -> Any:
        chat = [m.to_dict() for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True,
                                                     return_tensors="pt", return_dict=True)
            return ids["input_ids"]
        text = "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant: "
        return self.tokenizer(text, return_tensors="pt")["input_ids"]

    def complete_json(self, messages: list[Message], schema: dict[str, Any], schema_name: str,
                      max_tokens: int, cancel: CancelToken | None = None) -> str:
        import xgrammar as xgr

        torch = self.torch
        vocab_size = self.model.config.vocab_size
        if self._compiler is None:
            info = xgr.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=vocab_size)
            self._compiler = xgr.GrammarCompiler(info)
        grammar = self._compiler.compile_json_schema(
            json.dumps(schema), any_whitespace=False, separators=(",", ":"))
        matcher = xgr.GrammarMatcher(grammar)
        bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        input_ids = self._prompt_ids(messages).to(self.device)
        generated: list[int] = []
        past = None
        with torch.inference_mode():
            while len(generated) < max_tokens:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("Cancelled by the user.")
                out = self.model(input_ids=input_ids, past_key_values=past, use_cache=True)
                past = out.past_key_values
                logits = out.logits[:, -1, :].float().cpu()
                matcher.fill_next_token_bitmask(bitmask)
                xgr.apply_token_bitmask_inplace(logits, bitmask)
                token = int(torch.argmax(logits, dim=-1).item())
                if not matcher.accept_token(token) or matcher.is_terminated():
                    break
                step = [token]
                # jump forward: text the grammar allows in only one way (keys, brackets)
                # goes in without asking the model, one forward pass for all of it
                forced = matcher.find_jump_forward_string()
                if forced:
                    forced_ids = self.tokenizer.encode(forced, add_special_tokens=False)
                    accepted = 0
                    for forced_id in forced_ids:
                        if not matcher.accept_token(forced_id):
                            break
                        accepted += 1
                    if accepted < len(forced_ids):
                        matcher.rollback(accepted)
                    else:
                        step += forced_ids
                generated += step
                input_ids = torch.tensor([step], device=self.device)
        return self.tokenizer.decode(generated, skip_special_tokens=True)


# ----------------------------------------------------------------------------- choosing
def resolve_backend(llm: str, base_url: str | None = None, model: str | None = None,
                    model_path: Path | None = None,
                    notices: list[str] | None = None) -> LLMBackend | None:
    """The backend ``--llm`` names; None for rule-based planning."""
    notices = notices if notices is not None else []
    if llm == "none":
        return None
    if llm == "openai":
        url = base_url or os.environ.get("STORYREEL_LLM_BASE_URL") \
            or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise StoryreelError("--llm openai needs --base-url (for example "
                                 "http://127.0.0.1:11434/v1 for Ollama).")
        return OpenAICompatBackend(url, model)
    if llm == "local":
        if model_path is None:
            raise StoryreelError("--llm local needs --model-path DIR (a local model folder).")
        return LocalTransformersBackend(model_path)
    if llm == "auto":
        if model_path is not None:
            return LocalTransformersBackend(model_path)
        candidates = [base_url] if base_url else list(LOCAL_SERVERS)
        for url in candidates:
            models = probe_server(url)
            if models:
                chosen = model if model else models[0]
                notices.append(f"Using {chosen} at {url}.")
                return OpenAICompatBackend(url, chosen)
        notices.append("No local language model server answered (tried "
                       f"{', '.join(candidates)}); planning without an LLM, by rules.")
        return None
    raise StoryreelError(f"--llm {llm!r} is not one of auto, none, openai, local.")
