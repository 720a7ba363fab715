"""settings.py with the default cache on the Redis server at
$SESSIONBOX_TEST_REDIS_URL, for the cache engine (sessionbox_django.cache)."""

import os

from settings import *  # noqa: F401,F403

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["SESSIONBOX_TEST_REDIS_URL"],
    }
}
SESSION_ENGINE = "sessionbox_django.cache"
