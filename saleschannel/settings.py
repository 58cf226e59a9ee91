"""Django settings. Everything environment-specific comes from environment variables (see README)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from saleschannel.config import data_dir, persistent_secret, private_dir, private_sqlite_file, private_umask

# Everything this process creates (database, queue, e-mails, PDFs, logs) is private to its account: files 0600,
# folders 0700 (see config.py). Set before the data folder and its files are first touched.
private_umask()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

SECRET_KEY = persistent_secret("secret_key", "SECRET_KEY")
DEBUG = os.environ.get("SALESCHANNEL_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "huey.contrib.djhuey",
    "saleschannel.core",
    "saleschannel.catalog",
    "saleschannel.customers",
    "saleschannel.sales",
    "saleschannel.amazon",
    "saleschannel.api",
    "saleschannel.web",
    "saleschannel",  # the project-wide management commands (serve, worker, createadmin, demo)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "saleschannel.urls"
WSGI_APPLICATION = "saleschannel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------------------
# SQLite by default (a file in the data folder, WAL mode); PostgreSQL when DATABASE_URL says so.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'saleschannel.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers go on while one writer writes. IMMEDIATE takes the write lock when a transaction
        # starts, so two writers queue on `timeout` instead of failing with "database is locked" on upgrade.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    if DATABASES["default"]["NAME"] and ":memory:" not in str(DATABASES["default"]["NAME"]):
        private_sqlite_file(DATABASES["default"]["NAME"])  # 0600 before SQLite creates it (and its -wal, -shm)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work (Huey) --------------------------------------------------------------------------------
# SQLite queue file by default; with REDIS_URL (e.g. redis://127.0.0.1:6379/0), Redis, so that workers on several
# machines share one queue. HUEY_NAME names the queue inside that Redis database: installations (or test runs)
# sharing a Redis server keep apart by using different names or database numbers.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    HUEY = {
        # Nothing reads task results back; RedisHuey would keep every one of them for ever (a hash that grows by
        # a few entries a minute). These expire after a day.
        "huey_class": "huey.RedisExpireHuey",
        "expire_time": 24 * 3600,
        "name": os.environ.get("HUEY_NAME", "saleschannel"),
        "url": REDIS_URL,
        "immediate": False,
        "utc": True,
    }
else:
    private_sqlite_file(DATA_DIR / "queue.sqlite3")
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "saleschannel",
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": False,
        "utc": True,
    }
if os.environ.get("HUEY_IMMEDIATE") == "1":
    HUEY["immediate"] = True

# --- Auth --------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; keep default behaviour
# The new invoice / shipment / credit memo pages post one quantity per order line (and a "return to stock" box per
# line for a credit memo): a 10,000-line order posts about 20,000 fields. Django's default of 1,000 refused orders
# of more than ~1,000 lines with a bare 400. Tested at 10,000 lines (tests/sales/test_bad_input.py).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 25_000

# --- Internationalisation ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("SALESCHANNEL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
private_dir(STATIC_ROOT)  # WhiteNoise serves from the finders; it only needs the folder to exist
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email -------------------------------------------------------------------------------------------------
# Files under the data folder by default, 0600 in a 0700 folder (saleschannel/mailfiles.py).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "saleschannel.core.mailfiles.PrivateFileEmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Sales Channel <orders@localhost>")

# --- Logging: personal data and secrets never go to the logs (see saleschannel/logging.py) ---------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "saleschannel.core.logfilters.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Its own handler: the worker (run_huey) then adds none of Huey's, and each line is logged once.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Sales Channel -----------------------------------------------------------------------------------------
SALESCHANNEL = {
    "PDF_DIR": DATA_DIR / "pdf",
}
