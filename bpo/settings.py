"""Django settings for OpenBPO.

Everything that differs between machines comes from the environment:

- ``DATABASE_URL``: PostgreSQL in production (``postgres://user:pass@host:5432/name``); when unset,
  the embedded SQLite database ``var/openbpo.sqlite3``.
- ``OPENBPO_PG_PREPARED=0``: no server-side prepared statements on PostgreSQL (for a connection
  pooler in transaction mode that cannot keep them); by default they are on.
- ``DJANGO_SECRET_KEY``: required in production; when unset, a random key is generated once into
  ``var/secret_key`` (never committed) so a local demo works out of the box.
- ``OPENBPO_DEBUG=1``: Django's debug mode (never in production).
- ``OPENBPO_ALLOWED_HOSTS``: comma-separated host names (default: localhost and 127.0.0.1).
- ``OPENBPO_HTTPS=1``: the site is served over HTTPS; turns on secure cookies and HSTS.
- ``OPENBPO_MAX_ATTACHMENT_BYTES``: the largest file a work item takes (default 25 MiB).
- ``OPENBPO_MAX_EMAIL_BYTES``: the largest message the SMTP receiver accepts (default 35 MiB);
  a larger one fetched by IMAP is stored and flagged, not processed.
- ``OPENBPO_MAIL_DOMAIN``: the domain of the Message-IDs of outgoing mail (default: the host name).
- ``OPENBPO_SMTP_URL``: where outgoing mail is handed over, e.g.
  ``smtp+starttls://user:password@smtp.example:587`` (``smtp://`` plain, ``smtps://`` TLS);
  unset, the outbox keeps its mail and says it has nowhere to send it.
- ``OPENBPO_ENCRYPTION_KEY``: the secret the stored IMAP passwords are encrypted under (read by
  ``bpo.intake.credentials``; default: ``DJANGO_SECRET_KEY``). Changing it makes them unreadable.
- ``OPENBPO_BASE_URL``: the address people reach OpenBPO at, for links in mail that no request
  carries (the satisfaction survey sent at a resolution); default ``http://127.0.0.1:8000``.
- ``OPENBPO_BILLING_FROM``: the sender of invoices mailed to clients' admins (default
  ``billing@`` the mail domain).
- ``OPENBPO_FORM_RATE_LIMIT``: submissions a public web form takes from one address in ten
  minutes (default 5).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OPENBPO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _local_secret_key() -> str:
    """Read the generated local secret key, creating it on first use (demo and tests only)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _local_secret_key()
DEBUG = _env_flag("OPENBPO_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("OPENBPO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
if "PYTEST_VERSION" in os.environ:
    ALLOWED_HOSTS.append("testserver")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "bpo.tenancy",
    "bpo.accounts",
    "bpo.audit",
    "bpo.calendars",
    "bpo.contracts",
    "bpo.work",
    "bpo.workforce",
    "bpo.intake",
    "bpo.portal",
    "bpo.billing",
    "bpo.finance",
    "bpo.web",
    "bpo.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bpo.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bpo.audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bpo.tenancy.middleware.TenantScopeMiddleware",
    "bpo.web.middleware.UserTimeZoneMiddleware",
    "bpo.web.middleware.ReaderLocaleMiddleware",
    "bpo.web.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "bpo.urls"
WSGI_APPLICATION = "bpo.wsgi.application"
ASGI_APPLICATION = "bpo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bpo.web.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

SQLITE_PATH = VAR_DIR / "openbpo.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{SQLITE_PATH}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers never both
        # read the same audit chain head; WAL lets readers carry on meanwhile.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
elif os.environ.get("OPENBPO_PG_PREPARED", "1") != "0":
    # Parameters bound by the server, and a statement run five times on a connection prepared
    # there: the routine statements of every request (get next above all) are parsed and
    # planned once per connection instead of at every run (docs/benchmarks.md, routing).
    # Behind a pooler in transaction mode (PgBouncer before 1.21), set OPENBPO_PG_PREPARED=0.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and security ------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["bpo.accounts.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Failed logins allowed per e-mail address and per IP address within the window.
LOGIN_THROTTLE = {"per_email": 5, "per_ip": 30, "window_seconds": 15 * 60}

HTTPS = _env_flag("OPENBPO_HTTPS")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
# Front-end libraries come from their npm packages (package.json); no JavaScript build step.

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Work-item attachments: one directory per client, never served as static or media files
    # (only through the API, which checks the scope and audits the download).
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": VAR_DIR / "attachments",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    # Raw inbound e-mail, stored before it is parsed: one directory per client.
    "mail": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": VAR_DIR / "mail",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    # Uploaded import files (CSV, XLSX), kept as uploaded: one directory per client.
    "imports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": VAR_DIR / "imports",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    # Finance files: bank statements and ledger exports as uploaded, and the daily reports
    # (PDF, CSV) made from them: one directory per client.
    "finance": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": VAR_DIR / "finance",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or "PYTEST_VERSION" in os.environ
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or "PYTEST_VERSION" in os.environ

# --- Uploads --------------------------------------------------------------------------------

OPENBPO_MAX_ATTACHMENT_BYTES = int(
    os.environ.get("OPENBPO_MAX_ATTACHMENT_BYTES", str(25 * 1024 * 1024))
)
OPENBPO_MAX_EMAIL_BYTES = int(os.environ.get("OPENBPO_MAX_EMAIL_BYTES", str(35 * 1024 * 1024)))
OPENBPO_MAIL_DOMAIN = os.environ.get("OPENBPO_MAIL_DOMAIN", "").strip()
OPENBPO_SMTP_URL = os.environ.get("OPENBPO_SMTP_URL", "").strip()
OPENBPO_BILLING_FROM = os.environ.get("OPENBPO_BILLING_FROM", "").strip()
OPENBPO_BASE_URL = os.environ.get("OPENBPO_BASE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
# Public web forms: at most this many submissions (and contact replies) per network address and
# form within the window.
OPENBPO_FORM_RATE_LIMIT = int(os.environ.get("OPENBPO_FORM_RATE_LIMIT", "5"))
OPENBPO_FORM_RATE_WINDOW = timedelta(minutes=10)
# The size limit is checked while the upload is read, before anything reaches the disk.
FILE_UPLOAD_HANDLERS = [
    "bpo.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- The workspace's live parts ---------------------------------------------------------------

# The item page tells the server every this many seconds that it is still open (a work session
# not heard from for 2 minutes ends); the manager's queue and agent tables refresh this often.
OPENBPO_HEARTBEAT_SECONDS = 30
OPENBPO_BOARD_REFRESH_SECONDS = 20

# --- Background tasks -----------------------------------------------------------------------

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# --- Logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("OPENBPO_LOG_LEVEL", "WARNING")},
}
