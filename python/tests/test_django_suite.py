"""Django's own file session tests, unmodified, pointed at the engine.

`FileSessionTests` and `FileSessionPathLibTests` come from Django's source
distribution (tests/sessions_tests/tests.py, for the Django version
installed); the subclasses below change only `backend`. The module is
imported, not its classes, so Django's own classes (stock backends) do not
run here.

EXCLUDED lists the Django tests that cannot pass because sessionbox
deliberately differs (docs/SPEC.md §5), each with the reason; the runner
test (tests/all/django_engine.rs) asserts that exactly these are skipped.
"""

import unittest

from django.test import override_settings
from sessions_tests import tests as django_tests

from sessionbox_django.file import SessionStore

#: Django tests that sessionbox fails on purpose: name -> reason.
EXCLUDED = {}


def pointed_at_engine(cls):
    """Skips the EXCLUDED tests by name (with their reason)."""
    for name, reason in EXCLUDED.items():
        setattr(cls, name, unittest.skip(f"sessionbox differs on purpose: {reason}")(getattr(django_tests.FileSessionTests, name)))
    return cls


class EngineMixin:
    backend = SessionStore

    # Django's test pins SESSION_ENGINE to its own file backend, so that
    # `clearsessions` would sweep with Django's code: the unmodified test
    # body, run with the engine's clearsessions instead.
    @override_settings(SESSION_ENGINE="sessionbox_django.file", SESSION_COOKIE_AGE=0)
    def test_clearsessions_command(self):
        django_tests.FileSessionTests.test_clearsessions_command.__wrapped__(self)


@pointed_at_engine
class SessionboxFileSessionTests(EngineMixin, django_tests.FileSessionTests):
    backend = SessionStore


@pointed_at_engine
class SessionboxFileSessionPathLibTests(EngineMixin, django_tests.FileSessionPathLibTests):
    backend = SessionStore
