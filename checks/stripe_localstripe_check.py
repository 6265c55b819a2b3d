#!/usr/bin/env python3
"""Checks the Stripe PaymentIntent path Keygate's auto top-up uses against localstripe, a third-party fake
Stripe (https://github.com/adrienverge/localstripe, pinned in checks/requirements.txt): a customer with a
saved card, an off-session `confirm=true` PaymentIntent sent with exactly Keygate's parameters and headers
→ `succeeded`, its signed `payment_intent.succeeded` reaching a webhook listener with a signature that
verifies, and a card whose charges fail → 402 `card_declined`.

localstripe runs on 127.0.0.1 only (its CLI binds every interface, so it is started through aiohttp with
an explicit host) on a free port, from an empty store (it pickles its state to the shared
/tmp/localstripe.pickle and reloads it at start).

Then the same path through `keygate serve` pointed at localstripe (KEYGATE_STRIPE_BASE_URL), with its
webhook registered at Keygate's /webhooks/stripe: an organisation whose existing Stripe customer and card
are attached (`keygate topup attach-card`) crosses its auto top-up threshold, Keygate's own client charges the
card off-session, the credits are granted once (Stripe's answer and localstripe's signed
`payment_intent.succeeded` both arrive), and a card whose charges fail leaves auto top-up `failing` with
the decline in words, without a retry loop.

Usage: .venv/bin/python checks/stripe_localstripe_check.py [BIN_DIR]   (default .build/debug)
"""
import hmac
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from checklib import check, free_port, sign, summary, wait_ready

# What Keygate pins and sends (SPEC §11; reference/stripe.md §3).
STRIPE_VERSION = "2026-09-30.endive"
SECRET_KEY = "sk_test_keygate_localstripe_check"
WEBHOOK_SECRET = "whsec_keygate_localstripe_check"
SIGNATURE_TOLERANCE = 300
def verify(payload, header, secret, tolerance=SIGNATURE_TOLERANCE, now=None):
    """True when one v1 of `header` is the HMAC of `payload` and t is within `tolerance` seconds of now."""
    fields = [part.split("=", 1) for part in (header or "").split(",") if "=" in part]
    timestamps = [value for key, value in fields if key == "t"]
    signatures = [value for key, value in fields if key == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    expected = sign(payload, secret, int(timestamps[0])).split(",v1=", 1)[1]
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        return False
    now = time.time() if now is None else now
    return abs(now - int(timestamps[0])) <= tolerance


def start_localstripe(port=None, python=sys.executable, timeout=30):
    """Starts localstripe on 127.0.0.1 from an empty store; returns (process, base_url). Stop it with process.terminate()."""
    port = port or free_port()
    # store.clear() empties what an earlier run (or another instance) pickled to /tmp/localstripe.pickle.
    code = (
        "from aiohttp import web; from localstripe.server import app, store; store.clear(); "
        f"web.run_app(app, host='127.0.0.1', port={port}, print=None)"
    )
    process = subprocess.Popen([python, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, base_url
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("localstripe did not start")


def stripe_call(base_url, method, path, params=(), secret_key=SECRET_KEY, idempotency_key=None, version=STRIPE_VERSION):
    """One form-encoded Stripe API call; returns (status, parsed JSON body, raw body)."""
    data = urllib.parse.urlencode(list(params)).encode() if method == "POST" else None
    headers = {"Authorization": f"Bearer {secret_key}", "Stripe-Version": version}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw or b"null"), raw
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw), raw
        except ValueError:
            return error.code, None, raw


class WebhookListener:
    """A webhook endpoint on 127.0.0.1 that keeps every delivery (raw body and headers) and answers 200."""

    def __init__(self):
        self.deliveries = []
        self.condition = threading.Condition()
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with listener.condition:
                    listener.deliveries.append({"body": body, "headers": {k.lower(): v for k, v in self.headers.items()}})
                    listener.condition.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stripe/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=10):
        """The first delivery whose parsed event satisfies `predicate`, waiting up to `timeout` seconds."""
        deadline = time.time() + timeout
        with self.condition:
            while True:
                for delivery in self.deliveries:
                    try:
                        event = json.loads(delivery["body"])
                    except ValueError:
                        continue
                    if predicate(event):
                        return delivery, event
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise AssertionError(f"no matching delivery in {timeout} s; got {[json.loads(d['body']).get('type') for d in self.deliveries]}")
                self.condition.wait(remaining)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def keygate_top_up_params(customer, payment_method, amount, org, purchase):
    """The parameters of Keygate's off-session top-up PaymentIntent, exactly as its Stripe client sends them."""
    return [
        ("amount", str(amount)),
        ("currency", "usd"),
        ("customer", customer),
        ("payment_method", payment_method),
        ("off_session", "true"),
        ("confirm", "true"),
        ("payment_method_types[0]", "card"),
        ("metadata[keygate_org]", org),
        ("metadata[keygate_purchase]", purchase),
    ]


def saved_card(base_url, magic_id, org):
    """A customer with `magic_id`'s card attached (as a completed checkout leaves it); returns (customer, pm)."""
    status, customer, raw = stripe_call(
        base_url, "POST", "/v1/customers", [("email", f"{org}@example.com"), ("metadata[keygate_org]", org)],
        idempotency_key=f"customer-{org}")
    assert status == 200, (status, raw)
    status, method, raw = stripe_call(
        base_url, "POST", f"/v1/payment_methods/{magic_id}/attach", [("customer", customer["id"])], idempotency_key=f"attach-{org}")
    assert status == 200, (status, raw)
    assert method["id"].startswith("pm_") and method["customer"] == customer["id"], method
    return customer["id"], method["id"]


def check_payment_intent_path(base_url, listener, webhook_secret=WEBHOOK_SECRET):
    """The top-up path: off-session PI succeeds, its signed event arrives and verifies; a failing card → 402."""

    def top_up_succeeds():
        customer, method = saved_card(base_url, "pm_card_visa", "org_check_ok")
        params = keygate_top_up_params(customer, method, 2000, "org_check_ok", "pur_check_ok")
        status, intent, raw = stripe_call(base_url, "POST", "/v1/payment_intents", params, idempotency_key="keygate-topup-pur_check_ok")
        assert status == 200, (status, raw)
        assert intent["status"] == "succeeded", intent["status"]
        assert intent["amount"] == 2000 and intent["currency"] == "usd" and intent["customer"] == customer, intent
        assert intent["metadata"] == {"keygate_org": "org_check_ok", "keygate_purchase": "pur_check_ok"}, intent["metadata"]
        # localstripe accepts payment_method_types[0]=card but does not echo it on the PaymentIntent (a gap).
        delivery, event = listener.wait_for(
            lambda e: e.get("type") == "payment_intent.succeeded" and e["data"]["object"]["id"] == intent["id"])
        header = delivery["headers"].get("stripe-signature")
        assert verify(delivery["body"], header, webhook_secret), f"signature does not verify: {header}"
        assert not verify(delivery["body"], header, webhook_secret + "x"), "a wrong secret verifies"
        assert not verify(delivery["body"] + b" ", header, webhook_secret), "a tampered body verifies"
        assert event["data"]["object"]["metadata"]["keygate_purchase"] == "pur_check_ok", event["data"]["object"]["metadata"]
        assert delivery["headers"].get("content-type", "").startswith("application/json"), delivery["headers"]

    def declined_card_is_402():
        customer, method = saved_card(base_url, "pm_card_chargeCustomerFail", "org_check_declined")
        params = keygate_top_up_params(customer, method, 2000, "org_check_declined", "pur_check_declined")
        status, body, raw = stripe_call(
            base_url, "POST", "/v1/payment_intents", params, idempotency_key="keygate-topup-pur_check_declined")
        assert status == 402, (status, raw)
        assert body["error"]["code"] == "card_declined", body
        delivery, _ = listener.wait_for(
            lambda e: e.get("type") == "payment_intent.payment_failed"
            and e["data"]["object"].get("metadata", {}).get("keygate_purchase") == "pur_check_declined")
        assert verify(delivery["body"], delivery["headers"].get("stripe-signature"), webhook_secret)

    check("localstripe: off-session top-up PaymentIntent succeeds; its signed payment_intent.succeeded verifies", top_up_succeeds)
    check("localstripe: a card whose charges fail → 402 card_declined (+ signed payment_intent.payment_failed)", declined_card_is_402)


def check_signing_helpers():
    def helpers_agree():
        body = b'{"id": "evt_1"}'
        header = sign(body, "whsec_x", 1_700_000_000)
        assert verify(body, header, "whsec_x", now=1_700_000_100)
        assert not verify(body, header, "whsec_x", now=1_700_000_301), "a stale signature verifies"
        assert not verify(body, header, "whsec_y", now=1_700_000_000)
        wrong_first = header.replace("v1=", "v1=" + "0" * 64 + ",v1=")
        assert verify(body, wrong_first, "whsec_x", now=1_700_000_000), "one right v1 among several must verify"
        assert not verify(body, "garbage", "whsec_x")

    check("sign()/verify() agree, refuse a wrong secret, a stale time, a bad header; accept one right v1 of several", helpers_agree)


def check_keygate_top_up(base_url, bin_dir):
    """Keygate's own top-up path (claim, off-session PaymentIntent, grant, webhook) against localstripe."""
    keygate, fake = os.path.join(bin_dir, "keygate"), os.path.join(bin_dir, "keygate-fake-upstream")
    data_dir = tempfile.mkdtemp(prefix="keygate-localstripe-check-")
    log_path = os.path.join(data_dir, "serve.log")
    provider = subprocess.Popen([fake, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        provider_port = int(provider.stdout.readline().strip().rsplit(" ", 1)[1])
        run_with_provider(base_url, keygate, data_dir, log_path, provider_port)
    finally:
        provider.terminate()
        provider.wait(timeout=30)


def run_with_provider(base_url, keygate, data_dir, log_path, provider_port):
    port = free_port()
    env = dict(os.environ, KEYGATE_DATA_DIR=data_dir, KEYGATE_PROVIDER_OPENAI_BASE_URL=f"http://127.0.0.1:{provider_port}/v1",
               KEYGATE_PROVIDER_OPENAI_API_KEY="sk-platform-localstripe-check", KEYGATE_MIN_RESERVATION_CREDITS="1",
               KEYGATE_TRIAL_CREDITS="0", KEYGATE_STRIPE_BASE_URL=base_url, KEYGATE_STRIPE_SECRET_KEY=SECRET_KEY,
               KEYGATE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, KEYGATE_LOG_LEVEL="info")
    run = lambda *args: subprocess.run([keygate, *args], env=env, check=True, capture_output=True, text=True)
    request = urllib.request.Request(
        f"{base_url}/_config/webhooks/keygate-serve", method="POST",
        data=urllib.parse.urlencode({"url": f"http://127.0.0.1:{port}/webhooks/stripe", "secret": WEBHOOK_SECRET}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    keys = {}
    # Both organisations buy the starter pack when available falls below 50 credits (it starts at 50).
    for org, card in (("acme", "pm_card_visa"), ("beta", "pm_card_chargeCustomerFail")):
        run("org", "create", org)
        run("credits", "grant", "--org", org, "--credits", "50")
        keys[org] = (run("apikey", "create", "--org", org).stdout.strip().splitlines()[-1],
                     run("apikey", "create", "--org", org, "--admin").stdout.strip().splitlines()[-1])
        customer, method = saved_card(base_url, card, org)
        run("topup", "attach-card", "--org", org, "--customer", customer, "--payment-method", method)
        run("topup", "set", "--org", org, "--enable", "--threshold", "50", "--pack", "starter", "--monthly-limit", "100")
    log = open(log_path, "wb")
    server = subprocess.Popen([keygate, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)

    def call(method, path, key, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def chat(org):
        body = {"model": "openai/gpt-5.6-luna", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
        status, answer = call("POST", "/v1/chat/completions", keys[org][0], body)
        assert status == 200, answer

    def topups(org):
        status, purchases = call("GET", "/api/orgs/" + org + "/purchases", keys[org][1])
        assert status == 200, purchases
        return [p for p in purchases if p["kind"] == "topup"]

    def wait(condition, timeout=20):
        deadline = time.time() + timeout
        while not condition() and time.time() < deadline:
            time.sleep(0.2)
        return condition()

    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")

        def granted_once():
            chat("acme")
            assert wait(lambda: [p["status"] for p in topups("acme")] == ["succeeded"]), topups("acme")
            # localstripe's signed payment_intent.succeeded arrives about a second later: verified, applied once.
            assert wait(lambda: b"Stripe event already applied" in open(log_path, "rb").read()), "the webhook never reached Keygate"
            status, ledger = call("GET", "/api/orgs/acme/ledger?limit=100", keys["acme"][1])
            purchases = [e for e in ledger if e["kind"] == "purchase"]
            assert len(purchases) == 1 and purchases[0]["credits"] == 1000, purchases
            status, state = call("GET", "/api/orgs/acme/auto-topup", keys["acme"][1])
            assert state["state"] == "idle" and state["spent_this_month"] == 10, state
            assert b"bad signature" not in open(log_path, "rb").read()

        def declined_without_a_loop():
            chat("beta")
            assert wait(lambda: [p["status"] for p in topups("beta")] == ["failed"]), topups("beta")
            status, state = call("GET", "/api/orgs/beta/auto-topup", keys["beta"][1])
            assert state["state"] == "failing" and "declined" in (state["last_error"] or ""), state
            for _ in range(3):
                chat("beta")
            time.sleep(1.5)
            assert len(topups("beta")) == 1, topups("beta")

        def ledger_verifies():
            result = subprocess.run([keygate, "ledger", "verify"], env=env, capture_output=True, text=True)
            assert result.returncode == 0, result.stdout + result.stderr
            log.flush()
            texts = [open(log_path, "rb").read()] + [open(os.path.join(data_dir, n), "rb").read() for n in os.listdir(data_dir) if n.startswith("keygate.db")]
            assert not any(SECRET_KEY.encode() in t or WEBHOOK_SECRET.encode() in t for t in texts), "a Stripe secret leaked"

        check("keygate serve on localstripe: a crossing tops up once on the attached card (answer and webhook)", granted_once)
        check("keygate serve on localstripe: a declined top-up leaves auto top-up failing, in words, no loop", declined_without_a_loop)
        check("keygate serve on localstripe: ledger verify passes, no Stripe secret in logs or database", ledger_verifies)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main():
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
    check_signing_helpers()
    process, base_url = start_localstripe()
    listener = WebhookListener()
    try:
        status, _, raw = stripe_call(base_url, "DELETE", "/_config/data")
        assert status == 200, (status, raw)
        request = urllib.request.Request(
            f"{base_url}/_config/webhooks/keygate", method="POST",
            data=urllib.parse.urlencode({"url": listener.url, "secret": WEBHOOK_SECRET}).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        check_payment_intent_path(base_url, listener)
        check_keygate_top_up(base_url, bin_dir)
    finally:
        listener.stop()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    return summary("(stripe localstripe checks)")


if __name__ == "__main__":
    sys.exit(main())
