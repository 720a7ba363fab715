"""Settings for running Django's own session tests (from Django's source
distribution, `tests/sessions_tests` on PYTHONPATH) and this package's tests
against the installed `sessionbox_django` engine."""

import tempfile

SECRET_KEY = "sessionbox-django-tests-secret-key-0123456789-abcdefghij"
SECRET_KEY_FALLBACKS = ["an-older-secret-key-still-accepted-0123456789"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    # Django's own session tests: test_django_suite imports their classes.
    "sessions_tests",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "sessionbox_django.file"
SESSION_FILE_PATH = tempfile.gettempdir()
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING_CONFIG = None
