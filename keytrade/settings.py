"""keytrade settings: everything comes from the environment (see .env.example).

Precedence: real environment > `.env` in the project root > `var/local.env`, which
`make run` writes once with freshly generated local secrets.
"""

from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env.str("KEYTRADE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# read_env never overrides variables already set, so the first file read wins.
for _env_file in (BASE_DIR / ".env", VAR_DIR / "local.env"):
    if _env_file.is_file():
        environ.Env.read_env(str(_env_file), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("KEYTRADE_TESTING", default=False)


def _required_secret(name: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG or TESTING:
        raise ImproperlyConfigured(
            f"{name} is not set. Run `make run` once (it writes local keys to var/local.env) "
            f"or set {name} in the environment."
        )
    raise ImproperlyConfigured(
        f"{name} must be set when DEBUG is off: keytrade has no default for secrets. "
        f"Set {name} in the environment or in .env (see .env.example)."
    )


SECRET_KEY = _required_secret("SECRET_KEY")
# Encrypts exchange credentials at rest; independent of SECRET_KEY (see README, security model).
CRYPTOGRAPHY_KEY = _required_secret("CRYPTOGRAPHY_KEY")
# Keys that were current before a rotation; used only by `manage.py rotate_encryption_keys`.
OLD_SECRET_KEY = env.str("OLD_SECRET_KEY", default="")
OLD_CRYPTOGRAPHY_KEY = env.str("OLD_CRYPTOGRAPHY_KEY", default="")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # django.contrib.admin, with an admin site that requires two-factor for staff.
    "accounts.apps.KeytradeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "trading",
    "paper",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The paper exchange's Binance endpoints skip the page middleware below (paper/middleware.py).
    "paper.middleware.BinanceApiMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "keytrade.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "keytrade.urls"
WSGI_APPLICATION = "keytrade.wsgi.application"
ASGI_APPLICATION = "keytrade.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL points elsewhere (PostgreSQL in production).
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'keytrade.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let web, worker and beat share one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
# Persistent connections, SQLite included: opening one (with the PRAGMAs above) costs about
# 3 ms of CPU per request, a tenth of a dashboard page (bench/pages.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# Cache: shared across processes (2FA code reuse and login throttling rely on it).
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside VAR_DIR in the Docker image, so an upgraded image never serves stale files.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "keytrade.staticfiles.MemoisedManifestStorage"
        )
    },
}

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# --- Celery -------------------------------------------------------------------------------
# With no REDIS_URL, kombu's filesystem transport: no server, works across processes on one host.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = REDIS_URL or "filesystem://localhost//"  # a host name keeps kombu quiet
if not REDIS_URL:
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu keeps its exchange tables in ./control unless told otherwise.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
# Celery's own defaults, stated: every publish reads these, and a setting missing here costs
# ~20 us per read (Celery tries several names in Django's settings before its default).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_BROKER_POOL_ACQUIRE_TIMEOUT = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Paper exchange -------------------------------------------------------------------------
PAPER_EXCHANGE_URL = env.str("PAPER_EXCHANGE_URL", default="http://127.0.0.1:8000/paper")
PAPER_STARTING_BALANCES = env.json(
    "PAPER_STARTING_BALANCES", default={"USDT": "10000", "BTC": "0.5", "ETH": "5"}
)
PAPER_FEE_RATE = Decimal(env.str("PAPER_FEE_RATE", default="0.001"))
# Seeds the market simulator: the same seed gives the same prices and candles on every run.
PAPER_SEED = env.int("PAPER_SEED", default=20240101)
PAPER_HISTORY_DAYS = env.int("PAPER_HISTORY_DAYS", default=120)
# Clock, price and fault controls; never routed when off (the production default).
PAPER_TEST_CONTROLS = env.bool("PAPER_TEST_CONTROLS", default=DEBUG or TESTING)
# Read the client address from X-Forwarded-For (for IP whitelists) only behind a trusted proxy.
PAPER_TRUSTED_PROXY = env.bool("PAPER_TRUSTED_PROXY", default=False)
# Rate-limit counters: shared Redis when configured, else per-process memory (the file
# cache costs a file rename per request, which would dominate the exchange's latency).
CACHES["paper"] = (
    CACHES["default"]
    if REDIS_URL
    else {"BACKEND": "paper.cache.PaperLocMemCache", "LOCATION": "paper"}
)
# Request weight per minute per IP and per key, new orders per 10 s per account (Binance x10).
PAPER_RATE_LIMITS = {
    "ip_weight_per_minute": env.int("PAPER_IP_WEIGHT_PER_MINUTE", default=60000),
    "key_weight_per_minute": env.int("PAPER_KEY_WEIGHT_PER_MINUTE", default=60000),
    "orders_per_10s": env.int("PAPER_ORDERS_PER_10S", default=1000),
}

# --- Benchmarks ----------------------------------------------------------------------------
# Routes /bench/trivial, a view with no database work, as bench/pages.py's baseline. Off by default.
BENCH_VIEWS = env.bool("KEYTRADE_BENCH_VIEWS", default=False)

# --- Exchange connector and order path -------------------------------------------------------
EXCHANGE_TIMEOUT_MS = env.int("EXCHANGE_TIMEOUT_MS", default=10_000)
# ccxt's limiter spacing for the paper exchange (real exchanges keep ccxt's own rateLimit).
PAPER_EXCHANGE_RATE_LIMIT_MS = env.int("PAPER_EXCHANGE_RATE_LIMIT_MS", default=10)
# A SUBMITTING intent claimed longer ago than this is presumed orphaned and reconciled.
ORDER_CLAIM_LEASE_SECONDS = env.int("ORDER_CLAIM_LEASE_SECONDS", default=60)
# Defaults for every user's limits until an admin sets their ceilings (notional in quote currency).
TRADING_DEFAULT_MAX_ORDER_NOTIONAL = Decimal(
    env.str("TRADING_DEFAULT_MAX_ORDER_NOTIONAL", default="10000")
)
TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = env.int("TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE", default=10)
# Seconds between syncs of every key; keytrade/celery.py reads the same variable for beat.
ACCOUNT_SYNC_INTERVAL_SECONDS = env.int("ACCOUNT_SYNC_INTERVAL_SECONDS", default=60)

# --- allauth: login, 2FA -----------------------------------------------------------------
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ALLOW_REGISTRATION = env.bool("ALLOW_REGISTRATION", default=False)
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = {
    # 5 failures per username per 15 minutes, 20 per IP per minute.
    "login_failed": "20/m/ip,5/15m/key",
}
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# TOTP secrets and recovery-code seeds are stored encrypted with the vault keys.
MFA_ADAPTER = "accounts.mfa_adapter.MFAAdapter"
MFA_FORMS = {"activate_totp": "accounts.forms.ActivateTOTPForm"}
MFA_TOTP_ISSUER = "keytrade"

# --- Email ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="keytrade <keytrade@localhost>")

# --- Notifications -----------------------------------------------------------------------------
# Links in emails and webhook payloads are made absolute with this.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Outgoing webhooks may not reach loopback/private/link-local addresses unless this is on.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)

# --- Security (production = DEBUG off) ---------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
# Sessions are read from the cache and written through to the database: a page read costs
# no session query (the database stays the truth, so a cache flush logs nobody out).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Health checks and the paper exchange's API are plain-HTTP friendly behind the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^paper/(api|sapi)/"]
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "quiet": {"()": "keytrade.logging.QuietFrequentTasksFilter"},
        "redact": {"()": "keytrade.logging.RedactSecretsFilter"},
    },
    "formatters": {"json": {"()": "keytrade.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            # quiet first: it reads the record's arguments, which redact then folds in.
            "filters": ["quiet", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "ccxt": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
AUTH_USER_MODEL = "accounts.User"
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Bots ---------------------------------------------------------------------------------
# Market data for ticks is fetched once per (exchange, symbol) per this many seconds, shared.
BOTS_MARKET_DATA_SECONDS = env.float("BOTS_MARKET_DATA_SECONDS", default=2.0)
# A tick's claim on its bot row lasts this long; a dead worker's claim expires after it.
BOTS_TICK_LEASE_SECONDS = env.int("BOTS_TICK_LEASE_SECONDS", default=60)
# A dispatched tick not started within this many seconds is dispatched again (lost message).
BOTS_DISPATCH_TTL_SECONDS = env.int("BOTS_DISPATCH_TTL_SECONDS", default=30)
# Due bots travel to workers in batches of at most this many ids (one message, one claim).
BOTS_TICK_BATCH = env.int("BOTS_TICK_BATCH", default=50)
BOTS_DRY_RUN_FEE_RATE = Decimal(env.str("BOTS_DRY_RUN_FEE_RATE", default="0.001"))
