"""Write var/local.env with generated local secrets, once. Runs before Django is configured.

`make run` calls this so that a fresh clone starts with no configuration at all. An existing
file is never rewritten: regenerating the keys would make every stored exchange secret
unreadable.
"""

import os
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet


def write_local_env(var_dir: Path) -> bool:
    """Create var_dir/local.env if missing; return True when a new file was written."""
    var_dir.mkdir(parents=True, exist_ok=True)
    target = var_dir / "local.env"
    if target.exists():
        return False
    body = (
        "# Generated once by `make run` for this machine. Keep it out of git and shared backups.\n"
        "# Losing it makes stored exchange secrets unreadable; see README, rotating keys.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"CRYPTOGRAPHY_KEY={Fernet.generate_key().decode()}\n"
    )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body)
    return True


if __name__ == "__main__":
    base = Path(__file__).resolve().parent.parent
    var = Path(os.environ.get("KEYTRADE_VAR_DIR", base / "var"))
    if write_local_env(var):
        print(f"Generated local secrets in {var / 'local.env'}", file=sys.stderr)
