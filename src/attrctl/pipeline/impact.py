"""What a change re-runs: the dvc.yaml stages whose params or deps it touches, and every stage downstream of
their outputs (as `dvc repro` / `dvc exp run -S` would, read from the generated dvc.yaml alone).

    python -m attrctl.pipeline.impact nado.decode_strength          # a param key (or a section: nado)
    python -m attrctl.pipeline.impact src/attrctl/nado/loss.py      # an edited file
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

# The validate stage re-runs on any params change (a 1-second check) but its marker never changes, so nothing
# re-runs after it.
MARKER_STAGES = {"validate"}


def stages(dvc_yaml: str | Path = "dvc.yaml") -> dict[str, dict[str, list[str]]]:
    """Every concrete stage (`rule`, `rule-model`, `rule@item`) with its deps, params and outs, foreach expanded."""
    found = {}
    for name, body in yaml.safe_load(Path(dvc_yaml).read_text())["stages"].items():
        items = body.get("foreach", {None: {}})
        for key, item in items.items():
            stage = body.get("do", body)

            def sub(text: str, item=item) -> str:
                return re.sub(r"\$\{item\.(\w+)\}", lambda m: str(item[m.group(1)]), text)

            found[name if key is None else f"{name}@{key}"] = {
                field: [sub(next(iter(e)) if isinstance(e, dict) else e) for e in stage.get(field, [])]
                for field in ("deps", "params", "outs")
            }
    return found


def _touches(param: str, key: str) -> bool:
    """Whether changing `key` changes the tracked param `param` (either may be a section of the other)."""
    return param == key or param.startswith(key + ".") or key.startswith(param + ".")


def _under(path: str, dep: str) -> bool:
    return path == dep or path.startswith(dep.rstrip("/") + "/")


def reruns(change: str, dvc_yaml: str | Path = "dvc.yaml") -> set[str]:
    """The stages a change re-runs: a param key (`nado_reg.kl_weight`, `tnt`) or a repo-relative file path."""
    graph = stages(dvc_yaml)
    is_file = "/" in change or change.endswith(".py")
    todo = {
        name
        for name, s in graph.items()
        if (is_file and any(_under(change, d) for d in s["deps"]))
        or (not is_file and any(_touches(p, change) for p in s["params"]))
    }
    done: set[str] = set()
    while todo:
        name = todo.pop()
        done.add(name)
        if name in MARKER_STAGES:
            continue
        outs = graph[name]["outs"]
        todo |= {
            other
            for other, s in graph.items()
            if other not in done and any(_under(d, o) or _under(o, d) for d in s["deps"] for o in outs)
        }
    return done


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m attrctl.pipeline.impact", description=__doc__.split("\n\n")[0])
    p.add_argument("change", nargs="+", help="a param key (dotted, or a section) or a repo-relative file path")
    p.add_argument("--dvc-yaml", default="dvc.yaml", help="the generated dvc.yaml (default: ./dvc.yaml)")
    args = p.parse_args(argv)
    total = len(stages(args.dvc_yaml))
    for change in args.change:
        found = sorted(reruns(change, args.dvc_yaml))
        print(f"{change}: {len(found)} of {total} stages")
        for name in found:
            print(f"  {name}")


if __name__ == "__main__":
    main()
