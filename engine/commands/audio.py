"""CLI: ``voice``, ``voices list``, ``music add``, ``sfx add``, ``mix``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.commands.common import UsageError, open_project, print_json
from engine.ops.addressing import resolve_shot, resolve_shot_ids


def _film_position(store: Any, address: str | None) -> int | None:
    """The 1-based place in film order of the shot an address names (label, id, prefix)."""
    if address is None:
        return None
    shot = resolve_shot(store, address)
    return [s.id for s in store.shots()].index(shot.id) + 1


def _progress_printer(quiet: bool):
    def report(fraction: float, message: str = "") -> None:
        if not quiet:
            print(f"[{fraction * 100:5.1f}%] {message}", flush=True)

    return report


def cmd_voice(args: argparse.Namespace) -> int:
    from engine.ops import audio as audio_ops  # numpy/scipy: loaded when used

    with open_project(args.dir) as store:
        ids = resolve_shot_ids(store, args.shots) if args.shots else None
        report = audio_ops.voice_lines(store, ids, episode=args.episode,
                                       progress=_progress_printer(args.json))
        if args.json:
            print_json(report.to_dict())
        else:
            print(f"Voiced {report.synthesized} line(s), reused {report.reused}, "
                  f"removed {report.removed}; {len(report.shots_retimed)} shot(s) retimed.")
    return 0


def cmd_voices_list(args: argparse.Namespace) -> int:
    from engine.audio import tts

    with open_project(args.dir) as store:
        lang = str(store.project.language)
        rows = [{"character": c.name, "gender": c.gender, **c.voice.to_dict(),
                 "engine": c.voice.backend, "source": tts.voice_source(c.voice)
                 if c.voice.backend else "not chosen yet (a default is given when voicing)"}
                for c in store.characters()]
        narrator = store.project.narrator_voice
        if not narrator.backend:
            narrator = tts.narrator_voice(lang)
        rows.append({"character": "(narrator)", "gender": "", **narrator.to_dict(),
                     "engine": narrator.backend, "source": tts.voice_source(narrator)})
    if args.json:
        from engine.audio import kokoro

        print_json({"backends": tts.available_backends(), "voices": rows,
                    "kokoro_voices": [{"voice": v.name, "language": v.language,
                                       "gender": v.gender, "label": v.label}
                                      for v in kokoro.VOICES.values()],
                    "espeak_voices": tts.espeak_voices(lang)})
        return 0
    print("backends: " + ", ".join(tts.available_backends()))
    for r in rows:
        voice = f"{r['backend'] or '(default)'}:{r['voice'] or '-'}"
        print(f"{r['character']}\t{voice}\trate {r['rate']:.2f}\tpitch {r['pitch']:+.1f}"
              f"\tvolume {r['volume']:+.1f} dB")
    return 0


def cmd_music_add(args: argparse.Namespace) -> int:
    from engine.ops import audio as audio_ops  # numpy/scipy: loaded when used

    with open_project(args.dir) as store:
        p = audio_ops.add_music(store, args.file, from_shot=_film_position(store, args.from_shot),
                                to_shot=_film_position(store, args.to_shot),
                                gain_db=args.gain).result
    span = f"shots {args.from_shot or 'start'}–{args.to_shot or 'end'}"
    print(f"Added music {Path(args.file).name} under {span} at {p.gain_db:+.1f} dB ({p.id}).")
    return 0


def cmd_sfx_add(args: argparse.Namespace) -> int:
    from engine.ops import audio as audio_ops  # numpy/scipy: loaded when used

    with open_project(args.dir) as store:
        p = audio_ops.add_sfx(store, _film_position(store, args.shot), args.file,
                              offset=args.offset, gain_db=args.gain).result
    print(f"Added sound {Path(args.file).name} to shot {args.shot} at +{p.offset:.2f} s ({p.id}).")
    return 0


def cmd_mix(args: argparse.Namespace) -> int:
    from engine.audio.mix import mix_timeline
    from engine.render.timeline_builder import build_timeline

    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"{out} is a folder; give a file name like film.wav.")
    if not out.parent.is_dir():
        raise UsageError(f"The folder {out.parent} does not exist.")
    with open_project(args.dir) as store:
        from engine.store.project import check_output_path

        check_output_path(store.root, out)
        # the film's own sound: the Timeline the export renders, mixed as the export mixes
        timeline = build_timeline(store, getattr(args, "episode", None))
        if timeline.duration_frames <= 0:
            raise UsageError("The project has no shots to mix.")
        report = mix_timeline(timeline, out, channels=args.channels, duck_db=args.duck,
                              target_lufs=args.lufs, progress=_progress_printer(args.json))
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"Wrote {args.out}: {report.duration:.2f} s, {report.integrated_lufs:.1f} LUFS, "
              f"true peak {report.true_peak_db:.1f} dBTP.")
    return 0


def _number(kind: type, flag: str):
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            raise UsageError(f"{flag} {text!r} is not a number.") from None

    return parse


def register(sub: Any) -> None:
    parser_class = sub._parser_class
    p = sub.add_parser("voice", help="synthesize every dialogue line and narration")
    p.add_argument("dir")
    p.add_argument("--shots", nargs="+", metavar="SHOT",
                   help="only these shots: labels like 2-3, ids or id prefixes")
    p.add_argument("--episode", metavar="N", help="the lines of episode N alone")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_voice)

    p = sub.add_parser("voices", help="voice profiles of the characters and narrator")
    vs = p.add_subparsers(dest="voices_command", metavar="ACTION", parser_class=parser_class)
    v = vs.add_parser("list", help="list voices and backends")
    v.add_argument("dir")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_voices_list)

    p = sub.add_parser("music", help="music beds")
    ms = p.add_subparsers(dest="music_command", metavar="ACTION", parser_class=parser_class)
    m = ms.add_parser("add", help="add music under the film or a range of shots")
    m.add_argument("dir")
    m.add_argument("file", help="an audio file (or a video with sound)")
    m.add_argument("--from-shot", metavar="SHOT",
                   help="first shot under the music, a label like 1-2 (default: the start)")
    m.add_argument("--to-shot", metavar="SHOT",
                   help="last shot under the music, inclusive (default: the film's end)")
    m.add_argument("--gain", type=_number(float, "--gain"), default=None, metavar="DB",
                   help="level change in dB, -60…+24 (default: measured, so the music sits "
                        "9 LU under the dialogue)")
    m.set_defaults(func=cmd_music_add)

    p = sub.add_parser("sfx", help="sound effects")
    ss = p.add_subparsers(dest="sfx_command", metavar="ACTION", parser_class=parser_class)
    s = ss.add_parser("add", help="add a sound effect to a shot")
    s.add_argument("dir")
    s.add_argument("shot", help="shot label like 1-2 (scene-shot), id or id prefix")
    s.add_argument("file", help="an audio file (or a video with sound)")
    s.add_argument("--offset", type=_number(float, "--offset"), default=0.0, metavar="S",
                   help="seconds into the shot where the sound starts (default 0)")
    s.add_argument("--gain", type=_number(float, "--gain"), default=0.0, metavar="DB",
                   help="level change in dB, -60…+24 (default 0)")
    s.set_defaults(func=cmd_sfx_add)

    p = sub.add_parser("mix", help="mix voices, music and effects into a normalized WAV")
    p.add_argument("dir")
    p.add_argument("out", metavar="OUT.wav", help="the WAV file to write")
    p.add_argument("--channels", type=int, choices=[1, 2], default=2,
                   help="1 mono or 2 stereo (default)")
    p.add_argument("--duck", type=_number(float, "--duck"), default=-12.0, metavar="DB",
                   help="music level under dialogue, -60…0 dB (default -12)")
    p.add_argument("--lufs", type=_number(float, "--lufs"), default=-14.0,
                   help="loudness target, -40…-5 LUFS (default -14, as streaming platforms)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--episode", metavar="N", help="the sound of episode N alone")
    p.set_defaults(func=cmd_mix)
