"""What every check script shares: named checks that report and go on, free ports, waiting for a server,
Stripe's webhook signature, throwaway PostgreSQL databases, and the summary that sets the exit status."""
import hashlib
import hmac
import json
import glob
import os
import shutil
import socket
import subprocess
import time
import uuid
import urllib.error
import urllib.parse
import urllib.request

results = []


def check(name, fn):
    """Runs one named check; a failure is printed and counted, and the next check still runs."""
    try:
        fn()
        results.append(True)
        print(f"ok   {name}", flush=True)
    except Exception as error:  # noqa: BLE001 - report every failure and go on
        results.append(False)
        print(f"FAIL {name}: {error!r}", flush=True)


def summary(label=""):
    """Prints `N passed, M failed` and returns the exit status."""
    passed = results.count(True)
    print(f"{passed} passed, {len(results) - passed} failed{' ' + label if label else ''}", flush=True)
    return 0 if passed == len(results) else 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, timeout=60):
    """Waits until `url` answers 200 (a server's /readyz)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


def sign(payload, secret, timestamp=None):
    """Stripe's `Stripe-Signature` for `payload` (bytes): t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.payload")>."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def funded_org(keygate, env, reason, slug="acme", credits=100):
    """`keygate org create`, a grant of `credits` and a new API key, through the CLI with `env`: returns the key."""
    run = lambda *args: subprocess.run([keygate, *args], env=env, check=True, capture_output=True, text=True)
    run("org", "create", slug)
    run("credits", "grant", "--org", slug, "--credits", str(credits), "--reason", reason)
    return run("apikey", "create", "--org", slug).stdout.strip().splitlines()[-1]


def stop(*processes):
    """Terminates the processes still running and waits for each."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def http(method, url, key=None, body=None, timeout=60, raw=None, headers=None, form=None):
    """One HTTP request outside any SDK or browser: (status, body bytes), errors included. `body` is sent as
    JSON, `raw` as given, `form` URL-encoded; `key` as `Authorization: Bearer`."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = {"Content-Type": "application/json"}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    if key:
        hdrs["Authorization"] = f"Bearer {key}"
    hdrs.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def psql(url, sql):
    """Runs one statement with Debian's psql (the client comes with the server); returns its rows as strings."""
    binary = shutil.which("psql") or sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]
    parts = urllib.parse.urlsplit(url)
    env = dict(os.environ, PGPASSWORD=urllib.parse.unquote(parts.password or ""))
    done = subprocess.run([binary, "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", parts.hostname, "-p", str(parts.port or 5432),
                           "-U", parts.username, "-d", parts.path.lstrip("/"), "-c", sql], env=env, check=True, capture_output=True, text=True)
    return done.stdout.splitlines()


def fresh_database(server_url, prefix):
    """A new, empty database on the server `server_url` names (its role may create databases): (name, its URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    psql(server_url, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(server_url)
    return name, urllib.parse.urlunsplit(parts._replace(path="/" + name))


def drop_database(server_url, name):
    try:
        psql(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except subprocess.CalledProcessError:
        pass
