"""Write the full params file from the config defaults and profile overlays (configs/*.yaml).

DVC reads params.yaml, not the defaults in attrctl.config, so the file must spell out every key; a profile holds
only what differs from the defaults and is merged on top of them here. Importing this module stays cheap (no torch).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from attrctl.config import Config, ConfigError, parse, read_yaml

WIDTH = 118
EXAMPLES = """\
examples:
  python -m attrctl.profiles                                # params.yaml = the defaults (the default profile)
  python -m attrctl.profiles configs/gpu.yaml               # the defaults with the GPU profile on top
  python -m attrctl.profiles configs/gpu.yaml mine.yaml     # overlays merge in order: the last one wins
  python -m attrctl.profiles configs/tiny.yaml --out /tmp/tiny.yaml
  python -m attrctl.profiles --check                        # exit 1 if params.yaml is not what would be written

then regenerate the DVC pipeline (the DAG depends on `models` and `nado_reg.iterations`):
  python -m attrctl.pipeline.dvcgen

merge rule: an overlay's mapping recurses into config sections only; any other value (a list, or a dict-typed
field such as l3m.constraints or dglm.runs) replaces the default whole. Unknown keys are errors.
"""


def _section(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def merge(base: dict[str, Any], overlay: dict[str, Any], origin: str) -> dict[str, Any]:
    """`overlay` merged onto `base` (a full params mapping), recursing only into config sections; raises
    ConfigError naming `origin` and every unknown dotted key with the keys allowed there."""
    unknown: list[str] = []

    def walk(base: dict[str, Any], overlay: dict[str, Any], model: type[BaseModel], prefix: str) -> dict[str, Any]:
        out = dict(base)
        for key, value in overlay.items():
            field = model.model_fields.get(key)
            if field is None:
                allowed = ", ".join(model.model_fields)
                unknown.append(f"  {prefix}{key}: unknown key (value {value!r}); allowed keys here: {allowed}")
                continue
            sub = _section(field.annotation)
            if sub is not None and isinstance(value, dict) and isinstance(base.get(key), dict):
                out[key] = walk(base[key], value, sub, f"{prefix}{key}.")
            else:  # lists and dict-typed fields map user names to data: the overlay's value is the whole value
                out[key] = value
        return out

    merged = walk(base, overlay, Config, "")
    if unknown:
        raise ConfigError("\n".join([f"invalid params in {origin}:", *unknown]))
    return merged


def read_overlay(path: str | Path) -> dict[str, Any]:
    """A profile file's mapping (empty for an empty file); ConfigError if it is missing or not a YAML mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"profile {str(path)!r} not found")
    raw = read_yaml(path, "profile")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid params in {path}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


def build(profiles: Sequence[str | Path] = ()) -> Config:
    """The defaults with each profile merged on top in order, validated."""
    raw = Config().model_dump(mode="json")
    for path in profiles:
        raw = merge(raw, read_overlay(path), origin=str(path))
    return parse(raw, origin=" + ".join(map(str, profiles)) or "the defaults")


def _comment(description: str | None, pad: str) -> list[str]:
    if not description:
        return []
    text = " ".join(description.split())
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z`(])", text, maxsplit=1)[0]
    return _wrap(first, f"{pad}# ")


def _wrap(text: str, prefix: str) -> list[str]:
    # whole words only: a path or a hyphenated name split over two comment lines reads as two
    return textwrap.wrap(
        text, WIDTH, initial_indent=prefix, subsequent_indent=prefix, break_long_words=False, break_on_hyphens=False
    )


def _scalar(value: Any) -> str:
    # dumped inside a flow list, so the text is also safe inside `[...]` / `{...}` (commas, brackets, colons)
    return yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10**9).strip()[1:-1]


def _flow_items(value: Any) -> tuple[str, list[str], str] | None:
    if isinstance(value, dict):
        return "{", [f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()], "}"
    if isinstance(value, list):
        return "[", [_flow(v) for v in value], "]"
    return None


def _flow(value: Any) -> str:
    parts = _flow_items(value)
    return _scalar(value) if parts is None else parts[0] + ", ".join(parts[1]) + parts[2]


def _line(pad: str, key: str, value: Any) -> list[str]:
    """`key: value` in flow style, a collection wrapped between its items and aligned after its bracket."""
    head = f"{pad}{_scalar(key)}: "
    parts = _flow_items(value)
    if parts is None or len(head) + len(_flow(value)) <= WIDTH or not parts[1]:
        return [head + _flow(value)]
    opening, items, closing = parts
    lines, current = [], head + opening
    for i, item in enumerate(items):
        item += closing if i == len(items) - 1 else ","
        if current[-1] not in "[{" and len(current) + 1 + len(item) > WIDTH:
            lines.append(current)
            current = " " * (len(head) + 1) + item
        else:
            current += item if current[-1] in "[{" else " " + item
    return [*lines, current]


def _entry(key: str, value: Any, field: FieldInfo, pad: str, block: bool = False) -> list[str]:
    lines = _comment(field.description, pad)
    section = _section(field.annotation)
    nested = section is not None and any(isinstance(v, dict | list) for v in value.values())
    # a section of scalars only (a training loop, a shape) stays on a line or two; config.py documents its keys
    if section is not None and (block or nested):
        lines.append(f"{pad}{key}:")
        for name, sub in section.model_fields.items():
            lines += _entry(name, value[name], sub, pad + "  ")
    elif section is None and isinstance(value, dict) and len(_line(pad, key, value)) > 1:
        lines.append(f"{pad}{key}:")  # a long mapping of user names (l3m.constraints, dglm.runs): a line per name
        for name, item in value.items():
            lines += _line(pad + "  ", name, item)
    else:
        lines += _line(pad, key, value)
    return lines


def render(config: Config, profiles: Sequence[str | Path] = ()) -> str:
    """The params file of `config`: every key, sections in the config's order, each key under its doc's first
    sentence; the header names the profiles it was built from."""
    cmd = " ".join(["python -m attrctl.profiles", *map(str, profiles)])
    source = f"with {', '.join(map(str, profiles))} merged on top" if profiles else "(the default profile)"
    about = (
        f"GENERATED by `{cmd}` from the config defaults in src/attrctl/config.py {source}. Hand edits and "
        "`dvc exp run -S` are fine for a try, but regenerating overwrites them: to keep a change, make it in the "
        "defaults or in a profile (configs/*.yaml) and run"
    )
    lines = [*_wrap(about, "# "), f"#   {cmd} && python -m attrctl.pipeline.dvcgen"]
    data = config.model_dump(mode="json")
    for name, field in type(config).model_fields.items():
        lines += ["", *_entry(name, data[name], field, "", block=True)]
    text = "\n".join(lines) + "\n"
    if parse(yaml.safe_load(text), origin="the rendered params") != config:
        # the layout is hand-made, so prove it: a file that reads back differently would change the run silently
        raise RuntimeError("attrctl.profiles: the rendered params do not read back to the config (a bug here)")
    return text


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by `text` in one rename: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    """The CLI: write (or with --check compare) the params file; 0 on success, 1 if --check finds it stale,
    2 on invalid profiles (nothing is written)."""
    p = argparse.ArgumentParser(
        prog="python -m attrctl.profiles",
        description="Write the full params file: the config defaults with each PROFILE overlay merged on top.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("profiles", nargs="*", metavar="PROFILE", help="overlay YAML files, merged in order")
    p.add_argument("--out", type=Path, default=Path("params.yaml"), help="file to write (default: params.yaml)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out differs from the result")
    args = p.parse_args(argv)
    try:
        text = render(build(args.profiles), args.profiles)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
    if args.check:
        if current == text:
            return 0
        what = "does not exist" if current is None else "differs from what the profiles give"
        out = [] if args.out == Path("params.yaml") else [f"--out {args.out}"]
        cmd = " ".join(["python -m attrctl.profiles", *args.profiles, *out])
        print(f"{args.out} {what}: regenerate it with `{cmd}`", file=sys.stderr)
        return 1
    if current != text:
        write_atomic(args.out, text)
    print(
        f"wrote {args.out}{' (unchanged)' if current == text else ''}. The DAG depends on `models` and "
        "`nado_reg.iterations`: regenerate dvc.yaml with `python -m attrctl.pipeline.dvcgen`"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
