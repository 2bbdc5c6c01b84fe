"""Load tests for YouTube2Sheets: Locust users, one shape per file, k6-style gates, live metrics.

Run ``locust -f loadtests/locustfile.py --headless`` (plus ``,loadtests/shapes/step.py`` for a shape):
the seed gates (p95 < 2 s, error rate < 0.1 %, > 1000 req/s) apply with no extra flags, and the exit
code says how it went (0 pass, 1 thresholds failed, 2 load-generator error, 3 target unreachable).
"""
