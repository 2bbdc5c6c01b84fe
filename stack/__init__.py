"""The YouTube2Sheets stack without Docker: ``python -m stack up`` runs the service, the simulator,
the exporter, Prometheus, Alertmanager, the webhook receiver (and Grafana when installed) as local
processes with the same configuration files as ``docker compose up``."""
