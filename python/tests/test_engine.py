"""The engine's own tests: what Django's suite does not cover.

Interop with Django's stock file backend both ways, a logout racing a dozen
saves (never undone), and `clearsessions` sweeping through the component
(deleting what only sessionbox's sweep deletes, over several ranges).
"""

import json
import logging
import os
import shutil
import tempfile
import threading
import time

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.file import SessionStore as DjangoFileStore
from django.core import management, signing
from django.test import SimpleTestCase, override_settings

from sessionbox_django import _component
from sessionbox_django.file import SessionStore, SessionTooLarge

SESSION = {"_auth_user_id": "42", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend", "cart": [1, 2, 3], "name": "Zoë"}


class EngineTestCase(SimpleTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        override = override_settings(SESSION_FILE_PATH=self.dir)
        override.enable()
        self.addCleanup(override.disable)
        for cls in (SessionStore, DjangoFileStore):
            if "_storage_path" in cls.__dict__:
                del cls._storage_path

    def session_files(self):
        return sorted(n for n in os.listdir(self.dir) if n.startswith("sessionid") and "_out_" not in n)


class InteropTests(EngineTestCase):
    def test_a_session_the_engine_writes_is_read_by_djangos_file_backend(self):
        s = SessionStore()
        s.update(SESSION)
        s.save()
        self.assertEqual(self.session_files(), ["sessionid" + s.session_key])
        self.assertEqual(dict(DjangoFileStore(s.session_key).items()), SESSION)
        # And an update through the engine too.
        s2 = SessionStore(s.session_key)
        s2["cart"] = [4]
        s2.save()
        self.assertEqual(DjangoFileStore(s.session_key)["cart"], [4])

    def test_a_session_djangos_file_backend_writes_is_read_by_the_engine(self):
        d = DjangoFileStore()
        d.update(SESSION)
        d.save()
        self.assertEqual(dict(SessionStore(d.session_key).items()), SESSION)
        # The engine updates it in place, and Django reads the update.
        e = SessionStore(d.session_key)
        e["name"] = "Ünïcödé 日本語 🎉"
        e.save()
        self.assertEqual(e.session_key, d.session_key)
        self.assertEqual(DjangoFileStore(d.session_key)["name"], "Ünïcödé 日本語 🎉")

    def test_a_session_signed_with_a_fallback_key_is_read_and_re_signed_with_the_current_one(self):
        with override_settings(SECRET_KEY="an-older-secret-key-still-accepted-0123456789"):
            d = DjangoFileStore()
            d.update(SESSION)
            d.save()
        with override_settings(SECRET_KEY_FALLBACKS=[]), self.assertLogs("django.security.SuspiciousSession", "WARNING"):
            self.assertEqual(SessionStore(d.session_key).load(), {})
        e = SessionStore(d.session_key)
        self.assertEqual(dict(e.items()), SESSION)
        e.modified = True
        e.save()
        with open(os.path.join(self.dir, "sessionid" + d.session_key)) as f:
            signing.loads(f.read(), salt="django.contrib.sessions.SessionStore", serializer=signing.JSONSerializer, fallback_keys=[])

    def test_a_tampered_session_is_no_session_and_is_logged_as_django_does(self):
        d = DjangoFileStore()
        d.update(SESSION)
        d.save()
        path = os.path.join(self.dir, "sessionid" + d.session_key)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text[:-2] + ("AA" if not text.endswith("AA") else "BB"))
        s = SessionStore(d.session_key)
        with self.assertLogs("django.security.SuspiciousSession", "WARNING") as logs:
            self.assertEqual(s.load(), {})
        self.assertIn("Session data corrupted", logs.output[0])
        self.assertIsNone(s.session_key)

    @override_settings(SESSIONBOX_MAX_SESSION_SIZE=1000)
    def test_a_session_over_the_size_limit_is_refused_and_the_old_one_kept(self):
        s = SessionStore()
        s["small"] = "x"
        s.save()
        s["big"] = "y" * 2000
        with self.assertRaises(SessionTooLarge):
            s.save()
        self.assertEqual(dict(DjangoFileStore(s.session_key).items()), {"small": "x"})

    @override_settings(SESSIONBOX_DURABILITY="sometimes")
    def test_a_bad_durability_setting_is_a_configuration_error(self):
        from django.core.exceptions import ImproperlyConfigured

        with self.assertRaisesMessage(ImproperlyConfigured, "SESSIONBOX_DURABILITY"):
            SessionStore().save()

    def test_every_durability_writes_a_session_django_reads(self):
        for durability in ("none", "file", "full"):
            with self.subTest(durability=durability), override_settings(SESSIONBOX_DURABILITY=durability):
                s = SessionStore()
                s["d"] = durability
                s.save()
                self.assertEqual(DjangoFileStore(s.session_key)["d"], durability)


class LogoutRaceTests(EngineTestCase):
    SAVERS = 12
    ROUNDS = 200

    def test_a_logout_racing_a_dozen_saves_is_never_undone(self):
        undone = 0
        refused = 0
        for round_ in range(self.ROUNDS):
            s = SessionStore()
            s.update(SESSION)
            s.save()
            key = s.session_key
            start = threading.Barrier(self.SAVERS + 1)
            deleted = threading.Event()
            refusals = []

            def saver(i):
                start.wait()
                for n in range(1000):
                    mine = SessionStore(key)
                    mine._session_cache = dict(SESSION, saver=i, n=n)
                    try:
                        mine.save()
                    except UpdateError:
                        refusals.append(i)
                        return
                    if deleted.is_set() and n > 2:
                        # Saves after the logout must have been refused.
                        return

            threads = [threading.Thread(target=saver, args=(i,)) for i in range(self.SAVERS)]
            for t in threads:
                t.start()
            start.wait()
            time.sleep(0.002 * (round_ % 5))
            SessionStore(key).delete()
            deleted.set()
            for t in threads:
                t.join()
            refused += len(refusals)
            if SessionStore().exists(key):
                undone += 1
                SessionStore(key).delete()
        self.assertEqual(undone, 0, f"{undone} of {self.ROUNDS} logouts undone by a racing save")
        # And the race ran: saves met the logout and were refused.
        self.assertGreater(refused, self.ROUNDS)


def write_session(directory, key, data, age_s, *, secret="sessionbox-django-tests-secret-key-0123456789-abcdefghij"):
    """A session file as Django writes it, last written `age_s` ago."""
    path = os.path.join(directory, "sessionid" + key)
    text = signing.dumps(data, key=secret, salt="django.contrib.sessions.SessionStore", serializer=signing.JSONSerializer, compress=True)
    with open(path, "w") as f:
        f.write(text)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def backdate(path, age_s):
    then = time.time() - age_s
    os.utime(path, (then, then))


class ClearSessionsTests(EngineTestCase):
    @override_settings(SESSION_COOKIE_AGE=3600, SESSIONBOX_SWEEP_WORKERS=4)
    def test_clearsessions_sweeps_through_the_component_over_ranges(self):
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
        live, expired = [], []
        for i in range(360):
            key = alphabet[i % 36] + "k%030d" % i
            if i % 3 == 0:
                write_session(self.dir, key, {"n": i}, age_s=7200)
                expired.append(key)
            elif i % 3 == 1:
                # A positive int expiry counts from the last write (Django's
                # file backend keeps these forever): expired.
                write_session(self.dir, key, {"n": i, "_session_expiry": 60}, age_s=120)
                expired.append(key)
            else:
                write_session(self.dir, key, {"n": i}, age_s=60)
                live.append(key)
        # What Django's own sweep never deletes and sessionbox's does: an empty
        # placeholder older than SESSION_COOKIE_AGE, and a leftover temp file
        # older than an hour.
        empty = os.path.join(self.dir, "sessionid" + "e" * 32)
        open(empty, "w").close()
        backdate(empty, 7200)
        temp = os.path.join(self.dir, "sessionid" + "t" * 32 + "_out_abcdefgh")
        with open(temp, "w") as f:
            f.write("half")
        backdate(temp, 7200)
        other = os.path.join(self.dir, "not-a-session")
        open(other, "w").close()
        backdate(other, 7200)

        report = SessionStore.clear_expired()
        self.assertEqual(report["ranges"], 4)
        self.assertEqual(report["scanned"], len(live) + len(expired) + 2)  # every entry with the prefix, once
        self.assertEqual(report["deleted"], len(expired) + 2)
        self.assertEqual(self.session_files(), sorted("sessionid" + k for k in live))
        self.assertFalse(os.path.exists(empty))
        self.assertFalse(os.path.exists(temp))
        self.assertTrue(os.path.exists(other))

    @override_settings(SESSION_COOKIE_AGE=3600)
    def test_the_clearsessions_command_runs_the_components_sweep(self):
        keep = SessionStore()
        keep["a"] = 1
        keep.save()
        empty = os.path.join(self.dir, "sessionid" + "e" * 32)
        open(empty, "w").close()
        backdate(empty, 7200)
        # Django's file backend leaves the empty file...
        with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.file"):
            management.call_command("clearsessions")
        self.assertTrue(os.path.exists(empty))
        # ...the engine's clearsessions, the component's sweep, deletes it.
        management.call_command("clearsessions")
        self.assertFalse(os.path.exists(empty))
        self.assertEqual(self.session_files(), ["sessionid" + keep.session_key])


class ComponentTests(SimpleTestCase):
    def test_the_engine_calls_the_interface_of_its_own_version(self):
        import sessionbox_django

        self.assertEqual(_component.SESSIONS, f"sessionbox:store/sessions@{sessionbox_django.__version__}")
