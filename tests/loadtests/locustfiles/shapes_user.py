"""A minimal locustfile for the shape tests: one user hammering ``GET /`` with no wait, and the plugin.

Run with a shape: ``locust -f tests/loadtests/locustfiles/shapes_user.py,loadtests/shapes/step.py``.
The plugin (imported for its listeners) adds the gates, windows and summary.json.
"""

from locust import FastHttpUser, constant, task

import loadtests.plugin  # noqa: F401  (registers the gates, windows and results)


class ShapesUser(FastHttpUser):
    """Back-to-back requests: each user keeps one request in flight, so users = concurrency."""

    wait_time = constant(0)

    @task
    def root(self) -> None:
        self.client.get("/")
