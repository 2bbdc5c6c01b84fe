"""Loaded by pytest before anything is collected (the doctests of every package included)."""

import os

# Importing locust calls gevent's monkey.patch_all() unless this is set, which would turn the threads of
# every other test in this process into greenlets. Tests that import locust's classes (shapes) get them
# unpatched; tests that run Locust start it as a subprocess, with `tests.conftest.locust_env()`.
os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "1")
