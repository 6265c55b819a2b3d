#!/usr/bin/env python3
"""Checks graceful shutdown on a real `keygate serve` (issue 17, item 5): SIGTERM with 20 credit-billed streams
in flight. With a grace longer than the streams, every stream completes, the process exits 0 within the grace,
every request is settled (nothing left reserved, one usage record each) and `keygate ledger verify` holds; a new
connection is refused once the stop began. With a short grace, the streams still running (chat completions and
Anthropic Messages) are cut with an error event in their own format, settled for what they produced, and the
process still exits 0 in about the grace.

Usage: checks/shutdown_check.py [BIN_DIR]   (default .build/debug)
"""
import concurrent.futures
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from checklib import check, free_port, funded_org, stop, summary, wait_ready

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BIN = os.path.abspath(ARGS[0] if ARGS else ".build/debug")
KEYGATE = os.path.join(BIN, "keygate")
FAKE = os.path.join(BIN, "keygate-fake-upstream")
STREAMS = 20


def stream(port, key, path, body):
    """One streamed request: (status, the whole body as text, x-request-id); an error status is read too."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode(), response.headers.get("x-request-id")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get("x-request-id")


def chat_body(directive):
    return {"model": "openai/gpt-5.6-luna", "stream": True, "max_tokens": 10,
            "messages": [{"role": "user", "content": f"hi #fake {directive}"}]}


def messages_body(directive):
    return {"model": "claude-haiku-4-5", "stream": True, "max_tokens": 64,
            "messages": [{"role": "user", "content": f"hi #fake {directive}"}]}


def main():
    fake = subprocess.Popen([FAKE, "--port", "0"], stdout=subprocess.PIPE, text=True)
    fake_port = int(fake.stdout.readline().strip().rsplit(" ", 1)[1])
    processes = [fake]

    def setup(grace):
        """A fresh data directory with an org holding credits, and a server started with `grace`: (env, port, server, key, log path)."""
        data_dir = tempfile.mkdtemp(prefix="keygate-shutdown-check-")
        env = dict(os.environ, KEYGATE_DATA_DIR=data_dir, KEYGATE_MIN_RESERVATION_CREDITS="1",
                   KEYGATE_PROVIDER_OPENAI_BASE_URL=f"http://127.0.0.1:{fake_port}/v1",
                   KEYGATE_PROVIDER_OPENAI_API_KEY="sk-platform-shutdown-check",
                   KEYGATE_PROVIDER_ANTHROPIC_BASE_URL=f"http://127.0.0.1:{fake_port}",
                   KEYGATE_PROVIDER_ANTHROPIC_API_KEY="sk-ant-platform-shutdown-check",
                   KEYGATE_SHUTDOWN_GRACE_SECONDS=str(grace), KEYGATE_LOG_LEVEL="info")
        key = funded_org(KEYGATE, env, "shutdown check")
        port = free_port()
        log_path = os.path.join(data_dir, "serve.log")
        log = open(log_path, "w")
        server = subprocess.Popen([KEYGATE, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(server)
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=30)
        return env, port, server, key, log_path

    def reserved(env):
        line = subprocess.run([KEYGATE, "credits", "balance", "--org", "acme"], env=env, check=True,
                              capture_output=True, text=True).stdout
        return line.split("reserved ", 1)[1].split(",", 1)[0].strip()

    def database(env, sql):
        db = sqlite3.connect(os.path.join(env["KEYGATE_DATA_DIR"], "keygate.db"))
        rows = db.execute(sql).fetchall()
        db.close()
        return rows

    def start_streams(port, key, bodies):
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(bodies))
        futures = [pool.submit(stream, port, key, path, body) for path, body in bodies]
        return pool, futures

    def wait_reserved(env, count):
        """Waits until `count` requests hold reservations."""
        deadline, held = time.time() + 20, 0
        while time.time() < deadline:
            held = database(env, "SELECT COUNT(*) FROM reservations WHERE state = 'open'")[0][0]
            if held >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"only {held} of {count} streams hold a reservation")

    def settled_everything(env, results):
        assert float(reserved(env)) == 0, f"reserved after the stop: {reserved(env)}"
        ids = [rid for _, _, rid in results]
        assert all(ids) and len(set(ids)) == STREAMS, ids
        records = dict(database(env, "SELECT request_id, COALESCE(error_code, '') FROM usage_records"))
        missing = [rid for rid in ids if rid not in records]
        assert not missing, f"{len(missing)} requests without a usage record, e.g. {missing[:3]}"
        settles = {row[0] for row in database(env, "SELECT request_id FROM ledger_entries WHERE kind = 'settle'")}
        unsettled = [rid for rid in ids if rid not in settles]
        assert not unsettled, f"{len(unsettled)} requests not charged, e.g. {unsettled[:3]}"
        assert not database(env, "SELECT request_id FROM reservations WHERE state = 'open'"), "reservations left open"
        verify = subprocess.run([KEYGATE, "ledger", "verify"], env=env, capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        return records

    def streams_finish_within_the_grace():
        env, port, server, key, log_path = setup(grace=30)
        # About 4 s per stream: they outlast the signal but not the grace.
        bodies = [("/v1/chat/completions", chat_body("chunks=40 delay_ms=100"))] * (STREAMS // 2) \
            + [("/v1/messages", messages_body("chunks=40 delay_ms=100"))] * (STREAMS // 2)
        pool, futures = start_streams(port, key, bodies)
        wait_reserved(env, STREAMS)
        signalled = time.time()
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        refused = False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            refused = True
        code = server.wait(timeout=40)
        took = time.time() - signalled
        results = [f.result() for f in futures]
        pool.shutdown()
        assert code == 0, f"exit status {code}"
        assert took < 30, f"the stop took {took:.1f} s, more than the grace"
        assert refused, "a new connection was accepted after SIGTERM"
        for status, text, _ in results:
            assert status == 200, (status, text[-300:])
            assert text.rstrip().endswith("data: [DONE]") or "event: message_stop" in text, text[-300:]
            assert "server_shutting_down" not in text, text[-300:]
        records = settled_everything(env, results)
        assert all(code == "" for code in records.values()), records
        log = open(log_path).read()
        assert "Keygate stopped" in log, "the last log line was not flushed: " + log[-500:]

    check(f"SIGTERM with {STREAMS} streams and a 30 s grace: all complete, settled, recorded, exit 0, ledger verifies",
          streams_finish_within_the_grace)

    def streams_cut_at_the_deadline():
        env, port, server, key, log_path = setup(grace=2)
        # About 20 s per stream: far longer than the grace.
        bodies = [("/v1/chat/completions", chat_body("chunks=400 delay_ms=50"))] * (STREAMS // 2) \
            + [("/v1/messages", messages_body("chunks=400 delay_ms=50"))] * (STREAMS // 2)
        pool, futures = start_streams(port, key, bodies)
        wait_reserved(env, STREAMS)
        time.sleep(0.5)  # every stream has produced something
        signalled = time.time()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        took = time.time() - signalled
        results = [f.result() for f in futures]
        pool.shutdown()
        assert code == 0, f"exit status {code}"
        assert 1.5 < took < 8, f"the stop took {took:.1f} s with a 2 s grace"
        for (path, _), (status, text, _) in zip(bodies, results):
            assert status == 200, (status, text[-300:])
            events = [e for e in text.split("\n\n") if e.strip()]
            assert len(events) > 3, f"the stream produced nothing before the cut: {text[-300:]}"
            last = events[-1]
            if path == "/v1/chat/completions":
                assert "[DONE]" not in text, text[-300:]
                assert last.startswith("data: "), last
                error = json.loads(last[len("data: "):])["error"]
                assert error["code"] == "server_shutting_down" and error["type"] == "api_error", error
            else:
                assert "event: message_stop" not in text, text[-300:]
                assert last.startswith("event: error\ndata: "), last
                error = json.loads(last.split("data: ", 1)[1])
                assert error["type"] == "error" and error["error"]["type"] == "overloaded_error", error
                assert "shutdown grace" in error["error"]["message"], error
        records = settled_everything(env, results)
        assert all(code == "server_shutting_down" for code in records.values()), records
        charged = database(env, "SELECT COUNT(*) FROM usage_records WHERE credits_charged_micros > 0")[0][0]
        assert charged == STREAMS, f"only {charged} cut streams charged for what they produced"
        log = open(log_path).read()
        assert "Shutdown grace over" in log and "Keygate stopped" in log, log[-800:]

    check(f"SIGTERM with {STREAMS} streams and a 2 s grace: cut with an error event in each format, settled for what they produced, exit 0",
          streams_cut_at_the_deadline)

    stop(*processes)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
