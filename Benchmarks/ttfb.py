#!/usr/bin/env python3
"""Streaming load client for Benchmarks/run.sh (stdlib only).

Two modes, both over raw keep-alive HTTP/1.1 connections with asyncio protocols:

  ttfb.py ttfb URL --conns 16 --seconds 5 [--model M] [--key K] [--directive '#fake chunks=10 delay_ms=20']
      Keeps CONNS connections busy for SECONDS, each sending the streaming chat request again as soon as the
      previous response has ended, and records for every request the time from writing the request to
      receiving the first bytes of the first `data:` event. Prints
      `TTFB requests=N p50_us=.. p90_us=.. p99_us=.. errors=E`. With a directive (for keygate-fake-upstream)
      each stream lasts as long as a model's would, so the connections are open but not saturating.

  ttfb.py hold URL --conns 1000 [--directive '#fake chunks=40 delay_ms=250']
      Opens CONNS connections, sends one slow streaming request on each (the directive goes into the last
      user message, for keygate-fake-upstream) and reads every stream to its end. Prints
      `HOLD conns=N completed=C errors=E max_concurrent=M all_open_at_once=yes|no`, where max_concurrent
      counts streams that had received their first event and not yet ended, at the same moment.
"""
import argparse
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


def build_request(url, model, key, user_text):
    parts = urlsplit(url)
    body = json.dumps({
        "model": model,
        "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": user_text}],
        "max_tokens": 64,
        "stream": True,
    }, separators=(",", ":")).encode()
    head = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return parts.hostname, parts.port, head + body


class Exchange(asyncio.Protocol):
    """One keep-alive connection; parses just enough HTTP/1.1 to find the end of each response."""

    def __init__(self, request, on_first_event, on_done):
        self.request = request
        self.on_first_event = on_first_event
        self.on_done = on_done
        self.transport = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport

    def send(self):
        self.buffer = bytearray()
        self.headers_done = False
        self.status = 0
        self.length = None      # content-length, or None for chunked
        self.chunked = False
        self.body_seen = 0      # content-length mode: body bytes received
        self.chunk_pos = 0      # chunked mode: parse position in buffer
        self.saw_event = False
        self.finished = False
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.request)

    def data_received(self, data):
        now = time.perf_counter_ns()
        if self.finished:
            return
        self.buffer += data
        if not self.headers_done:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            self.status = int(head[0].split(" ")[1])
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    self.length = int(value.strip())
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    self.chunked = True
            del self.buffer[:end + 4]
            self.headers_done = True
        if not self.saw_event and b"data:" in self.buffer:
            self.saw_event = True
            self.on_first_event(self, now - self.sent_at)
        if self.chunked:
            self._scan_chunks()
        elif self.length is not None:
            if len(self.buffer) >= self.length:
                self._finish()
        # else: read until close (not expected from any server here)

    def _scan_chunks(self):
        buf = self.buffer
        while True:
            line_end = buf.find(b"\r\n", self.chunk_pos)
            if line_end < 0:
                return
            size = int(bytes(buf[self.chunk_pos:line_end]).split(b";")[0], 16)
            if size == 0:
                if buf.find(b"\r\n", line_end + 2) >= 0:  # trailer section ends with an empty line
                    self._finish()
                return
            if len(buf) < line_end + 2 + size + 2:
                return
            self.chunk_pos = line_end + 2 + size + 2

    def _finish(self):
        self.finished = True
        self.on_done(self, self.status, self.saw_event)

    def connection_lost(self, exc):
        if not self.finished:
            self.finished = True
            self.on_done(self, 0, self.saw_event)
        if not self.closed.done():
            self.closed.set_result(None)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


async def ttfb(args):
    loop = asyncio.get_running_loop()
    host, port, request = build_request(args.url, args.model, args.key,
                                        ("Write one short sentence about gateways. " + (args.directive or "")).strip())
    samples, errors = [], 0
    deadline = time.monotonic() + args.seconds

    async def worker():
        nonlocal errors
        done = None

        def first(ex, ns):
            samples.append(ns)

        def finished(ex, status, saw_event):
            nonlocal errors
            if not (200 <= status < 300 and saw_event):
                errors += 1
            if not done.done():
                done.set_result(status)

        while time.monotonic() < deadline:
            transport, ex = await loop.create_connection(lambda: Exchange(request, first, finished), host, port)
            while time.monotonic() < deadline and not transport.is_closing():
                done = loop.create_future()
                ex.send()
                status = await done
                if status == 0:
                    break
            transport.close()

    await asyncio.gather(*(worker() for _ in range(args.conns)))
    samples.sort()
    print("TTFB requests=%d p50_us=%d p90_us=%d p99_us=%d errors=%d" % (
        len(samples), percentile(samples, 50) // 1000, percentile(samples, 90) // 1000,
        percentile(samples, 99) // 1000, errors))


async def hold(args):
    loop = asyncio.get_running_loop()
    host, port, request = build_request(args.url, args.model, args.key,
                                        "Write one short sentence about gateways. " + (args.directive or "#fake chunks=40 delay_ms=250"))
    state = {"open": 0, "max": 0, "completed": 0, "errors": 0, "first": 0}
    all_done = loop.create_future()

    def first(ex, ns):
        state["first"] += 1
        state["open"] += 1
        state["max"] = max(state["max"], state["open"])

    def finished(ex, status, saw_event):
        if saw_event:
            state["open"] -= 1
        if 200 <= status < 300 and saw_event:
            state["completed"] += 1
        else:
            state["errors"] += 1
        if ex is not None:
            ex.transport.close()
        if state["completed"] + state["errors"] == args.conns and not all_done.done():
            all_done.set_result(None)

    async def open_one():
        for attempt in range(5):
            try:
                transport, ex = await loop.create_connection(lambda: Exchange(request, first, finished), host, port)
                ex.send()
                return
            except OSError:
                await asyncio.sleep(0.2)
        finished(None, 0, False)  # could not connect

    # Open in batches so the listen backlog never overflows.
    for start in range(0, args.conns, 100):
        await asyncio.gather(*(open_one() for _ in range(start, min(args.conns, start + 100))))
        await asyncio.sleep(0.05)
    try:
        await asyncio.wait_for(all_done, timeout=args.timeout)
    except asyncio.TimeoutError:
        state["errors"] += args.conns - state["completed"] - state["errors"]
    print("HOLD conns=%d completed=%d errors=%d max_concurrent=%d all_open_at_once=%s" % (
        args.conns, state["completed"], state["errors"], state["max"],
        "yes" if state["max"] >= args.conns else "no"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["ttfb", "hold"])
    parser.add_argument("url")
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--model", default="openai/gpt-5.6-luna")
    parser.add_argument("--key", default="none")
    parser.add_argument("--directive", default=None,
                        help="text appended to the user message (hold: default '#fake chunks=40 delay_ms=250'; ttfb: none)")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    asyncio.run(ttfb(args) if args.mode == "ttfb" else hold(args))


if __name__ == "__main__":
    sys.exit(main())
