"""Run real keytrade processes (Celery workers, servers, manage.py) from tests."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# What a deployment ships: everything `make run` needs, nothing from the developer's machine.
SOURCE_DIRS = ("keytrade", "accounts", "trading", "paper", "templates", "static")


def copy_source(dest: Path) -> Path:
    """Copy the project source (no var/, no .env) into dest and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "manage.py", dest / "manage.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCE_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def bare_env(source: Path, **extra: str) -> dict:
    """An environment with nothing keytrade reads: only PATH and HOME, plus `extra`.

    PYTHONPATH points at the copied source so that it, not the editable install of this
    checkout, is what every process imports.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(source)),
        "PYTHONPATH": str(source),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env


def run(args: list, *, env: dict, cwd: Path = ROOT, timeout: float = 120):
    """Run a command to completion and return the CompletedProcess (text output)."""
    return subprocess.run(
        [str(a) for a in args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def running(args: list, *, env: dict, log: Path, cwd: Path = ROOT):
    """Start a long-running process in its own session; terminate it (and its children) after."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(a) for a in args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Send SIGTERM to the process group, then SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def wait_for(predicate, *, timeout: float, interval: float = 0.2, proc=None):
    """Poll predicate until it returns something truthy; return it, or None on timeout.

    Stops early when `proc` (a Popen) has exited, since nothing will change any more.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            return predicate()
        time.sleep(interval)
    return None


def celery_worker_args(*, name: str, queue: str | None = None) -> list:
    """Arguments for a lean single-process Celery worker of the keytrade app."""
    args = [
        VENV_BIN / "celery",
        "-A",
        "keytrade",
        "worker",
        "--pool",
        "solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
        "-n",
        name,
    ]
    if queue:
        args += ["-Q", queue]
    return args


def tail(path: Path, lines: int = 40) -> str:
    """Return the last lines of a log file, for assertion messages."""
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
