#!/usr/bin/env python3
"""Checks the credit ledger across real processes: two `keygate serve` on one database under 200
concurrent requests (no overspend, every accepted request charged once, `keygate ledger verify` passes),
then `kill -9` of a server with 20 streams in flight (its reservations come back after the lease), then
`kill -9` of a server under load (every answer a client received in full was charged, with its usage record), then
`kill -9` of a server with a job's calls in flight (the job's hold survives; the sweeper returns the dead calls to the job).

Usage: checks/credits_check.py [BIN_DIR] [--postgres]   (default .build/debug)
On the embedded SQLite file by default; with --postgres, on a fresh database of the server KEYGATE_TEST_DATABASE_URL
names (the batched ledger path of several replicas).
"""
import concurrent.futures
from http.client import HTTPException
import json
import os
import signal
import sqlite3
import threading
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from checklib import check, drop_database, fresh_database, free_port, psql, stop, summary, wait_ready

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BIN = os.path.abspath(ARGS[0] if ARGS else ".build/debug")
POSTGRES = "--postgres" in sys.argv[1:]
SERVER_URL = os.environ.get("KEYGATE_TEST_DATABASE_URL", "")
KEYGATE = os.path.join(BIN, "keygate")
FAKE = os.path.join(BIN, "keygate-fake-upstream")
def http(method, url, key, body=None, timeout=60, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            if headers is not None:
                headers.update({k.lower(): v for k, v in response.getheaders()})
            return response.status, body
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main():
    if POSTGRES and not SERVER_URL:
        print("skip credits on PostgreSQL: KEYGATE_TEST_DATABASE_URL is not set (eval \"$(scripts/test-postgres.sh start)\")")
        return 0
    data_dir = tempfile.mkdtemp(prefix="keygate-credits-check-")
    database_name, database_url = fresh_database(SERVER_URL, "kg_credits") if POSTGRES else (None, None)
    store = "PostgreSQL" if POSTGRES else "one SQLite file"

    def request_ids(sql):
        if POSTGRES:
            return set(psql(database_url, sql))
        db = sqlite3.connect(os.path.join(data_dir, "keygate.db"))
        ids = {row[0] for row in db.execute(sql)}
        db.close()
        return ids

    fake = subprocess.Popen([FAKE, "--port", "0"], stdout=subprocess.PIPE, text=True)
    fake_port = int(fake.stdout.readline().strip().rsplit(" ", 1)[1])
    env = dict(os.environ, KEYGATE_DATA_DIR=data_dir, KEYGATE_PROVIDER_OPENAI_BASE_URL=f"http://127.0.0.1:{fake_port}/v1",
               KEYGATE_PROVIDER_OPENAI_API_KEY="sk-platform-credits-check", KEYGATE_MIN_RESERVATION_CREDITS="1",
               KEYGATE_SWEEP_INTERVAL_SECONDS="1", KEYGATE_INSTANCE_DEAD_AFTER_SECONDS="3", KEYGATE_LOG_LEVEL="warning")
    if POSTGRES:
        env["KEYGATE_DATABASE_URL"] = database_url
    run = lambda *args: subprocess.run([KEYGATE, *args], env=env, check=True, capture_output=True, text=True)
    run("org", "create", "acme")
    run("credits", "grant", "--org", "acme", "--credits", "50", "--reason", "credits check")
    key = run("apikey", "create", "--org", "acme").stdout.strip().splitlines()[-1]
    admin = run("apikey", "create", "--org", "acme", "--admin").stdout.strip().splitlines()[-1]

    servers, ports = [], []
    def start_server():
        port = free_port()
        server = subprocess.Popen([KEYGATE, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=30)
        servers.append(server)
        ports.append(port)
        return port

    def balance(port):
        status, body = http("GET", f"http://127.0.0.1:{port}/api/orgs/acme/balance", admin)
        assert status == 200, body
        return json.loads(body)

    try:
        a, b = start_server(), start_server()

        def concurrent_requests():
            body = {"model": "openai/gpt-5.6-luna", "max_tokens": 10,
                    "messages": [{"role": "user", "content": "hi #fake first_byte_delay_ms=1500"}]}
            with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
                futures = [pool.submit(http, "POST", f"http://127.0.0.1:{(a, b)[i % 2]}/v1/chat/completions", key, body) for i in range(200)]
                statuses = [f.result()[0] for f in futures]
            accepted = statuses.count(200)
            assert set(statuses) <= {200, 402}, statuses
            assert accepted >= 50, f"only {accepted} accepted"
            after = balance(a)
            assert after["available"] >= 0 and after["reserved"] == 0, after
            status, body = http("GET", f"http://127.0.0.1:{b}/api/orgs/acme/ledger?limit=1000", admin)
            entries = json.loads(body)
            assert all(e["balance_after"] >= 0 for e in entries), "available went below zero"
            settles = [e for e in entries if e["kind"] == "settle"]
            assert len(settles) == accepted and len({e["request_id"] for e in settles}) == accepted, "each accepted request charged exactly once"
            verify = subprocess.run([KEYGATE, "ledger", "verify"], env=env, capture_output=True, text=True)
            assert verify.returncode == 0, verify.stdout + verify.stderr

        check(f"200 concurrent requests across two servers on {store} never overspend", concurrent_requests)

        def crash_mid_stream():
            run("credits", "grant", "--org", "acme", "--credits", "100")
            start = balance(b)
            body = {"model": "openai/gpt-5.6-luna", "stream": True, "max_tokens": 10,
                    "messages": [{"role": "user", "content": "hi #fake chunks=100 delay_ms=100"}]}
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=20)
            for _ in range(20):
                pool.submit(http, "POST", f"http://127.0.0.1:{a}/v1/chat/completions", key, body, 30)
            deadline = time.time() + 10
            while balance(b)["reserved"] < 20 and time.time() < deadline:
                time.sleep(0.1)
            assert balance(b)["reserved"] >= 20, "20 streams hold their reservations"
            servers[0].send_signal(signal.SIGKILL)
            servers[0].wait()
            pool.shutdown(wait=True)
            deadline = time.time() + 20
            while balance(b)["reserved"] != 0 and time.time() < deadline:
                time.sleep(0.5)
            after = balance(b)
            assert after["reserved"] == 0, after
            # Nothing was settled for the killed streams, so everything they held came back.
            assert after["available"] == start["available"] + start["reserved"], (start, after)
            verify = subprocess.run([KEYGATE, "ledger", "verify"], env=env, capture_output=True, text=True)
            assert verify.returncode == 0, verify.stdout + verify.stderr

        check("kill -9 with 20 streams in flight: the reservations come back after the lease", crash_mid_stream)

        def crash_under_load():
            run("credits", "grant", "--org", "acme", "--credits", "1000")
            c = start_server()
            body = {"model": "openai/gpt-5.6-luna", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
            stop = threading.Event()
            received, lock = [], threading.Lock()

            def client(stream):
                while not stop.is_set():
                    headers = {}
                    try:
                        status, answer = http("POST", f"http://127.0.0.1:{c}/v1/chat/completions", key, dict(body, stream=stream), 10, headers)
                    except (OSError, HTTPException):
                        continue  # the server is gone: this answer never arrived (in full)
                    if status == 200 and (not stream or answer.rstrip().endswith(b"data: [DONE]")):
                        # A stream's charge is not known when its head goes out; a JSON answer says it.
                        charged = 1 if stream else int(headers["x-keygate-credits-charged"].replace(".", ""))
                        with lock:
                            received.append((headers["x-request-id"], charged))

            threads = [threading.Thread(target=client, args=(i % 2 == 1,)) for i in range(16)]
            for thread in threads:
                thread.start()
            time.sleep(2)
            servers[-1].send_signal(signal.SIGKILL)
            servers[-1].wait()
            stop.set()
            for thread in threads:
                thread.join()
            assert len(received) >= 50, f"only {len(received)} answers before the kill"
            settled = request_ids("SELECT request_id FROM ledger_entries WHERE kind = 'settle'")
            recorded = request_ids("SELECT request_id FROM usage_records")
            missing = [rid for rid, _ in received if rid not in settled]
            assert not missing, f"{len(missing)} answers received in full but not charged, e.g. {missing[:3]}"
            unrecorded = [rid for rid, _ in received if rid not in recorded]
            assert not unrecorded, f"{len(unrecorded)} charged answers without a usage record, e.g. {unrecorded[:3]}"
            assert all(charged > 0 for _, charged in received), "every answer says what it cost"
            verify = subprocess.run([KEYGATE, "ledger", "verify"], env=env, capture_output=True, text=True)
            assert verify.returncode == 0, verify.stdout + verify.stderr

        check("kill -9 under load: every answer a client received in full was charged, with its usage record", crash_under_load)

        def crash_with_a_job_open():
            d = start_server()
            deadline = time.time() + 20
            while balance(b)["reserved"] != 0 and time.time() < deadline:
                time.sleep(0.5)  # the server killed before left reservations; the sweeper returns them first
            start = balance(b)
            assert start["reserved"] == 0, start
            status, body = http("POST", f"http://127.0.0.1:{b}/api/orgs/acme/jobs", admin, {"credits": 20})
            assert status == 201, body
            job = json.loads(body)
            url = f"http://127.0.0.1:{b}/api/orgs/acme/jobs/{job['id']}"
            stream = {"model": "openai/gpt-5.6-luna", "stream": True, "max_tokens": 10,
                      "messages": [{"role": "user", "content": "hi #fake chunks=100 delay_ms=100"}]}
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=10)
            for _ in range(10):
                pool.submit(lambda: urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{d}/v1/chat/completions", data=json.dumps(stream).encode(), method="POST",
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", "x-keygate-job": job["id"]}),
                    timeout=30).read())
            deadline = time.time() + 10
            while json.loads(http("GET", url, admin)[1])["in_flight"] < 10 and time.time() < deadline:
                time.sleep(0.1)
            held = json.loads(http("GET", url, admin)[1])
            assert held["in_flight"] == 10 and held["remaining"] == 10, held
            servers[-1].send_signal(signal.SIGKILL)
            servers[-1].wait()
            pool.shutdown(wait=True)
            # The job's hold is in the database: the other server sees it whole, and the organisation's reserved with it.
            after_kill = json.loads(http("GET", url, admin)[1])
            assert after_kill["status"] == "open" and after_kill["reserved"] == 20, after_kill
            assert balance(b)["reserved"] == start["reserved"] + 20
            # The sweeper returns the dead calls' holds to the job (not to available).
            deadline = time.time() + 20
            while json.loads(http("GET", url, admin)[1])["in_flight"] != 0 and time.time() < deadline:
                time.sleep(0.5)
            swept = json.loads(http("GET", url, admin)[1])
            assert swept["in_flight"] == 0 and swept["remaining"] == 20 - swept["charged"], swept
            assert balance(b)["available"] == start["available"] - 20, "nothing went back to available while the job is open"
            status, body = http("POST", f"{url}/complete", admin)
            assert status == 200, body
            end = balance(b)
            assert end["reserved"] == start["reserved"] and end["available"] == start["available"] - json.loads(body)["charged"], (start, end)
            verify = subprocess.run([KEYGATE, "ledger", "verify"], env=env, capture_output=True, text=True)
            assert verify.returncode == 0, verify.stdout + verify.stderr

        check("kill -9 with a job open and calls in flight: the hold survives, the sweeper returns the dead calls to the job",
              crash_with_a_job_open)
    finally:
        stop(*servers, fake)
        if database_name:
            drop_database(SERVER_URL, database_name)

    return summary("on PostgreSQL" if POSTGRES else "")


if __name__ == "__main__":
    sys.exit(main())
