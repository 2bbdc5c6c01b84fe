"""A locustfile whose task raises: a load-generator error, exit code 2, whatever the gates say."""

from locust import FastHttpUser, constant, task

import loadtests.plugin  # noqa: F401  (registers the gates and the exit codes)


class BrokenUser(FastHttpUser):
    """Makes one good request, then fails in its own code."""

    wait_time = constant(0.05)

    @task
    def work(self) -> None:
        self.client.get("/work")
        raise ValueError("broken on purpose")
