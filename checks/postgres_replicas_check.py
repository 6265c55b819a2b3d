#!/usr/bin/env python3
"""Checks three `keygate serve` replicas on one PostgreSQL database (issue 15): 300 concurrent credit-billed
requests of one organisation whose balance covers exactly 100 of them (each holds 1 credit while its answer
waits) → exactly 100 succeed and 200 get 402, nothing goes below zero and `keygate ledger verify` passes; then
`kill -9` of one replica with 20 streams in flight → the other two keep serving and the killed one's
reservations come back after its heartbeat stops.

Needs KEYGATE_TEST_DATABASE_URL (a role that may create databases, as `scripts/test-postgres.sh start` makes);
it creates a database of its own and drops it afterwards. Without it the check says so and passes.

Usage: checks/postgres_replicas_check.py [BIN_DIR]   (default .build/debug)
"""
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from checklib import check, drop_database, fresh_database, free_port, http, stop, summary, wait_ready

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
KEYGATE = os.path.join(BIN, "keygate")
FAKE = os.path.join(BIN, "keygate-fake-upstream")
SERVER_URL = os.environ.get("KEYGATE_TEST_DATABASE_URL", "")


def main():
    if not SERVER_URL:
        print("skip PostgreSQL replicas: KEYGATE_TEST_DATABASE_URL is not set (eval \"$(scripts/test-postgres.sh start)\")")
        return 0
    name, database_url = fresh_database(SERVER_URL, "kg_replicas")
    data_dir = tempfile.mkdtemp(prefix="keygate-replicas-check-")
    fake = subprocess.Popen([FAKE, "--port", "0"], stdout=subprocess.PIPE, text=True)
    fake_port = int(fake.stdout.readline().strip().rsplit(" ", 1)[1])
    env = dict(os.environ, KEYGATE_DATA_DIR=data_dir, KEYGATE_DATABASE_URL=database_url,
               KEYGATE_PROVIDER_OPENAI_BASE_URL=f"http://127.0.0.1:{fake_port}/v1", KEYGATE_PROVIDER_OPENAI_API_KEY="sk-platform-replicas",
               KEYGATE_MIN_RESERVATION_CREDITS="1", KEYGATE_TRIAL_CREDITS="0", KEYGATE_SWEEP_INTERVAL_SECONDS="1",
               KEYGATE_INSTANCE_DEAD_AFTER_SECONDS="3", KEYGATE_LOG_LEVEL="warning")
    run = lambda *args: subprocess.run([KEYGATE, *args], env=env, check=True, capture_output=True, text=True)
    servers, ports = [], []
    try:
        run("org", "create", "acme")
        run("credits", "grant", "--org", "acme", "--credits", "100", "--reason", "replicas check")
        key = run("apikey", "create", "--org", "acme").stdout.strip().splitlines()[-1]
        admin = run("apikey", "create", "--org", "acme", "--admin").stdout.strip().splitlines()[-1]
        log = open(os.path.join(data_dir, "servers.log"), "wb")
        for index in range(3):
            # One at a time, each on a port just found free: a replica that cannot start says why (its log).
            for attempt in range(3):
                port = free_port()
                server = subprocess.Popen([KEYGATE, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
                try:
                    wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=60)
                    break
                except RuntimeError:
                    stop(server)
                    log.flush()
                    with open(os.path.join(data_dir, "servers.log"), "rb") as written:
                        tail = written.read()[-3000:].decode(errors="replace")
                    print(f"replica {index} on port {port} did not become ready (attempt {attempt + 1}); log tail:\n{tail}", flush=True)
                    if attempt == 2:
                        raise
            servers.append(server)
            ports.append(port)

        def balance(port):
            status, body = http("GET", f"http://127.0.0.1:{port}/api/orgs/acme/balance", admin)
            assert status == 200, body
            return json.loads(body)

        def verify():
            done = subprocess.run([KEYGATE, "ledger", "verify"], env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr

        def exactly_the_covered_requests_succeed():
            # Each answer waits 4 s for its first byte, so all 300 hold their 1-credit reservation at once.
            body = {"model": "openai/gpt-5.6-luna", "max_tokens": 10, "messages": [{"role": "user", "content": "hi #fake first_byte_delay_ms=4000"}]}
            with concurrent.futures.ThreadPoolExecutor(max_workers=300) as pool:
                futures = [pool.submit(http, "POST", f"http://127.0.0.1:{ports[i % 3]}/v1/chat/completions", key, body) for i in range(300)]
                statuses = [f.result()[0] for f in futures]
            assert set(statuses) <= {200, 402}, sorted(set(statuses))
            assert statuses.count(200) == 100, f"{statuses.count(200)} succeeded, {statuses.count(402)} got 402: the balance covers exactly 100"
            after = balance(ports[1])
            assert after["reserved"] == 0 and after["available"] >= 0, after
            status, body = http("GET", f"http://127.0.0.1:{ports[2]}/api/orgs/acme/ledger?limit=1000", admin)
            assert status == 200, body[:200]
            entries = json.loads(body)
            assert all(e["balance_after"] >= 0 for e in entries), "available went below zero"
            settles = [e for e in entries if e["kind"] == "settle"]
            assert len({e["request_id"] for e in settles}) == len(settles) == 100, "each successful request charged exactly once"
            verify()

        check("three replicas on one PostgreSQL: of 300 concurrent requests, exactly the 100 the balance covers succeed", exactly_the_covered_requests_succeed)

        def a_killed_replica_leaves_the_others_serving():
            run("credits", "grant", "--org", "acme", "--credits", "100")
            start = balance(ports[1])
            body = {"model": "openai/gpt-5.6-luna", "stream": True, "max_tokens": 10,
                    "messages": [{"role": "user", "content": "hi #fake chunks=100 delay_ms=100"}]}
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=20)
            for _ in range(20):
                pool.submit(http, "POST", f"http://127.0.0.1:{ports[0]}/v1/chat/completions", key, body, 30)
            deadline = time.time() + 15
            while balance(ports[1])["reserved"] < 20 and time.time() < deadline:
                time.sleep(0.1)
            assert balance(ports[1])["reserved"] >= 20, "20 streams hold their reservations"
            servers[0].send_signal(signal.SIGKILL)
            servers[0].wait()
            pool.shutdown(wait=True)
            quick = {"model": "openai/gpt-5.6-luna", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
            for port in ports[1:]:
                status, answer = http("POST", f"http://127.0.0.1:{port}/v1/chat/completions", key, quick)
                assert status == 200, (port, status, answer[:200])
            deadline = time.time() + 30
            while balance(ports[2])["reserved"] != 0 and time.time() < deadline:
                time.sleep(0.5)
            after = balance(ports[2])
            assert after["reserved"] == 0, f"the killed replica's reservations did not come back: {after}"
            assert after["available"] > start["available"] + start["reserved"] - 1, (start, after)
            verify()

        check("kill -9 of one replica with 20 streams: the others serve on and its reservations come back", a_killed_replica_leaves_the_others_serving)
    finally:
        stop(*servers, fake)
        drop_database(SERVER_URL, name)
    return summary("(replicas on PostgreSQL)")


if __name__ == "__main__":
    sys.exit(main())
