"""A minimal locustfile for the plugin's runs: one user class on ``GET /work``, and the plugin.

``tests/loadtests/test_locust_runs.py`` runs it against tiny targets: ``locust -f
tests/loadtests/locustfiles/plugin_user.py --headless -H http://127.0.0.1:PORT ...``.
"""

from locust import FastHttpUser, constant, task

import loadtests.plugin  # noqa: F401  (registers the gates, windows, live metrics and results)


class PluginUser(FastHttpUser):
    """One request every 20 ms or so: a few hundred requests a second with a handful of users."""

    wait_time = constant(0.02)

    @task
    def work(self) -> None:
        self.client.get("/work")
