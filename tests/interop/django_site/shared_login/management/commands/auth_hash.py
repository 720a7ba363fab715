"""manage.py auth_hash USERNAME [--json]: what Django's login stores for the
user, for the Rust side to check its own computation.

Prints user.get_session_auth_hash() (the session's _auth_user_hash), or with
--json an object with the user's id (as the session's _auth_user_id holds
it: a string), the backend path, the encoded password the hash is derived
from, and the hash.
"""
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a user's session auth hash."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, username, as_json, **options):
        user = get_user_model().objects.get(username=username)
        auth_hash = user.get_session_auth_hash()
        if not as_json:
            self.stdout.write(auth_hash)
            return
        self.stdout.write(
            json.dumps(
                {
                    "id": str(user.pk),
                    "username": user.username,
                    "backend": "django.contrib.auth.backends.ModelBackend",
                    "password": user.password,
                    "session_auth_hash": auth_hash,
                },
                sort_keys=True,
            )
        )
