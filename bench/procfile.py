"""The Procfile's web command as the benches start it (what `make run` and the image run)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def web_command(bind: str, flags: dict[str, str | None] | None = None) -> list[str]:
    """The Procfile's gunicorn command, from this interpreter's venv, bound to `bind`.

    `flags` overrides gunicorn options ({"--workers": "2"}): a value replaces the Procfile's,
    or is added when the Procfile has none; None leaves the option as it is; "" removes it.
    """
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    args = shlex.split(line.split(":", 1)[1])
    args[0] = str(Path(sys.executable).parent / "gunicorn")
    for flag, value in {"--bind": bind, **(flags or {})}.items():
        if value is None:
            continue
        if flag in args:
            at = args.index(flag)
            if value:
                args[at + 1] = value
            else:
                del args[at : at + 2]
        elif value:
            args[1:1] = [flag, value]
    return args
