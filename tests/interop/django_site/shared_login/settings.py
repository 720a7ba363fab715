"""Settings for the shared-login site, all from the environment, so the
Rust test support (tests/all/support/web.rs) can give Django the very
secret and session store the Rust side uses.

Required:
  SECRET_KEY          Django's SECRET_KEY (signs the sessions)
Where sessions live, SESSION_STORE:
  file (the default)  Django's file backend on SESSION_FILE_PATH, the session
                      directory shared with sessionbox
  cache               Django's cache backend on its RedisCache at
                      SESSION_REDIS_URL (default KEY_PREFIX and VERSION)
  db                  Django's db backend: the django_session table of the
                      database below, the one the users are in
  cached_db           Django's cached_db backend: that table, with its
                      RedisCache at SESSION_REDIS_URL in front of it
  signed_cookies      Django's signed_cookies backend: nothing stored, the
                      session is the cookie, signed with SECRET_KEY
The database (users; sessions with SESSION_STORE=db or cached_db), made by
`setup_site`:
  SQLITE_PATH         a SQLite database file, or
  POSTGRES_NAME       a PostgreSQL database, with POSTGRES_HOST,
                      POSTGRES_PORT, POSTGRES_USER and POSTGRES_PASSWORD
Optional:
  SESSION_COOKIE_AGE               seconds (Django's default: 1209600)
  SESSION_EXPIRE_AT_BROWSER_CLOSE  1/true/yes or 0/false/no (default false)
  SESSION_SAVE_EVERY_REQUEST       1/true/yes or 0/false/no (default false)
"""
import os


def _required(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"the shared-login site needs the environment variable {name}")
    return value


def _flag(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise RuntimeError(f"{name}={value!r} is not a boolean (1/true/yes or 0/false/no)")


SECRET_KEY = _required("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "shared_login",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "shared_login.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

if os.environ.get("POSTGRES_NAME"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["POSTGRES_NAME"],
            "HOST": _required("POSTGRES_HOST"),
            "PORT": _required("POSTGRES_PORT"),
            "USER": _required("POSTGRES_USER"),
            "PASSWORD": _required("POSTGRES_PASSWORD"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _required("SQLITE_PATH"),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

_SESSION_STORE = os.environ.get("SESSION_STORE") or "file"
if _SESSION_STORE == "file":
    SESSION_ENGINE = "django.contrib.sessions.backends.file"
    SESSION_FILE_PATH = _required("SESSION_FILE_PATH")
elif _SESSION_STORE == "cache":
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _required("SESSION_REDIS_URL"),
        }
    }
elif _SESSION_STORE == "db":
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
elif _SESSION_STORE == "cached_db":
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _required("SESSION_REDIS_URL"),
        }
    }
elif _SESSION_STORE == "signed_cookies":
    SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
else:
    raise RuntimeError(f"SESSION_STORE={_SESSION_STORE!r}: file, cache, db, cached_db or signed_cookies")
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE") or 60 * 60 * 24 * 7 * 2)
SESSION_EXPIRE_AT_BROWSER_CLOSE = _flag("SESSION_EXPIRE_AT_BROWSER_CLOSE")
SESSION_SAVE_EVERY_REQUEST = _flag("SESSION_SAVE_EVERY_REQUEST")

LOGIN_URL = "/django/login/"
LOGIN_REDIRECT_URL = "/django/whoami/"

# DEBUG is off, so Django would print no traceback: send request errors to
# stderr, which the Rust side shows when a test fails.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
