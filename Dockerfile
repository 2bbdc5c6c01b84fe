# The project's own image: the service, the simulator, the exporter, the webhook receiver and Locust
# all run from it (docker-compose.yml picks the command). Python as on the test machines (3.11).
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p exporter youtube2sheets alerting dashboards loadtests stack \
 && for p in exporter youtube2sheets alerting dashboards loadtests stack; do touch $p/__init__.py; done \
 && pip install . && pip uninstall -y youtube2sheets-perf

COPY exporter exporter
COPY youtube2sheets youtube2sheets
COPY alerting alerting
COPY dashboards dashboards
COPY loadtests loadtests
COPY stack stack
RUN pip install --no-deps . && useradd --system --uid 10001 y2s && mkdir -p /data && chown y2s /data

USER y2s
VOLUME /data
# Each service in docker-compose.yml sets its own command and healthcheck.
CMD ["python", "-m", "youtube2sheets", "serve", "--host", "0.0.0.0", "--state-dir", "/data"]
