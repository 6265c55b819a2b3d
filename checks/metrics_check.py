#!/usr/bin/env python3
"""Checks `/metrics` of a real `keygate serve` (SPEC §10) with the official Prometheus Python client's parser:
the scrape token (401 without it), then a known set of requests (credits, a stream, a free model, a 402, an unknown
model, a BYOK key refused and one accepted through the API, a BYOK call) and the exact deltas of the counters they
move, checked against the usage records; last, that no secret (platform key, BYOK keys, Keygate keys, the scrape
token) and no caller-chosen string (model, organisation slug) appears in the scrape.

Usage: checks/metrics_check.py [BIN_DIR]   (default .build/debug)
"""
from decimal import Decimal
import json
import os
import subprocess
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

from checklib import check, free_port, http, stop, summary, wait_ready

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
KEYGATE = os.path.join(BIN, "keygate")
FAKE = os.path.join(BIN, "keygate-fake-upstream")
PLATFORM_KEY = "sk-platform-METRICS-check-5b71c0"
ORG_KEY = "sk-org-own-METRICS-check-93ad2f"
REFUSED_KEY = "sk-refused-METRICS-check-11e0"
TOKEN = "metrics-scrape-token-7c4e1a9b"
SLUG = "zz-metrics-org-q7"
CALLER_MODEL = "caller-chosen-model-XJ42"
ROUTE = "/v1/chat/completions"


def samples(text):
    """Every sample of a scrape, parsed by prometheus_client: {(name, frozenset(labels)): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def main():
    data_dir = tempfile.mkdtemp(prefix="keygate-metrics-check-")
    fake = subprocess.Popen([FAKE, "--port", "0", "--api-key", PLATFORM_KEY, "--api-key", ORG_KEY], stdout=subprocess.PIPE, text=True)
    fake_port = int(fake.stdout.readline().strip().rsplit(" ", 1)[1])
    env = dict(os.environ, KEYGATE_DATA_DIR=data_dir, KEYGATE_METRICS_TOKEN=TOKEN, KEYGATE_LOG_LEVEL="warning",
               KEYGATE_MIN_RESERVATION_CREDITS="1")
    for provider in ["OPENAI", "NVIDIA"]:
        env[f"KEYGATE_PROVIDER_{provider}_BASE_URL"] = f"http://127.0.0.1:{fake_port}/v1"
        env[f"KEYGATE_PROVIDER_{provider}_API_KEY"] = PLATFORM_KEY
    run = lambda *args: subprocess.run([KEYGATE, *args], env=env, check=True, capture_output=True, text=True)
    run("org", "create", SLUG)
    run("credits", "grant", "--org", SLUG, "--credits", "10")
    key = run("apikey", "create", "--org", SLUG).stdout.strip().splitlines()[-1]
    admin = run("apikey", "create", "--org", SLUG, "--admin").stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([KEYGATE, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/readyz")

        def scrape():
            status, body = http("GET", f"{base}/metrics", key=TOKEN)
            assert status == 200, status
            return body.decode()

        def the_token_guards_the_scrape():
            assert http("GET", f"{base}/metrics")[0] == 401
            assert http("GET", f"{base}/metrics", key="metrics-scrape-token-wrong")[0] == 401
            assert http("GET", f"{base}/metrics", key=key)[0] == 401, "a Keygate key is not the metrics token"
            families = {f.name for f in text_string_to_metric_families(scrape())}
            for name in ["keygate_reservations_open", "keygate_payment_required", "keygate_ledger_commit_seconds"]:
                assert name in families, (name, sorted(families))

        check("/metrics answers 401 without the token and parses with prometheus_client with it", the_token_guards_the_scrape)

        before = samples(scrape())

        def chat(model="openai/gpt-5.6-luna", key=key, **extra):
            body = {"model": model, "messages": [{"role": "user", "content": "hello metrics"}], "max_tokens": 20, **extra}
            return http("POST", f"{base}/v1/chat/completions", key=key, body=body)

        def known_requests():
            for _ in range(2):
                assert chat()[0] == 200
            status, body = chat(stream=True, stream_options={"include_usage": True})
            assert status == 200 and b"[DONE]" in body, body[-200:]
            assert chat(model="nvidia/meta/llama-3.1-8b-instruct")[0] == 200
            assert chat(max_tokens=100000)[0] == 402, "12 credits of output do not fit in 10"
            assert chat(model=CALLER_MODEL)[0] == 404
            keys = f"{base}/api/orgs/{SLUG}/byok-keys"
            assert http("POST", keys, key=admin, body={"provider": "openai", "secret": REFUSED_KEY})[0] >= 400
            status, body = http("POST", keys, key=admin, body={"provider": "openai", "secret": ORG_KEY})
            assert status in (200, 201), body
            status, _ = chat()
            assert status == 200

        check("a known set of requests: 3 credits (1 streamed), 1 free, a 402, a 404, 2 BYOK validations, 1 BYOK", known_requests)

        def usage_records(expected):
            deadline = time.time() + 10
            while True:
                status, body = http("GET", f"{base}/api/orgs/{SLUG}/usage?limit=100", key=admin)
                records = json.loads(body) if status == 200 else []
                if len(records) >= expected or time.time() > deadline:
                    return records
                time.sleep(0.1)

        def counters_moved_by_exactly_that():
            after = samples(scrape())
            delta = lambda name, **labels: after.get((name, frozenset(labels.items())), 0) - before.get((name, frozenset(labels.items())), 0)
            requests = lambda billing, provider, status: delta("keygate_requests_total", route=ROUTE, billing=billing, provider=provider,
                                                                status_class=status)
            got = {
                "credits 2xx": requests("credits", "openai", "2xx"), "free 2xx": requests("free", "nvidia", "2xx"),
                "byok 2xx": requests("byok", "openai", "2xx"), "credits 4xx (402)": requests("credits", "openai", "4xx"),
                "unrouted 4xx (404)": requests("none", "none", "4xx"),
                "402 insufficient_credits": delta("keygate_payment_required_total", reason="insufficient_credits"),
                "validations valid": delta("keygate_byok_validations_total", provider="openai", result="valid"),
                "validations rejected": delta("keygate_byok_validations_total", provider="openai", result="rejected"),
                "rejections at validation": delta("keygate_byok_rejections_total", provider="openai", during="validation"),
                "http 2xx": delta("keygate_http_requests_total", route=ROUTE, status_class="2xx"),
                "http 4xx": delta("keygate_http_requests_total", route=ROUTE, status_class="4xx"),
                "provider time openai": delta("keygate_upstream_seconds_count", provider="openai"),
                "first token openai": delta("keygate_time_to_first_token_seconds_count", provider="openai"),
                "gateway time": delta("keygate_gateway_overhead_seconds_count", route=ROUTE),
            }
            want = {"credits 2xx": 3, "free 2xx": 1, "byok 2xx": 1, "credits 4xx (402)": 1, "unrouted 4xx (404)": 1,
                    "402 insufficient_credits": 1, "validations valid": 1, "validations rejected": 1, "rejections at validation": 1,
                    "http 2xx": 5, "http 4xx": 2, "provider time openai": 4, "first token openai": 1, "gateway time": 7}
            assert got == want, {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            records = usage_records(7)
            assert len(records) == 7, len(records)
            for billing, provider in [("credits", "openai"), ("free", "nvidia"), ("byok", "openai")]:
                mine = [r for r in records if r["billing"] == billing and r["provider"] == provider and r["status"] == 200]
                labels = dict(billing=billing, provider=provider)
                assert delta("keygate_tokens_total", direction="input", **labels) == sum(r["input_tokens"] for r in mine), billing
                assert delta("keygate_tokens_total", direction="output", **labels) == sum(r["output_tokens"] for r in mine), billing
                micro = lambda field: sum(int(Decimal(str(r[field])) * 1_000_000) for r in mine)
                assert delta("keygate_credits_charged_microcredits_total", **labels) == micro("credits_charged"), billing
                assert delta("keygate_fees_microcredits_total", **labels) == micro("fee_credits"), billing
            assert delta("keygate_credits_charged_microcredits_total", billing="credits", provider="openai") > 0
            assert after[("keygate_reservations_open", frozenset())] == 0, "every reservation was settled or released"
            assert after[("keygate_upstream_in_flight", frozenset({("provider", "openai")}))] == 0
            assert delta("keygate_ledger_commit_group_size_count", backend="sqlite") >= 3

        check("the counters moved by exactly what those requests did (tokens and credits = the usage records)",
              counters_moved_by_exactly_that)

        def no_secret_nor_caller_string():
            text = scrape()
            for value in [PLATFORM_KEY, ORG_KEY, REFUSED_KEY, key, admin, key.split("_")[1], TOKEN, SLUG, CALLER_MODEL, "hello metrics"]:
                assert value not in text, f"{value[:12]}… appears in /metrics"

        check("no secret, Keygate key, organisation slug or caller-chosen string appears in /metrics", no_secret_nor_caller_string)
    finally:
        stop(server, fake)
    return summary("(metrics)")


if __name__ == "__main__":
    sys.exit(main())
