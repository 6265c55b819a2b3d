#!/usr/bin/env python3
"""Checks buying credits across real processes: two `keygate serve` on one SQLite file in front of the fake
Stripe (`keygate-fake-upstream --stripe-secret`). A completed checkout delivered 10 times at once to both
servers grants once; a replayed refund takes credits back once; concurrent requests on both servers crossing
the auto top-up threshold start one PaymentIntent; a server killed after Stripe charged a top-up and before it
granted it: the webhook grants later, once. Then `keygate ledger verify` passes and no Stripe secret is in the
logs, the database or the responses.

Usage: checks/payments_check.py [BIN_DIR]   (default .build/debug)
"""
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from checklib import check, free_port, http, sign, stop, summary, wait_ready

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
KEYGATE = os.path.join(BIN, "keygate")
FAKE = os.path.join(BIN, "keygate-fake-upstream")
STRIPE_SECRET = "sk_test_paymentsCHECKsecret0123456789"
WEBHOOK_SECRET = "whsec_paymentsCHECKwebhook0123456789"


def main():
    data_dir = tempfile.mkdtemp(prefix="keygate-payments-check-")
    log_path = os.path.join(data_dir, "servers.log")
    log = open(log_path, "wb")
    fake = subprocess.Popen([FAKE, "--port", "0", "--stripe-secret", STRIPE_SECRET], stdout=subprocess.PIPE, text=True)
    fake_port = int(fake.stdout.readline().strip().rsplit(" ", 1)[1])
    fake_url = f"http://127.0.0.1:{fake_port}"
    env = dict(os.environ, KEYGATE_DATA_DIR=data_dir, KEYGATE_PROVIDER_OPENAI_BASE_URL=f"{fake_url}/v1",
               KEYGATE_PROVIDER_OPENAI_API_KEY="sk-platform-payments-check", KEYGATE_MIN_RESERVATION_CREDITS="1",
               KEYGATE_STRIPE_BASE_URL=fake_url, KEYGATE_STRIPE_SECRET_KEY=STRIPE_SECRET,
               KEYGATE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, KEYGATE_TOPUP_RETRY_SECONDS="3600", KEYGATE_TRIAL_CREDITS="0",
               KEYGATE_LOG_LEVEL="info")
    run = lambda *args: subprocess.run([KEYGATE, *args], env=env, check=True, capture_output=True, text=True)
    run("org", "create", "acme")
    run("credits", "grant", "--org", "acme", "--credits", "50", "--reason", "payments check")
    key = run("apikey", "create", "--org", "acme").stdout.strip().splitlines()[-1]
    admin = run("apikey", "create", "--org", "acme", "--admin").stdout.strip().splitlines()[-1]
    responses = []
    servers = []

    def start_server():
        port = free_port()
        server = subprocess.Popen([KEYGATE, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=30)
        servers.append(server)
        return port

    def api(port, method, path, body=None):
        status, answer = http(method, f"http://127.0.0.1:{port}/api/orgs/acme{path}", admin, body)
        responses.append(answer)
        return status, json.loads(answer) if answer else None

    def ledger(port, kind):
        status, entries = api(port, "GET", "/ledger?limit=1000")
        assert status == 200, entries
        return [e for e in entries if e["kind"] == kind]

    def deliver(port, body, secret=WEBHOOK_SECRET, timestamp=None):
        status, answer = http("POST", f"http://127.0.0.1:{port}/webhooks/stripe", raw=body,
                              headers={"Stripe-Signature": sign(body, secret, timestamp)})
        responses.append(answer)
        return status

    def fake_events(kind):
        status, body = http("GET", f"{fake_url}/_fake/stripe/events")
        assert status == 200, body
        return [e for e in json.loads(body) if e["type"] == kind]

    def verify():
        result = subprocess.run([KEYGATE, "ledger", "verify"], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    try:
        a, b = start_server(), start_server()
        state = {}

        def checkout_once():
            status, started = api(a, "POST", "/checkout", {"pack": "starter"})
            assert status == 201, started
            status, event = http("POST", f"{fake_url}/_fake/stripe/checkout/{started['session_id']}/complete",
                                 form={"payment_method": "pm_card_visa", "paid": "true"})
            assert status == 200, event
            before = api(b, "GET", "/balance")[1]["available"]
            with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
                statuses = list(pool.map(lambda i: deliver((a, b)[i % 2], event), range(10)))
            assert statuses == [200] * 10, statuses
            # A forged copy (wrong secret) and a stale one change nothing.
            assert deliver(a, event, secret="whsec_forged") == 400
            assert deliver(b, event, timestamp=int(time.time()) - 301) == 400
            after = api(a, "GET", "/balance")[1]["available"]
            assert round(after - before, 2) == 1000, (before, after)
            assert len(ledger(b, "purchase")) == 1
            purchases = api(a, "GET", "/purchases")[1]
            assert [p["status"] for p in purchases] == ["succeeded"], purchases
            state["charge"] = json.loads(event)["data"]["object"]
            verify()

        check("a completed checkout delivered 10 times at once to two servers grants once", checkout_once)

        def refund_once():
            status, purchases = api(a, "GET", "/purchases")
            status, body = http("GET", f"{fake_url}/_fake/stripe/events")
            completed = [e for e in json.loads(body) if e["type"] == "checkout.session.completed"][-1]
            intent_id = completed["data"]["object"]["payment_intent"]
            status, intent = http("GET", f"{fake_url}/v1/payment_intents/{intent_id}", STRIPE_SECRET)
            charge = json.loads(intent)["latest_charge"]
            charge_id = charge["id"] if isinstance(charge, dict) else charge
            status, event = http("POST", f"{fake_url}/_fake/stripe/charges/{charge_id}/refund", form={"amount": "400"})
            assert status == 200, event
            with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
                statuses = list(pool.map(lambda i: deliver((a, b)[i % 2], event), range(6)))
            assert statuses == [200] * 6, statuses
            refunds = ledger(a, "refund")
            assert [r["credits"] for r in refunds] == [-400], refunds
            verify()

        check("a refund delivered 6 times to two servers takes back the refunded part once", refund_once)

        def one_topup_per_crossing():
            available = api(a, "GET", "/balance")[1]["available"]
            status, body = api(a, "PUT", "/auto-topup", {"enabled": True, "threshold_credits": available,
                                                           "pack": "starter", "monthly_limit": 100})
            assert status == 200, body
            body = {"model": "openai/gpt-5.6-luna", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
            with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
                statuses = list(pool.map(lambda i: http("POST", f"http://127.0.0.1:{(a, b)[i % 2]}/v1/chat/completions", key, body)[0], range(50)))
            assert statuses == [200] * 50, statuses
            deadline = time.time() + 20
            while len(ledger(a, "purchase")) < 2 and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            intents = fake_events("payment_intent.succeeded")
            topups = [p for p in api(b, "GET", "/purchases")[1] if p["kind"] == "topup"]
            assert len(topups) == 1 and topups[0]["status"] == "succeeded", topups
            # The checkout's own PaymentIntent and the top-up's.
            assert len(intents) == 2, [e["data"]["object"]["id"] for e in intents]
            assert len(ledger(a, "purchase")) == 2
            verify()

        check("50 requests on two servers crossing the threshold start one top-up", one_topup_per_crossing)

        def killed_before_the_grant():
            c = start_server()
            available = api(a, "GET", "/balance")[1]["available"]
            api(a, "PUT", "/auto-topup", {"threshold_credits": available})
            before = len(fake_events("payment_intent.succeeded"))
            # Stripe charges, then its answer takes 30 s: the server dies waiting for it. (The other servers would
            # ask Stripe again only after KEYGATE_TOPUP_RETRY_SECONDS, an hour here: the webhook must grant.)
            status, body = http("POST", f"{fake_url}/_fake/stripe/delay-next", form={"seconds": "30"})
            assert status == 200, body
            body = {"model": "openai/gpt-5.6-luna", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
            status, _ = http("POST", f"http://127.0.0.1:{c}/v1/chat/completions", key, body)
            assert status == 200
            deadline = time.time() + 20
            while len(fake_events("payment_intent.succeeded")) == before and time.time() < deadline:
                time.sleep(0.1)
            servers[-1].send_signal(signal.SIGKILL)
            servers[-1].wait()
            pending = [p for p in api(a, "GET", "/purchases")[1] if p["kind"] == "topup" and p["status"] == "pending"]
            assert len(pending) == 1, "the top-up is pending: charged by Stripe, not yet granted"
            grants = len(ledger(a, "purchase"))
            event = json.dumps(fake_events("payment_intent.succeeded")[-1]).encode()
            assert deliver(b, event) == 200 and deliver(a, event) == 200
            assert len(ledger(a, "purchase")) == grants + 1
            topups = [p for p in api(b, "GET", "/purchases")[1] if p["kind"] == "topup"]
            assert all(p["status"] == "succeeded" for p in topups), topups
            verify()

        check("a server killed after Stripe charged a top-up: the webhook grants it later, once", killed_before_the_grant)

        def no_secret_anywhere():
            log.flush()
            texts = [open(log_path, "rb").read()] + responses
            for name in os.listdir(data_dir):
                if name.startswith("keygate.db"):
                    texts.append(open(os.path.join(data_dir, name), "rb").read())
            for secret in (STRIPE_SECRET, WEBHOOK_SECRET):
                assert not any(secret.encode() in t for t in texts), "a Stripe secret leaked"
            assert any(b"pur_" in t for t in texts), "the scan read what the servers wrote"

        check("no Stripe secret in the logs, the database or the responses", no_secret_anywhere)
    finally:
        stop(*servers, fake)
        log.close()

    return summary()


if __name__ == "__main__":
    sys.exit(main())
