#!/usr/bin/env python3
"""Checks the config file on a real `keygate serve` (issue 17, item 2): a gateway configured by the file alone
(`--config` for the server, `KEYGATE_CONFIG` for the admin commands), a SIGHUP that changes the platform fee for
the next request and names the restart-only setting it did not apply, a bad file on SIGHUP that changes nothing,
`keygate config check` (environment over file, every secret redacted, a bad value named with exit status 1), and
no secret from the file in the server's log.

Usage: checks/config_check.py [BIN_DIR]   (default .build/debug)
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

from checklib import check, free_port, funded_org, http, stop, summary, wait_ready

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BIN = os.path.abspath(ARGS[0] if ARGS else ".build/debug")
KEYGATE = os.path.join(BIN, "keygate")
FAKE = os.path.join(BIN, "keygate-fake-upstream")

PLATFORM_KEY = "sk-platform-CONFIGFILE-0123456789"
STRIPE_KEY = "sk_test_CONFIGFILE0123456789"
METRICS_TOKEN = "metrics-CONFIGFILE-token"
SECRETS = [PLATFORM_KEY, STRIPE_KEY, METRICS_TOKEN]


def config_text(data_dir, fake_port, fee, max_body=20971520):
    return f"""# keygate.yaml written by checks/config_check.py
data_dir: {data_dir}
log_level: info
credits:
  platform_fee_percent: {fee}
  min_reservation_credits: 0.01
limits:
  max_body_bytes: {max_body}
stripe:
  secret_key: {STRIPE_KEY}
metrics:
  token: {METRICS_TOKEN}
providers:
  openai:
    base_url: http://127.0.0.1:{fake_port}/v1
    api_key: {PLATFORM_KEY}
"""


def main():
    fake = subprocess.Popen([FAKE, "--port", "0"], stdout=subprocess.PIPE, text=True)
    fake_port = int(fake.stdout.readline().strip().rsplit(" ", 1)[1])
    processes = [fake]
    data_dir = tempfile.mkdtemp(prefix="keygate-config-check-")
    path = os.path.join(data_dir, "keygate.yaml")

    def write(text):
        with open(path + ".new", "w") as f:
            f.write(text)
        os.chmod(path + ".new", 0o600)
        os.replace(path + ".new", path)

    write(config_text(data_dir, fake_port, fee="0"))
    # No KEYGATE_* variable but the file's name: everything else comes from the file.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("KEYGATE_")}
    admin_env = dict(base_env, KEYGATE_CONFIG=path)
    key = funded_org(KEYGATE, admin_env, "config check")

    port = free_port()
    log_path = os.path.join(data_dir, "serve.log")
    server = subprocess.Popen([KEYGATE, "serve", "--port", str(port), "--config", path], env=base_env,
                              stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    processes.append(server)
    wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=30)

    def chat():
        status, body = http("POST", f"http://127.0.0.1:{port}/v1/chat/completions", key=key,
                            body={"model": "openai/gpt-5.6-luna", "max_tokens": 500,
                                  "messages": [{"role": "user", "content": "hi"}]})
        assert status == 200, (status, body[:300])
        return json.loads(body)

    def charged():
        """What the last chat was charged, from its usage record (credits, fee) in µcredits."""
        db = sqlite3.connect(os.path.join(data_dir, "keygate.db"))
        row = db.execute("SELECT credits_charged_micros, fee_credits_micros FROM usage_records ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
        db.close()
        return tuple(row)

    def log_lines():
        with open(log_path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def wait_log(message, after):
        deadline = time.time() + 15
        while time.time() < deadline:
            lines = [line for line in log_lines()[after:] if line.get("msg", "").startswith(message)]
            if lines:
                return lines
            time.sleep(0.05)
        raise AssertionError(f"no log line '{message}'")

    def metrics():
        status, body = http("GET", f"http://127.0.0.1:{port}/metrics", key=METRICS_TOKEN)
        assert status == 200, status
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(body.decode()) for s in family.samples}

    def the_file_alone_configures_the_gateway():
        chat()
        # luna: 8 uncached × $0.20 + 4 cached × $0.02 + 5 out × $1.20 per Mtok = 768 µcredits; the file's fee: 0.
        assert charged() == (768, 0), charged()
        status, _ = http("GET", f"http://127.0.0.1:{port}/metrics")
        assert status == 401, f"the file's metrics token is required: {status}"

    def sighup_changes_the_fee_of_the_next_request():
        before = len(log_lines())
        write(config_text(data_dir, fake_port, fee="10", max_body=1000000))
        server.send_signal(signal.SIGHUP)
        reloaded = wait_log("Configuration reloaded", before)[0]
        assert "credits.platform_fee_percent" in json.dumps(reloaded), reloaded
        restart = wait_log("Configuration changed in settings that take effect only after a restart", before)[0]
        assert "limits.max_body_bytes" in json.dumps(restart), restart
        assert server.poll() is None, "SIGHUP ended the server"
        chat()
        assert charged() == (768, 77), f"10 % of 768 rounded up is 77: {charged()}"
        assert metrics()[("keygate_config_reloads_total", frozenset({("outcome", "applied")}))] == 1

    def a_bad_file_on_sighup_changes_nothing():
        before = len(log_lines())
        write(config_text(data_dir, fake_port, fee="lots"))
        try:
            server.send_signal(signal.SIGHUP)
            failed = wait_log("Configuration reload failed", before)[0]
            assert f"credits.platform_fee_percent (in {path})" in failed.get("reason", ""), failed
            chat()
            assert charged() == (768, 77), charged()
            assert metrics()[("keygate_config_reloads_total", frozenset({("outcome", "failed")}))] == 1
        finally:
            write(config_text(data_dir, fake_port, fee="10"))

    def config_check_prints_the_effective_configuration_redacted():
        result = subprocess.run([KEYGATE, "config", "check", "--config", path, "--json"], capture_output=True, text=True,
                                env=dict(base_env, KEYGATE_PLATFORM_FEE_PERCENT="2", KEYGATE_PROVIDER_GROQ_API_KEY="gsk_ENV_SECRET_42"))
        assert result.returncode == 0, result.stderr
        for secret in SECRETS + ["gsk_ENV_SECRET_42"]:
            assert secret not in result.stdout + result.stderr, f"{secret[:12]}… printed"
        rows = {row["key"]: row for row in json.loads(result.stdout)["settings"]}
        assert rows["credits.platform_fee_percent"]["value"] == "2", rows["credits.platform_fee_percent"]
        assert rows["credits.platform_fee_percent"]["from"] == "environment (over the file)"
        assert rows["providers.openai.api_key"]["value"] == "<redacted>" and rows["providers.openai.api_key"]["from"] == "file"
        assert rows["providers.groq.api_key"]["value"] == "<redacted>"
        assert rows["stripe.secret_key"]["value"] == "<redacted>"
        assert rows["limits.max_body_bytes"]["change"] == "needs a restart"
        assert rows["credits.platform_fee_percent"]["change"] == "reloads on SIGHUP"
        text = subprocess.run([KEYGATE, "config", "check"], capture_output=True, text=True, env=admin_env)
        assert text.returncode == 0 and f"config file: {path}" in text.stdout, text.stdout[:200]

    def a_bad_value_is_named_and_refused():
        bad = os.path.join(data_dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write(config_text(data_dir, fake_port, fee="lots"))
        result = subprocess.run([KEYGATE, "config", "check", "--config", bad], capture_output=True, text=True, env=base_env)
        assert result.returncode == 1, result.returncode
        assert f"credits.platform_fee_percent (in {bad}) must be a percentage" in result.stderr, result.stderr
        served = subprocess.run([KEYGATE, "serve", "--port", str(free_port()), "--config", bad], capture_output=True, text=True,
                                env=base_env, timeout=60)
        assert served.returncode == 1 and "credits.platform_fee_percent" in served.stderr, served.stderr[-300:]

    def no_secret_reaches_the_log():
        with open(log_path) as f:
            text = f.read()
        for secret in SECRETS:
            assert secret not in text, f"{secret[:12]}… in the server's log"

    check("the file alone configures the gateway (--config for serve, KEYGATE_CONFIG for the CLI)", the_file_alone_configures_the_gateway)
    check("SIGHUP changes the fee of the next request; a restart-only change is named", sighup_changes_the_fee_of_the_next_request)
    check("a bad file on SIGHUP changes nothing and names the setting", a_bad_file_on_sighup_changes_nothing)
    check("config check: environment over file, every secret redacted", config_check_prints_the_effective_configuration_redacted)
    check("a bad value is named by config check and refused by serve", a_bad_value_is_named_and_refused)
    check("no secret from the file in the server's log", no_secret_reaches_the_log)
    stop(*processes)
    return summary("(config file)")


if __name__ == "__main__":
    sys.exit(main())
