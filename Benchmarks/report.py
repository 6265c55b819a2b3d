#!/usr/bin/env python3
"""Turns the raw files of one Benchmarks/run.sh run into the markdown report (stdlib only).

  report.py WORKDIR [--write docs/PERFORMANCE.md]

Reads WORKDIR/results.tsv, ttfb.tsv, hold.tsv, ledger.txt and meta.tsv (written by run.sh), prints the
report, and with --write replaces what is between `<!-- bench:begin -->` and `<!-- bench:end -->` in the
given file (adding the markers at its end if they are missing).
"""
import argparse
import os
import re
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
ORDER = ["direct", "bare", "free", "credits", "byok", "litellm"]
KEYGATE = ["free", "credits", "byok"]


def read_tsv(path, names):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    rows.append(dict(zip(names, line.rstrip("\n").split("\t"))))
    return rows


def ms(us):
    return us / 1000.0


def fmt(value, digits=2):
    return "–" if value is None else f"{value:,.{digits}f}"


def load(work):
    meta = {}
    for row in read_tsv(os.path.join(work, "meta.tsv"), ["key", "value"]):
        meta[row["key"]] = row.get("value", "")
    tck = int(meta.get("clk_tck", "100"))
    runs = {}
    for r in read_tsv(os.path.join(work, "results.tsv"),
                      ["variant", "mode", "conns", "rps", "p50", "p90", "p99", "errors", "requests", "ticks", "hwm", "written"]):
        requests = int(r["requests"])
        runs[(r["variant"], r["mode"], int(r["conns"]))] = {
            "rps": float(r["rps"]), "p50": ms(int(r["p50"])), "p90": ms(int(r["p90"])), "p99": ms(int(r["p99"])),
            "errors": int(r["errors"]), "requests": requests,
            "cpu_per_1k": (int(r["ticks"]) / tck) / requests * 1000 if requests else None,
            "rss_mib": int(r["hwm"]) / 1024,
            # Older result files have no write column.
            "written_kib": int(r["written"]) / 1024 / requests if r.get("written") and requests else None,
        }
    for (variant, mode, conns), run in runs.items():
        direct = runs.get(("direct", mode, conns))
        run["added"] = None if direct is None or variant == "direct" else run["p50"] - direct["p50"]
    ttfb = {r["variant"]: {k: int(v) for k, v in r.items() if k != "variant"}
            for r in read_tsv(os.path.join(work, "ttfb.tsv"), ["variant", "requests", "p50", "p90", "p99", "errors"])}
    paced = {r["variant"]: {k: int(v) for k, v in r.items() if k != "variant"}
             for r in read_tsv(os.path.join(work, "paced.tsv"), ["variant", "requests", "p50", "p90", "p99", "errors"])}
    hold = {r["variant"]: {k: int(v) for k, v in r.items() if k != "variant"}
            for r in read_tsv(os.path.join(work, "hold.tsv"),
                              ["variant", "streams", "completed", "errors", "max_concurrent", "max_established", "hwm", "max_rss"])}
    ledger = []
    path = os.path.join(work, "ledger.txt")
    if os.path.exists(path):
        for line in open(path):
            rate = re.search(r"([0-9][0-9,.]*)\s+(?:[\w+]+\s+)?pairs/s", line)
            conc = re.search(r"concurrency\s*(\d+)", line)
            if rate:
                setting = line[:conc.start()].strip() if conc else ""  # e.g. "sync=full" when the bench prints one
                ledger.append((setting, int(conc.group(1)) if conc else None, float(rate.group(1).replace(",", "")), line.strip()))
    return meta, runs, ttfb, paced, hold, ledger


def label(variant, meta):
    if variant == "direct":
        return "direct (nginx)"
    if variant == "litellm":
        workers = meta.get("litellm_workers", "?")
        return f"LiteLLM {meta.get('litellm_version', '')} ({workers} worker{'s' if workers != '1' else ''})"
    if variant == "bare":
        return "bare forwarder"
    return f"Keygate {variant}"


def table(meta, runs):
    lines = ["| variant | mode | conns | req/s | p50 ms | p90 ms | p99 ms | added p50 ms | CPU-s/1k req | written KiB/req | peak RSS MiB | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode in ["json", "stream"]:
        for conns in sorted({c for (_, m, c) in runs if m == mode}):
            for variant in ORDER:
                run = runs.get((variant, mode, conns))
                if run is None:
                    continue
                added = "–" if run["added"] is None else f"{run['added']:+.2f}"
                lines.append(f"| {label(variant, meta)} | {mode} | {conns} | {run['rps']:,.0f} | {run['p50']:.2f} | {run['p90']:.2f} | "
                             f"{run['p99']:.2f} | {added} | {fmt(run['cpu_per_1k'], 3)} | {fmt(run['written_kib'], 1)} | {run['rss_mib']:.1f} | {run['errors']:,} |")
    return lines


def targets(runs, ttfb, paced, hold, ledger):
    out = []

    def verdict(name, checks):
        """checks: list of (text, ok or None when not measured)."""
        measured = [c for c in checks if c[1] is not None]
        if not measured:
            out.append(f"- {name}: n/a (not measured in this run)")
            return
        ok = all(c[1] for c in measured) and len(measured) == len(checks)
        details = "; ".join(text for text, _ in checks)
        out.append(f"- {'PASS' if ok else 'FAIL'} {name}: {details}")

    modes_conns = sorted({(m, c) for (_, m, c) in runs})

    # (a) credits req/s >= 10x LiteLLM's, JSON, per connection count
    checks = []
    for mode, conns in modes_conns:
        if mode != "json":
            continue
        credits, lite = runs.get(("credits", mode, conns)), runs.get(("litellm", mode, conns))
        if credits and lite:
            ratio = credits["rps"] / lite["rps"] if lite["rps"] else float("inf")
            checks.append((f"c={conns} {credits['rps']:,.0f} vs {lite['rps']:,.0f} = {ratio:.1f}×", ratio >= 10))
        else:
            checks.append((f"c={conns} not measured", None))
    verdict("(a) credits req/s ≥ 10× LiteLLM's (JSON)", checks)

    def compare(variant, key, factor, unit, name):
        checks = []
        for mode, conns in modes_conns:
            mine, bare = runs.get((variant, mode, conns)), runs.get(("bare", mode, conns))
            if not mine or not bare or mine.get(key) is None or bare.get(key) is None:
                continue
            limit = factor * bare[key]
            checks.append((f"{mode} c={conns} {mine[key]:.3f} vs {bare[key]:.3f}{unit} (≤ {limit:.3f})", mine[key] <= limit))
        verdict(name, checks or [("not measured", None)])

    compare("credits", "added", 1.5, " ms", "(b) credits added p50 ≤ 1.5× bare's")
    compare("credits", "cpu_per_1k", 1.5, " CPU-s/1k", "(c) credits CPU/req ≤ 1.5× bare's")
    for variant in ["free", "byok"]:
        compare(variant, "added", 1.2, " ms", f"(d) {variant} added p50 ≤ 1.2× bare's")
        compare(variant, "cpu_per_1k", 1.2, " CPU-s/1k", f"(d) {variant} CPU/req ≤ 1.2× bare's")

    # (e) streaming TTFB added at 16 connections <= 1 ms (Keygate's variants; bare and LiteLLM for reference).
    # Judged on 16 open streams paced like a model's; the saturated measurement (back-to-back static streams,
    # mostly queueing) is shown beside it.
    checks = []
    base = paced.get("direct")
    for variant in KEYGATE:
        if variant in paced and base:
            added = ms(paced[variant]["p50"] - base["p50"])
            checks.append((f"{variant} {added:+.2f} ms", added <= 1.0))
    reference = [f"bare {ms(paced['bare']['p50'] - base['p50']):+.2f} ms"] if "bare" in paced and base else []
    sat = ttfb.get("direct")
    saturated = [f"{v} {ms(ttfb[v]['p50'] - sat['p50']):+.2f} ms" for v in ORDER if v in ttfb and sat and v != "direct"]
    name = "(e) streaming TTFB p50 added over direct ≤ 1 ms at 16 paced streams"
    if reference:
        name += f" (for reference: {', '.join(reference)})"
    if saturated:
        name += f"; at 16 saturating connections, for reference: {', '.join(saturated)}"
    verdict(name, checks or [("not measured", None)])

    # (f) 1,000 concurrent slow streams through Keygate (credits) <= 256 MiB peak RSS
    h = hold.get("credits")
    if h:
        all_open = h["max_concurrent"] >= h["streams"] and h["errors"] == 0
        mib = h["hwm"] / 1024
        text = (f"peak VmHWM {mib:.1f} MiB with {h['max_concurrent']:,} of {h['streams']:,} streams open at once "
                f"({h['max_established']:,} established connections by ss, {h['errors']} errors)")
        if "bare" in hold:
            text += f"; bare forwarder {hold['bare']['hwm'] / 1024:.1f} MiB"
        verdict("(f) 1,000 concurrent streams ≤ 256 MiB RSS", [(text, mib <= 256 and all_open)])
    else:
        verdict("(f) 1,000 concurrent streams ≤ 256 MiB RSS", [("not measured", None)])

    # (g) ledger >= 10,000 reserve+settle pairs/s: its best concurrency level (per setting, if it prints several)
    checks = []
    for setting in dict.fromkeys(s for s, _, _, _ in ledger):
        rows = [(c, rate) for s, c, rate, _ in ledger if s == setting]
        best = max(rate for _, rate in rows)
        checks.append(((f"{setting}: " if setting else "") + ", ".join(f"c={c} {rate:,.0f}" for c, rate in rows)
                       + f" (best {best:,.0f})", best >= 10000))
    verdict("(g) ledger ≥ 10,000 pairs/s (best concurrency)", checks or [("not measured", None)])
    return out


def machine(meta):
    mem = int(meta.get("memtotal_kb", "0")) / 1024 / 1024
    return (f"{meta.get('nproc', '?')} cores ({meta.get('cpu', '?')}), {mem:.1f} GiB, Linux {meta.get('kernel', '?')}, "
            f"{meta.get('swift', 'Swift ?')}, {meta.get('wrk', 'wrk')}")


def ttfb_table(rows, meta, caption, direct_label=None):
    lines = [caption, "", "| variant | requests | p50 ms | p90 ms | p99 ms | added p50 ms | errors |", "|---|---:|---:|---:|---:|---:|---:|"]
    base = rows.get("direct")
    for variant in ORDER:
        t = rows.get(variant)
        if t:
            added = "–" if variant == "direct" or not base else f"{ms(t['p50'] - base['p50']):+.2f}"
            name = direct_label if variant == "direct" and direct_label else label(variant, meta)
            lines.append(f"| {name} | {t['requests']:,} | {ms(t['p50']):.2f} | {ms(t['p90']):.2f} | {ms(t['p99']):.2f} | {added} | {t['errors']} |")
    return lines + [""]


def report(meta, runs, ttfb, paced, hold, ledger):
    lines = ["## Benchmark suite: latest run", "",
             "Written by `Benchmarks/run.sh [seconds per run]` (everything on 127.0.0.1 of one machine). The upstream is nginx "
             "answering a fixed chat completion (JSON, or an SSE stream of 7 events); **direct** is wrk against nginx itself, "
             "**bare forwarder** is `keygate-bare-forwarder` (Hummingbird 2 + AsyncHTTPClient forwarding the bytes: no auth, "
             "no database, no JSON), the three **Keygate** rows are `keygate serve` on its free, credits and BYOK paths "
             "(checked with `x-keygate-billing` before measuring), and **LiteLLM** is its proxy without database or master key. "
             "wrk body: `Benchmarks/chat.lua`.", "",
             f"Run of `Benchmarks/run.sh {meta.get('duration', '?')}` on {meta.get('date', '?')} (commit {meta.get('commit', '?')}).",
             f"Machine: {machine(meta)}.", ""]
    if "litellm_workers" in meta:
        trials = ", ".join(f"{k.split('_')[2][1:]} worker(s) {v} req/s" for k, v in meta.items() if k.startswith("litellm_trial_"))
        lines += [f"LiteLLM {meta.get('litellm_version', '?')} ran with {meta['litellm_workers']} worker(s), the faster of 1 and 2 "
                  f"(JSON, 16 connections: {trials}).", ""]
    lines += table(meta, runs)
    lines += ["", "Added p50 is over direct at the same mode and connections. CPU is the gateway's own (for direct: nginx's; "
              "for LiteLLM: all its processes), utime+stime over the wrk run; written KiB/req is what the server's processes wrote to "
              "files during the run (`write_bytes` of /proc/<pid>/io: its log, its database and WAL), per request; peak RSS is VmHWM "
              "(summed over LiteLLM's processes) after the run; the process is restarted for each variant and mode.", ""]
    if ttfb:
        lines += ttfb_table(ttfb, meta, "Streaming time to first `data:` event, 16 connections (`Benchmarks/ttfb.py`: from writing "
                            "the request to reading the first `data:` bytes; each connection sends its next request when the stream ends, "
                            "so at 16 busy connections this includes queueing, and the Python client shares the cores; nginx sends its "
                            "whole stream in one write):")
    if paced:
        lines += ttfb_table(paced, meta, "Streaming time to first `data:` event with 16 streams paced like a model's "
                            "(`keygate-fake-upstream`: 10 events 20 ms apart, so the connections are open but not saturating; "
                            "direct is the fake itself):", direct_label="direct (fake)")
    if hold:
        lines += ["1,000 concurrent slow streams (keygate-fake-upstream, 40 chunks 250 ms apart):", "",
                  "| variant | streams open at once | established (ss) | completed | errors | peak RSS MiB |", "|---|---:|---:|---:|---:|---:|"]
        for variant in ["credits", "bare"]:
            h = hold.get(variant)
            if h:
                lines.append(f"| {label(variant, meta)} | {h['max_concurrent']:,} | {h['max_established']:,} | {h['completed']:,} | "
                             f"{h['errors']} | {h['hwm'] / 1024:.1f} |")
        lines.append("")
    if ledger:
        lines += ["Ledger (`keygate-ledger-bench 20000`):", "", "```"] + [text for _, _, _, text in ledger] + ["```", ""]
    if "ledger_verify" in meta:
        lines += [f"`keygate ledger verify` after the run: {meta['ledger_verify']}", ""]
    lines += ["Targets:", ""] + targets(runs, ttfb, paced, hold, ledger)
    return "\n".join(lines) + "\n"


def write(path, text):
    doc = open(path).read() if os.path.exists(path) else ""
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in doc and END in doc and doc.index(BEGIN) < doc.index(END):
        doc = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(doc)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work")
    parser.add_argument("--write")
    args = parser.parse_args()
    text = report(*load(args.work))
    sys.stdout.write(text)
    if args.write:
        write(args.write, text)
        print(f"\n(written between the bench markers of {args.write})", file=sys.stderr)


if __name__ == "__main__":
    main()
