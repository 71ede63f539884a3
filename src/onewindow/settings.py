"""Django settings, all from environment variables with safe defaults.

| variable                  | default                                   |
|---------------------------|-------------------------------------------|
| ONEWINDOW_HOME            | current directory; data lives in $HOME/var |
| ONEWINDOW_DATABASE_URL    | sqlite:///$ONEWINDOW_HOME/var/onewindow.sqlite3 (WAL mode) |
| ONEWINDOW_DB_PREPARED_STATEMENTS | on (PostgreSQL): server-side binding, a statement prepared on |
|                           | its 2nd run per connection; off behind a transaction-mode pooler |
| ONEWINDOW_REDIS_URL       | unset: local-memory cache, SQLite job queue |
| ONEWINDOW_SECRET_KEY      | generated into var/secret_key on first run (mode 0600) |
| ONEWINDOW_DEBUG           | off                                       |
| ONEWINDOW_ALLOWED_HOSTS   | 127.0.0.1,localhost,[::1]                 |
| ONEWINDOW_HTTPS           | off; on: secure cookies, HSTS, redirect to https |
| ONEWINDOW_LOG_LEVEL       | INFO                                      |
| ONEWINDOW_TRUSTED_PROXIES | empty; reverse-proxy IPs whose X-Forwarded-For is believed |
| ONEWINDOW_PLATFORM_NAME   | empty: "一网通办政务服务平台"                |
| ONEWINDOW_FIELD_KEYS      | generated into var/field_keys: SM4 keys "id:hex,..." (current first) |
| ONEWINDOW_LOOKUP_KEY      | generated into var/lookup_key: HMAC-SM3 key for look-up hashes |
| ONEWINDOW_OIDC_RSA_KEY    | generated into var/oidc_rsa.pem: ID-token signing key (PEM) |
| ONEWINDOW_OIDC_ISSUER     | empty: the site root of each request        |
| ONEWINDOW_PUBLIC_URL      | http://127.0.0.1:8000: the site root printed in e-license QR codes |
| ONEWINDOW_VERIFY_RATE_PER_MINUTE | 120: public e-license verifications per client IP and minute |
| ONEWINDOW_SMS_GATEWAY     | onewindow.identity.sms.LogGateway (demo: logs, sends nothing) |
| ONEWINDOW_PASSWORD_MIN_LENGTH, ONEWINDOW_STAFF_PASSWORD_MAX_AGE_DAYS,          |
| ONEWINDOW_LOCKOUT_FAILURES, ONEWINDOW_LOCKOUT_MINUTES | 8, 90, 5, 15 (等保 2.0 level 3) |
| ONEWINDOW_EVENT_MAX_ATTEMPTS | 8: attempts before an outbox delivery is marked dead |
| ONEWINDOW_YELLOW_DAYS, ONEWINDOW_YELLOW_RATIO | 2, 0.2: a work item turns yellow when at most  |
|                           | max(days, ratio x limit) working days remain; red when overdue |
| ONEWINDOW_MATERIAL_MAX_MB | 20: largest accepted upload                 |
| ONEWINDOW_VIRUS_SCANNER   | empty: no scanner (files marked not_scanned); a dotted path to a |
|                           | callable(bytes) -> bool (True = clean), e.g. a clamd client       |
| ONEWINDOW_S3_BUCKET       | empty: uploads in var/media; set: an S3 bucket (django-storages), |
|                           | with ONEWINDOW_S3_ENDPOINT_URL, _REGION, _ADDRESSING_STYLE, _PREFIX, |
|                           | _ACCESS_KEY_ID, _SECRET_ACCESS_KEY (docs/operations.md, scale-out) |
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
HOME_DIR = Path(os.environ.get("ONEWINDOW_HOME", Path.cwd())).resolve()
VAR_DIR = HOME_DIR / "var"
VAR_DIR.mkdir(parents=True, exist_ok=True)


def generated_secret(env_name: str, filename: str, make: Callable[[], str]) -> str:
    """The environment variable, or a value generated once into var/ (mode 0600, never
    committed). Production sets the variables from a secret store (docs/operations.md)."""
    value = os.environ.get(env_name, "").strip()
    if value:
        return value
    path = VAR_DIR / filename
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty: delete it or set {env_name}")
    return value


def new_rsa_key() -> str:
    """A new RSA 2048 private key, PEM (PKCS#8): the OIDC signing key when none is given."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


SECRET_KEY = generated_secret(
    "ONEWINDOW_SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50)
)
# SM4 keys for personal data at rest, "id:hex,id:hex" with the current key first, and the
# HMAC-SM3 look-up key. Rotation: docs/operations.md ("Rotating the field keys").
FIELD_ENCRYPTION_KEYS = generated_secret(
    "ONEWINDOW_FIELD_KEYS", "field_keys", lambda: f"k1:{secrets.token_hex(16)}"
)
LOOKUP_HASH_KEY = generated_secret(
    "ONEWINDOW_LOOKUP_KEY", "lookup_key", lambda: secrets.token_hex(32)
)
OIDC_RSA_PRIVATE_KEY = generated_secret("ONEWINDOW_OIDC_RSA_KEY", "oidc_rsa.pem", new_rsa_key)
DEBUG = env_bool("ONEWINDOW_DEBUG", False)
# The public site root: e-license QR codes point at {PUBLIC_URL}/verify/<identifier>.
PUBLIC_URL = os.environ.get("ONEWINDOW_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("ONEWINDOW_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
HTTPS = env_bool("ONEWINDOW_HTTPS", False)
TRUSTED_PROXIES = env_list("ONEWINDOW_TRUSTED_PROXIES", "")

INSTALLED_APPS = [
    "onewindow.identity.apps.OneWindowAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's sessions page
    "ninja",  # serves Swagger UI from its own package, not from a CDN
    "huey.contrib.djhuey",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "axes",
    "oauth2_provider",
    "onewindow.identity.apps.IdentityConfig",
    "onewindow.org",
    "onewindow.audit",
    "onewindow.catalog",
    "onewindow.workflow",
    "onewindow.casework",
    "onewindow.events",
    "onewindow.notify",
    "onewindow.datahub",
    "onewindow.license",
    "onewindow.portal",
]

MIDDLEWARE = [
    "onewindow.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "onewindow.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "onewindow.identity.middleware.AccessPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "onewindow.middleware.ApiErrorEnvelopeMiddleware",
    "onewindow.middleware.PermissionDeniedAuditMiddleware",
    # Last, so a lockout raised anywhere in a login is turned into its answer (ACCOUNT_LOCKED).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "onewindow.urls"
WSGI_APPLICATION = "onewindow.wsgi.application"

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
                "django.template.context_processors.i18n",
                "onewindow.portal.context_processors.display_preferences",
                "onewindow.notify.context_processors.unread_notifications",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------------------

DATABASE_URL = os.environ.get(
    "ONEWINDOW_DATABASE_URL", f"sqlite:///{VAR_DIR / 'onewindow.sqlite3'}"
)
_db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue instead of failing half-way with "database is locked".
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    _db.setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test_onewindow.sqlite3")
else:
    _db["CONN_HEALTH_CHECKS"] = True
    if env_bool("ONEWINDOW_DB_PREPARED_STATEMENTS", True):
        # Parameters bound by the server and each statement prepared on its second run in a
        # connection: planning the joined reads of the hot paths cost more PostgreSQL CPU than
        # running them (ADR 0015). A transaction-mode pooler (PgBouncer < 1.21) cannot keep
        # prepared statements: switch this off behind one.
        _db["OPTIONS"] = {
            **_db.get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": 2,
        }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, jobs ---------------------------------------------------------------------------

REDIS_URL = os.environ.get("ONEWINDOW_REDIS_URL", "").strip()
if REDIS_URL:
    # Sessions live in Redis too, so any app instance serves any logged-in person.
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "onewindow",
        }
    }
    HUEY: dict[str, Any] = {
        "huey_class": "huey.RedisHuey",
        "name": "onewindow",
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "onewindow",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
    }
HUEY["consumer"] = {"workers": 2, "worker_type": "thread"}

# --- auth ----------------------------------------------------------------------------------

AUTH_USER_MODEL = "identity.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/accounts/security/"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # verifies older hashes, then upgrades
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses while locked out, counts failures
    "onewindow.identity.backends.IdentifierBackend",  # username, ID number or mobile
    "allauth.account.auth_backends.AuthenticationBackend",  # login by SMS code
]

# Password and session policy (等保 2.0 level 3, DOMAIN.md; each a setting, defaults shown).
PASSWORD_MIN_LENGTH = int(os.environ.get("ONEWINDOW_PASSWORD_MIN_LENGTH", "8"))
PASSWORD_MIN_CHARACTER_CLASSES = 3  # of: lower case, upper case, digits, symbols
PASSWORD_HISTORY_COUNT = 5  # the last 5 passwords cannot be reused
STAFF_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("ONEWINDOW_STAFF_PASSWORD_MAX_AGE_DAYS", "90"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {
        "NAME": "onewindow.identity.passwords.CharacterClassValidator",
        "OPTIONS": {"min_classes": PASSWORD_MIN_CHARACTER_CLASSES},
    },
    {
        "NAME": "onewindow.identity.passwords.HistoryValidator",
        "OPTIONS": {"count": PASSWORD_HISTORY_COUNT},
    },
]

# django-axes: lock after 5 failures for 15 minutes, per account and (separately) per IP.
AXES_FAILURE_LIMIT = int(os.environ.get("ONEWINDOW_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ONEWINDOW_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A successful login clears that login name's failures (identity.receivers), never the IP's:
# otherwise anyone with one valid account could reset their IP's count every four guesses.
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a try while locked does not restart it
AXES_USERNAME_CALLABLE = "onewindow.identity.lockout.username_from_request"
AXES_CLIENT_IP_CALLABLE = "onewindow.identity.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "onewindow.identity.lockout.lockout_response"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["login", "username", "password", "otp", "code"]

# django-allauth: accounts, SMS login codes, TOTP, sessions list.
ACCOUNT_ADAPTER = "onewindow.identity.adapters.AccountAdapter"
MFA_ADAPTER = "onewindow.identity.adapters.MFAAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "phone"}
# The mobile is required for citizens by RealNameSignupForm; marking it required here would
# make allauth refuse logins of staff accounts, which have none.
ACCOUNT_SIGNUP_FIELDS = ["phone", "username*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "onewindow.identity.forms.RealNameSignupForm"
ACCOUNT_FORMS = {
    "login": "onewindow.identity.account_forms.LoginForm",
    "signup": "onewindow.identity.account_forms.SignupForm",
}
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_RATE_LIMITS = {"login_failed": False}  # django-axes owns lockout
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "OneWindow"
USERSESSIONS_TRACK_ACTIVITY = True
# SMS gateway plugin (identity.sms); the demo backend writes codes to the log.
SMS_GATEWAY = os.environ.get("ONEWINDOW_SMS_GATEWAY", "onewindow.identity.sms.LogGateway")

# django-oauth-toolkit: OpenID Connect provider and tokens for first-party apps.
FIRST_PARTY_ACCESS_TOKEN_SECONDS = 15 * 60
FIRST_PARTY_REFRESH_TOKEN_SECONDS = 7 * 24 * 3600
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "PKCE_REQUIRED": True,
    "OAUTH2_VALIDATOR_CLASS": "onewindow.identity.oidc.OneWindowValidator",
    "SCOPES": {
        "openid": _("Sign you in"),
        "profile": _("Your name and masked ID number"),
        "phone": _("Your mobile number"),
        "id_number": _("Your citizen ID number in full"),
        "datahub": _("Read shared government data under an agreement"),
    },
    "DEFAULT_SCOPES": ["openid"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 15 * 60,
    "ID_TOKEN_EXPIRE_SECONDS": 15 * 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 7 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # only a checksum of each token is stored
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only, never "plain"
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 iss in authorization responses
    # The issuer, e.g. https://zwfw.example.gov.cn. Unset: the site root of each request, so
    # discovery at /.well-known/openid-configuration and the tokens' "iss" agree.
    "OIDC_ISS_ENDPOINT": os.environ.get("ONEWINDOW_OIDC_ISSUER", "").rstrip("/"),
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

# --- security ------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 30 * 60  # idle timeout (等保 2.0 *config* default: 30 minutes)
SESSION_SAVE_EVERY_REQUEST = True  # the 30 minutes count from the last request
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "onewindow.portal.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load-balancer probes speak plain http
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = False
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = (
    [] if HTTPS else ["security.W004", "security.W008", "security.W012", "security.W016"]
)

# --- i18n ----------------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the choice lasts like the display preferences
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- static files --------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from here after collectstatic
# Uploaded materials and license PDFs: var/media on this host, or an S3-compatible bucket
# shared by every app instance (scale-out, docs/operations.md). Either way they are personal
# data, read only through the storage API by the platform's own views (never by a bucket URL).
S3_BUCKET = os.environ.get("ONEWINDOW_S3_BUCKET", "").strip()
_media: dict[str, Any]
if S3_BUCKET:
    _s3: dict[str, Any] = {
        "bucket_name": S3_BUCKET,
        "location": os.environ.get("ONEWINDOW_S3_PREFIX", "").strip().strip("/"),
        "default_acl": "private",
        # No signed URLs: .url() gives a plain address that a private object refuses, so no
        # link anywhere can hand a file out around the platform's access checks.
        "querystring_auth": False,
        "file_overwrite": False,  # like the file system: a taken name gets a suffix
    }
    for _option, _variable in [
        ("endpoint_url", "ONEWINDOW_S3_ENDPOINT_URL"),  # unset: AWS; else MinIO, Ceph, OSS ...
        ("region_name", "ONEWINDOW_S3_REGION"),
        ("addressing_style", "ONEWINDOW_S3_ADDRESSING_STYLE"),  # path | virtual | auto
        # Unset: boto3's own chain (AWS_ACCESS_KEY_ID ..., instance roles).
        ("access_key", "ONEWINDOW_S3_ACCESS_KEY_ID"),
        ("secret_key", "ONEWINDOW_S3_SECRET_ACCESS_KEY"),
    ]:
        if os.environ.get(_variable, "").strip():
            _s3[_option] = os.environ[_variable].strip()
    _media = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3}
else:
    _media = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    }
STORAGES = {
    "default": _media,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the package when collectstatic has not run

# --- API -----------------------------------------------------------------------------------

NINJA_PAGINATION_PER_PAGE = 50

# --- logging: one JSON object per line on stderr, each with the request id ---------------

LOG_LEVEL = os.environ.get("ONEWINDOW_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "onewindow.kit.context.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
        }
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Our request middleware logs every request once; Django's 4xx warnings would repeat
        # it. 5xx errors (with their traceback) still come through at ERROR.
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
        # With a handler of its own configured here, huey's consumer does not add a plain-text
        # one beside it.
        "huey": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # fontTools logs every glyph subset of every license PDF at INFO.
        "fontTools": {"level": "WARNING", "propagate": True},
    },
}

# --- OneWindow ------------------------------------------------------------------------------

ONEWINDOW_PLATFORM_NAME = os.environ.get("ONEWINDOW_PLATFORM_NAME", "")
# Outbox (events): attempts before a delivery is dead (retries back off 30 s x 2^n, max 1 h).
ONEWINDOW_EVENT_MAX_ATTEMPTS = int(os.environ.get("ONEWINDOW_EVENT_MAX_ATTEMPTS", "8"))

# Public e-license verification (page and API): per client IP and minute (0: no limit).
ONEWINDOW_VERIFY_RATE_PER_MINUTE = int(os.environ.get("ONEWINDOW_VERIFY_RATE_PER_MINUTE", "120"))

# Work-item warning lights (红黄绿灯, DOMAIN.md: *config*).
ONEWINDOW_YELLOW_DAYS = int(os.environ.get("ONEWINDOW_YELLOW_DAYS", "2"))
ONEWINDOW_YELLOW_RATIO = float(os.environ.get("ONEWINDOW_YELLOW_RATIO", "0.2"))
# Working days the department head has to decide an extension request (延期审批).
ONEWINDOW_EXTENSION_DECISION_DAYS = 2
# Extension granted by the head (行政许可法 Art. 42: +10 working days).
ONEWINDOW_EXTENSION_DAYS = 10
# Uploaded materials (申请材料).
ONEWINDOW_MATERIAL_MAX_BYTES = int(os.environ.get("ONEWINDOW_MATERIAL_MAX_MB", "20")) * 1024 * 1024
ONEWINDOW_VIRUS_SCANNER = os.environ.get("ONEWINDOW_VIRUS_SCANNER", "")
DATA_UPLOAD_MAX_MEMORY_SIZE = ONEWINDOW_MATERIAL_MAX_BYTES + 1024 * 1024
