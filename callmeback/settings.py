"""Settings for Call Me Back, read from the environment.

Only `SECRET_KEY` is required, and `DEBUG` is off unless set: a deploy that forgets a
variable fails loudly instead of running with development values. `scripts/run` and
`scripts/test` set those development values themselves (DEBUG on, secrets generated once
and kept in `var/`). Otherwise the project runs on one machine: SQLite, local-memory
cache, in-memory channel layer and Celery on kombu's filesystem transport; `DATABASE_URL`
and `REDIS_URL` move it onto PostgreSQL and Redis. Every variable is in `.env.example`.
"""

import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ

from callmeback.keyring import key_material

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# No fallback: the web server and Celery refuse to start unless it comes from the environment
# (callmeback/startup.py). Other commands (makemigrations, check) get a random key that
# lives as long as the process, so nothing signed with it outlasts them.
SECRET_KEY_FROM_ENVIRONMENT = bool(env.str("SECRET_KEY", default=""))
SECRET_KEY = env.str("SECRET_KEY", default="") or secrets.token_urlsafe(50)

# Fernet keys, newest first, for transcripts at rest and the channel layer's messages (which
# carry transcript lines); the key derived from SECRET_KEY is always tried last
# (callmeback/encryption.py, `manage.py rotate_transcript_keys`).
TRANSCRIPT_ENCRYPTION_KEYS = env.list("TRANSCRIPT_ENCRYPTION_KEYS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Before django.contrib.auth, so its createsuperuser (checked like registration) wins.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "personas",
    "calls",
    "calls.scheduling",
    "billing",
    "voice",
    "voice.insights",
    "callmeback",  # its deploy checks (callmeback/checks.py)
]
# Development tooling (devtools/: the local Twilio and Stripe, simulate_call) loads only in
# development: with DEBUG on, or DEVTOOLS=true to run the stand-ins beside production-like
# settings. Production (DEBUG off, no flag) never imports it.
DEVTOOLS = env.bool("DEVTOOLS", default=DEBUG)
if DEVTOOLS:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "callmeback.middleware.RequestSizeLimitMiddleware",
    "callmeback.middleware.RateLimitHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "callmeback.urls"
WSGI_APPLICATION = "callmeback.wsgi.application"
ASGI_APPLICATION = "callmeback.asgi.application"

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
                "billing.context_processors.call_tariff",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A connection is checked before it is used again, so one the database dropped (a restart,
# an idle timeout) is replaced instead of failing the request or the write that drew it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_POOL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_POOL", default=True
)
if DATABASE_POOL:
    # One pool per process (psycopg_pool): every transcript batch and request draws an open
    # connection instead of opening one, and returns it when done (so CONN_MAX_AGE stays 0).
    # Sized for the live calls' database threads (DATABASE_THREADS) plus the requests' thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
        # How long a caller waits for a free (or newly opened) connection before failing.
        "timeout": env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=10.0),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# Threads that run the live calls' database work (their start, transcript and end), beside
# Channels' one shared thread, so one slow write never holds up another call's.
DATABASE_THREADS = env.int("DATABASE_THREADS", default=8)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write at once: WAL lets readers run beside the writer, IMMEDIATE
    # takes the write lock when a transaction starts (so two writers queue instead of one
    # failing to upgrade), and the timeout makes them wait rather than fail "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cmb",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py reads with a 5 s socket timeout by default, the same 5 s the layer blocks
            # for in BZPOPMIN: a consumer that hears nothing for 5 s would crash. Read longer.
            # Its pools also refuse a 101st connection, which hundreds of live calls joining
            # their groups at once reach: allow more (Redis takes 10,000 clients by default).
            # Messages carry transcript lines: encrypted with the transcripts' key material
            # (channels_redis hashes each into a Fernet key of its own), newest first.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        "max_connections": 1000,
                    }
                ],
                "symmetric_encryption_keys": key_material(explicit=TRANSCRIPT_ENCRYPTION_KEYS, secret_key=SECRET_KEY),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _BROKER_DIR = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR),
        "data_folder_out": str(_BROKER_DIR),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Booked calls have a queue and worker of their own (`celery worker -Q dispatch`), so a burst
# of hold releases or emails on the default queue never makes a booking ring late. Re-
# authorisation and series booking talk to Stripe at length: they stay on the default queue.
CELERY_TASK_ROUTES = {
    f"calls.scheduling.tasks.{name}": {"queue": "dispatch"}
    for name in ("claim_due_bookings", "place_bookings", "redial_booking", "remind_booking")
}
CELERY_BEAT_SCHEDULE = {
    "purge-revoked-tokens": {"task": "accounts.tasks.purge_revoked_tokens", "schedule": 6 * 60 * 60},
    # Settles captures and releases a crashed worker left half-done.
    "billing-finish-in-flight-authorizations": {
        "task": "billing.tasks.finish_in_flight_authorizations",
        "schedule": 5 * 60,
    },
    # Records holds whose creation never reported back, and releases holds no call or booking took.
    "billing-sweep-unattached-authorizations": {
        "task": "billing.tasks.sweep_unattached_authorizations",
        "schedule": 5 * 60,
    },
    # Finishes calls Twilio never reported on, and settles holds of finished calls.
    "calls-sweep-unreported": {"task": "calls.tasks.sweep_unreported_calls", "schedule": 60},
    "purge-idempotency-keys": {"task": "callmeback.tasks.purge_idempotent_requests", "schedule": 60 * 60},
    # Claims due bookings, reminders and re-authorisations; the booking rows are the queue.
    "calls-scheduling-sweep": {
        "task": "calls.scheduling.tasks.claim_due_bookings",
        "schedule": env.float("SCHEDULE_SWEEP_SECONDS", default=2.0),
        "options": {"expires": 30},
    },
    # Turns recurring series into bookings a day ahead.
    "calls-series-book-upcoming": {"task": "calls.scheduling.tasks.book_series", "schedule": 5 * 60},
}

# --- Scheduled calls (`000_*` §2.3-2.5); the spec's values are the defaults -----------------

SCHEDULE_MIN_LEAD = timedelta(seconds=env.int("SCHEDULE_MIN_LEAD_SECONDS", default=5 * 60))
SCHEDULE_MAX_AHEAD = timedelta(days=env.int("SCHEDULE_MAX_AHEAD_DAYS", default=30))
SCHEDULE_MAX_ACTIVE = env.int("SCHEDULE_MAX_ACTIVE", default=50)
SCHEDULE_CANCEL_CUTOFF = timedelta(seconds=env.int("SCHEDULE_CANCEL_CUTOFF_SECONDS", default=5 * 60))
SCHEDULE_REMINDER_LEAD = timedelta(seconds=env.int("SCHEDULE_REMINDER_LEAD_SECONDS", default=5 * 60))
# A booking found later than this after its time is marked missed, never called late.
SCHEDULE_LATE_CUTOFF = timedelta(seconds=env.int("SCHEDULE_LATE_CUTOFF_SECONDS", default=10 * 60))
# Holds that end before the call are replaced this long before it.
SCHEDULE_REAUTH_LEAD = timedelta(seconds=env.int("SCHEDULE_REAUTH_LEAD_SECONDS", default=60 * 60))
# A claim (dispatch, reminder, re-authorisation) untouched this long lost its worker.
SCHEDULE_CLAIM_TIMEOUT = timedelta(seconds=env.int("SCHEDULE_CLAIM_TIMEOUT_SECONDS", default=60))
SCHEDULE_SWEEP_BATCH = env.int("SCHEDULE_SWEEP_BATCH", default=500)
# Bookings one placing task places, one after the other (fewer when the calls-per-second
# limit is lower): queueing and running a task costs more than placing a call.
SCHEDULE_PLACE_BATCH = env.int("SCHEDULE_PLACE_BATCH", default=20)
SCHEDULE_SERIES_HORIZON = timedelta(hours=env.int("SCHEDULE_SERIES_HORIZON_HOURS", default=24))

# --- Auth ---------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "accounts:login"

# bcrypt_sha256 uses 12 rounds; the spec asks for a cost of 12 or more.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.validators.PasswordStrengthValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=7 * 24 * 60 * 60)

LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=30 * 60)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(days=env.int("JWT_ACCESS_TOKEN_DAYS", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_TOKEN_DAYS", default=90)),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
}

# --- API ----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["callmeback.ratelimit.EndpointRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["callmeback.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "callmeback.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "callmeback.schema.ErrorDocumentingAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Call Me Back API",
    "DESCRIPTION": "Phone calls from AI personas: auth, personas, contacts, calls and billing.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# A refused CSRF check on an `/api/...` path still answers in the error envelope.
CSRF_FAILURE_VIEW = "callmeback.errors.csrf_failure"

# The largest request body the API accepts (spec §10: 1 MB).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# How many reverse proxies in front of the app append to X-Forwarded-For. 0 trusts none:
# the client address is REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_ENABLED = env.bool("RATELIMIT_ENABLED", default=True)

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False

# --- Email --------------------------------------------------------------------------------

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Call Me Back <no-reply@callmeback.local>")

# --- Voice providers -----------------------------------------------------------------------

# Without a key the persona voice list is the built-in catalogue of ElevenLabs' premade voices.
ELEVENLABS_API_KEY = env.str("ELEVENLABS_API_KEY", default="")
ELEVENLABS_API_URL = env.str("ELEVENLABS_API_URL", default="https://api.elevenlabs.io").rstrip("/")
ELEVENLABS_TIMEOUT_SECONDS = env.float("ELEVENLABS_TIMEOUT_SECONDS", default=10.0)
VOICES_CACHE_SECONDS = env.int("VOICES_CACHE_SECONDS", default=60 * 60)
# Live calls speak through ElevenLabs with a key, through the local espeak-ng without.
ELEVENLABS_MODEL = env.str("ELEVENLABS_MODEL", default="eleven_flash_v2_5")
# Speech to text: Deepgram with a key, the local PocketSphinx without. A model starting
# with "flux" uses Deepgram's turn-taking Flux API.
DEEPGRAM_API_KEY = env.str("DEEPGRAM_API_KEY", default="")
DEEPGRAM_API_URL = env.str("DEEPGRAM_API_URL", default="wss://api.deepgram.com").rstrip("/")
DEEPGRAM_MODEL = env.str("DEEPGRAM_MODEL", default="nova-3")
# Any OpenAI-compatible chat completions API; with neither a key nor a base URL the persona
# is the local scripted responder. LLM_MODEL is the default for personas that name none.
LLM_BASE_URL = env.str("LLM_BASE_URL", default="").rstrip("/")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="gpt-4o-mini")
# How long a synthesised opening line (and the fallback apology) stays cached, in seconds.
GREETING_CACHE_SECONDS = env.int("GREETING_CACHE_SECONDS", default=7 * 24 * 60 * 60)
# What the voice providers charge us, in US dollars, for the per-call cost breakdown in the
# admin (the local stand-ins cost nothing). Defaults: Deepgram Nova-3 streaming, gpt-4o-mini,
# ElevenLabs Flash; set your plan's rates.
DEEPGRAM_PRICE_PER_MINUTE = Decimal(env.str("DEEPGRAM_PRICE_PER_MINUTE", default="0.0077"))
LLM_PRICE_PER_MILLION_INPUT_TOKENS = Decimal(env.str("LLM_PRICE_PER_MILLION_INPUT_TOKENS", default="0.15"))
LLM_PRICE_PER_MILLION_OUTPUT_TOKENS = Decimal(env.str("LLM_PRICE_PER_MILLION_OUTPUT_TOKENS", default="0.60"))
ELEVENLABS_PRICE_PER_THOUSAND_CHARACTERS = Decimal(env.str("ELEVENLABS_PRICE_PER_THOUSAND_CHARACTERS", default="0.05"))

# --- Stripe --------------------------------------------------------------------------------

# Without STRIPE_SECRET_KEY scripts/run starts localstripe on 127.0.0.1 and sets
# STRIPE_API_BASE to it, so cards and payments work on one machine (`check --deploy` refuses it).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
STRIPE_CURRENCY = env.str("STRIPE_CURRENCY", default="usd")
STRIPE_PREMIUM_PRICE_MONTH = env.str("STRIPE_PREMIUM_PRICE_MONTH", default="")
STRIPE_PREMIUM_PRICE_YEAR = env.str("STRIPE_PREMIUM_PRICE_YEAR", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
# A hold no call or booking took this long after it was placed is released by the sweeper.
# `create-payment-intent` is followed by `POST /api/call` or a booking within seconds (a
# 3-D Secure challenge within minutes); 30 minutes leaves room for both and still frees an
# abandoned hold the same hour instead of the card network's 7 days.
UNATTACHED_HOLD_GRACE_SECONDS = env.int("UNATTACHED_HOLD_GRACE_SECONDS", default=30 * 60)

# --- Twilio --------------------------------------------------------------------------------

# Without TWILIO_ACCOUNT_SID, scripts/run starts the local Twilio on 127.0.0.1 and points
# TWILIO_API_BASE and local credentials at it (`check --deploy` refuses both).
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
# The default From number; admins can add more to the caller-id pool.
TWILIO_CALLER_ID = env.str("TWILIO_CALLER_ID", default="")
TWILIO_VERIFY_SERVICE_SID = env.str("TWILIO_VERIFY_SERVICE_SID", default="")
# Replaces scheme and host of every request the twilio SDK makes (api. and verify. alike).
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com").rstrip("/")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=15.0)
# The account's outbound calls-per-second limit (Twilio's default for every account is 1; it
# is raised in Twilio's console). Booked calls are dialled no faster than this.
TWILIO_CALLS_PER_SECOND = env.float("TWILIO_CALLS_PER_SECOND", default=1.0)
# How far ahead the dispatcher reserves dial slots, so claims stay fresh while they wait.
DISPATCH_PACING_HORIZON = timedelta(seconds=env.float("DISPATCH_PACING_HORIZON_SECONDS", default=10.0))
# Countries calls may go to (ISO 3166 codes): a guard against toll fraud.
CALL_ALLOWED_COUNTRIES = [code.upper() for code in env.list("CALL_ALLOWED_COUNTRIES", default=["US", "CA", "GB"])]
# An active call Twilio has told us nothing about for this long (a lost final callback, a
# call past its time limit) is fetched from Twilio and settled from its record.
CALL_SWEEP_GRACE_SECONDS = env.int("CALL_SWEEP_GRACE_SECONDS", default=5 * 60)
# A dial whose answer never came is looked up at Twilio this long after it was attempted
# (longer than TWILIO_TIMEOUT_SECONDS: by then Twilio has created the call or never will).
CALL_DIAL_CHECK_SECONDS = env.int("CALL_DIAL_CHECK_SECONDS", default=60)
# What a persona remembers about a person is kept to this many characters (PersonaMemory).
PERSONA_MEMORY_MAX_CHARS = env.int("PERSONA_MEMORY_MAX_CHARS", default=1500)
# A request sent again with the same Idempotency-Key this long after gets the first answer.
IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))
# A call ended from the app or by an admin hears the persona's goodbye first; past this, the
# line is cut at Twilio whatever happened to the stream.
CALL_GOODBYE_TIMEOUT_SECONDS = env.int("CALL_GOODBYE_TIMEOUT_SECONDS", default=15)
# A signed media-stream socket that has not sent `start` this long after its handshake is closed.
STREAM_START_TIMEOUT_SECONDS = env.float("STREAM_START_TIMEOUT_SECONDS", default=10.0)
# How long a signed recording link works.
RECORDING_LINK_SECONDS = env.int("RECORDING_LINK_SECONDS", default=5 * 60)

# --- Internationalisation and static files -------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the apps' static folders, so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^readiness$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging -------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "callmeback.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # The ASGI server's own lines (uvicorn.access is left to its --access-log switch), in
        # the same format and through the same redaction.
        "uvicorn.error": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
        "twilio": {"level": "WARNING"},
    },
}
