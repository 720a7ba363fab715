#!/usr/bin/env python3
"""The shared-login Django site's manage.py (see shared_login/settings.py).

Run with the tests' Django venv; configuration comes from the environment.
"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shared_login.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
