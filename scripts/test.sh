#!/usr/bin/env bash
# Runs every test: the Swift suite (`swift test`), then the checks against real `keygate serve` processes
# (among them `/metrics` read by the official prometheus_client parser):
# the official OpenAI and Anthropic Python SDKs (installed into .venv from checks/requirements.txt), the
# multi-process credit ledger checks (two servers on one database, kill -9 mid-stream), graceful shutdown
# (SIGTERM with 20 streams in flight: finished or cut with an error event, all settled), the payment checks
# (webhooks exactly once on two servers, auto top-up, kill -9 before a grant) and, against the third-party
# fake `localstripe`, the PaymentIntent path Keygate's top-ups use; last, the dashboard in Debian's headless
# Chromium driven by Selenium (screenshots in .build/dashboard-screenshots). With KEYGATE_TEST_DATABASE_URL
# (`.ci/run` starts a throwaway PostgreSQL), the store suite also runs on PostgreSQL and three replicas share one.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
if [ -z "${KEYGATE_TEST_DATABASE_URL:-}" ]; then
  echo "note: KEYGATE_TEST_DATABASE_URL is not set, so the store conformance suite runs on SQLite only;" \
    "eval \"\$(scripts/test-postgres.sh start)\" first to run it on PostgreSQL too (.ci/run does)" >&2
fi
swift test --skip-build

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r checks/requirements.txt
BIN=$(swift build --show-bin-path)
status=0
.venv/bin/python checks/sdk_check.py "$BIN" || status=1
.venv/bin/python checks/metrics_check.py "$BIN" || status=1
.venv/bin/python checks/credits_check.py "$BIN" || status=1
.venv/bin/python checks/credits_check.py "$BIN" --postgres || status=1
.venv/bin/python checks/shutdown_check.py "$BIN" || status=1
.venv/bin/python checks/config_check.py "$BIN" || status=1
.venv/bin/python checks/payments_check.py "$BIN" || status=1
.venv/bin/python checks/stripe_localstripe_check.py "$BIN" || status=1
.venv/bin/python checks/postgres_replicas_check.py "$BIN" || status=1
.venv/bin/python checks/dashboard_browser_check.py "$BIN" || status=1
exit $status
