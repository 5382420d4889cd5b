"""An export in a child process: ``export_in_subprocess`` (a job's ``isolated`` export).

Mixing, subtitle rendering and first-time imports hold Python's GIL for up to a few
hundred milliseconds; a GUI that exports in its own process would stall. The child
(``python -m engine.render.export_process REQUEST``) runs ``export_film`` and speaks JSON
lines on stdout (progress, then done / cancelled / error); "cancel" on its stdin (or the
parent going away) stops it, and it removes its partial file as export_film does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from engine.errors import Cancelled, StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress

PROGRESS_EVERY = 0.04  # seconds between progress lines from the child


def export_in_subprocess(
    store: Any, out_path: Path | str, progress: Progress = no_progress,
    cancel: CancelToken | None = None, **options: Any,
) -> dict[str, Any]:
    """``export_film(store, out_path, **options)`` in a child process (blocks the caller);
    returns the report's ``to_dict()``. Raises Cancelled or StoryreelError like
    export_film. A progress callback that raises Cancelled cancels the child."""
    cancel = cancel or CancelToken()
    request = {"project": str(store.root), "out": str(Path(out_path)), "options": options}
    root = Path(__file__).resolve().parent.parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    log_path = store.cache_dir / "export.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.render.export_process", json.dumps(request)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
            text=True, encoding="utf-8", bufsize=1,
        )
    assert proc.stdin is not None and proc.stdout is not None

    def forward_cancel() -> None:  # the child reads stdin; this thread lives with it
        while proc.poll() is None:
            if cancel.cancelled:
                try:
                    proc.stdin.write("cancel\n")  # type: ignore[union-attr]
                    proc.stdin.flush()  # type: ignore[union-attr]
                except (OSError, ValueError):
                    pass
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=forward_cancel, name="storyreel-export-cancel",
                               daemon=True)
    watcher.start()
    outcome: dict[str, Any] | None = None
    try:
        for line in proc.stdout:  # read to the end: the child must never block on a pipe
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("event") != "progress":
                outcome = message
            elif not cancel.cancelled:
                try:
                    progress(float(message.get("fraction", 0.0)),
                             str(message.get("message", "")))
                except Cancelled:
                    cancel.cancel()  # the watcher tells the child; its outcome follows
        code = proc.wait()
    finally:
        if proc.poll() is None:  # an error here: do not leave the child encoding
            proc.kill()
            proc.wait()
        try:
            proc.stdin.close()
        except OSError:
            pass
        watcher.join(timeout=1.0)
    event = outcome.get("event") if outcome else None
    if event == "done":
        return dict(outcome.get("report") or {})  # type: ignore[union-attr]
    if event == "cancelled":
        raise Cancelled("Export cancelled.")
    if event == "error":
        raise StoryreelError(str(outcome.get("message")))  # type: ignore[union-attr]
    raise StoryreelError(
        f"The export process stopped unexpectedly (exit code {code}); see {log_path}.")


def _child_main(argv: list[str]) -> int:
    """Entry point of the export child process: one export, JSON lines on stdout."""
    request = json.loads(argv[0])
    if hasattr(os, "nice"):
        os.nice(5)  # the encoder may use every core: the studio's UI comes first
    proto: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything else printed (by C libraries too) goes to the log
    sys.stdout = sys.stderr
    token = CancelToken()

    def send(message: dict[str, Any]) -> None:
        proto.write(json.dumps(message, ensure_ascii=False) + "\n")
        proto.flush()

    def watch_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "cancel":
                break
        token.cancel()  # "cancel", or the parent went away (EOF)

    threading.Thread(target=watch_stdin, daemon=True).start()
    last = [0.0, ""]

    def progress(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or message != last[1] or fraction >= 1.0:
            last[0], last[1] = now, message
            send({"event": "progress", "fraction": float(fraction), "message": message})

    try:
        from engine.render.export import export_film
        from engine.store import ProjectStore

        token.check()  # cancelled while this process was starting
        store = ProjectStore.open(request["project"])
        try:
            report = export_film(store, Path(request["out"]), progress=progress, cancel=token,
                                 **request["options"])
        finally:
            store.close()
    except Cancelled:
        send({"event": "cancelled"})
        return 0
    except StoryreelError as exc:
        send({"event": "error", "message": str(exc)})
        return 2
    except Exception as exc:  # noqa: BLE001 - reported to the caller as one sentence
        traceback.print_exc()
        send({"event": "error", "message": f"Export failed: {type(exc).__name__}: {exc}"})
        return 1
    send({"event": "done", "report": report.to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
