#!/usr/bin/env bash
# Runs every test: the Swift suite (`swift test`), then the checks with the official OpenAI Python SDK
# against a real `keygate serve` (installed into .venv from checks/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
swift test --skip-build

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r checks/requirements.txt
.venv/bin/python checks/openai_sdk_check.py "$(swift build --show-bin-path)"
