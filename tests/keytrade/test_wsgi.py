"""The WSGI module gunicorn imports leaves each worker ready to serve without GC stalls."""

import json
import secrets
import sys

from cryptography.fernet import Fernet

from tests.processes import ROOT, bare_env, run

LOAD = """
import gc, json, sys
import keytrade.wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "views_loaded": all(
        name in sys.modules for name in ("trading.views", "paper.views", "accounts.views")
    ),
}))
"""


def test_the_wsgi_module_loads_every_view_and_freezes_what_it_loaded(tmp_path):
    # Full collections otherwise walk every object Django, ccxt and the apps loaded: 150-350 ms
    # per worker, several times a minute under load (bench/pages.py's p99 tripled).
    env = bare_env(
        ROOT,
        DJANGO_SETTINGS_MODULE="keytrade.settings",
        KEYTRADE_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY=secrets.token_urlsafe(50),
        CRYPTOGRAPHY_KEY=Fernet.generate_key().decode(),
    )
    done = run([sys.executable, "-c", LOAD], env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state["views_loaded"]
    # Nearly everything the process holds is out of the collector's view.
    assert state["frozen"] > 10 * state["tracked"], state
