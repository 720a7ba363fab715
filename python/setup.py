"""Puts the sessionbox components into the wheel.

The .wasm files are the ones the Rust host embeds (host/component/, built
by scripts/build-component), copied at build time rather than committed
twice, so a wheel always ships the component of the tree it was built from.
Everything else is in pyproject.toml.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
COMPONENT_DIR = os.path.join(HERE, "..", "host", "component")
COMPONENTS = ("sessionbox_guest.wasm", "sessionbox_guest_kv.wasm")


class BuildPyWithComponents(build_py):
    """build_py that also copies the components into the package."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "sessionbox_django")
        os.makedirs(target, exist_ok=True)
        for name in COMPONENTS:
            source = os.path.join(COMPONENT_DIR, name)
            if not os.path.isfile(source):
                raise SystemExit(
                    f"{source} is missing: build the component first (scripts/build-component), "
                    "and build the wheel from a checkout of the whole repository"
                )
            shutil.copyfile(source, os.path.join(target, name))


setup(cmdclass={"build_py": BuildPyWithComponents})
