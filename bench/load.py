"""Load test of the HTTP service: starts ``guichet serve`` on a free loopback port, drives it from
this process with keep-alive connections for a bounded time and count, prints requests/s, latency
percentiles and errors, then stops the server.

    python bench/load.py                       # 10 s, 8 connections, POST /v1/decisions
    python bench/load.py --duration 30 --connections 16 --decision-log /tmp/decisions.jsonl
    python bench/load.py --hostile 2 --hostile-kind signers   # while 2 connections send bad 1 MiB bodies

The requests are varied, valid applications (``bench/generate.py``), sent as compact JSON. Latency is
measured from the first byte sent to the last byte of the response read. Only 127.0.0.1 is used.
Goal on a 2-core machine: ≥ 1,000 decisions/s, p99 ≤ 20 ms, no error (``--check`` exits 1 otherwise).

With ``--hostile N``, N more connections send bodies of about 1 MiB that are not valid applications,
one after the other, and each must be refused (422); the latencies are those of the small, valid
requests, whose goal is then p99 ≤ 50 ms. ``--hostile-kind lines``: 28,000 bad expense lines (beyond
the cap of lines); ``signers``: 200 documents of 1,000 bad signatories each (within the caps, every
problem found by the detailed validation: seconds of work per body).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO

from generate import applications, installed

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
GOAL_RATE = 1000.0
GOAL_P99_MS = 20.0
GOAL_HOSTILE_P99_MS = 50.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, extra: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "evaluator.cli", "serve", "--host", HOST, "--port", str(port), *extra]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)  # the installed guichet


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"le serveur s'est arrêté au démarrage (code {server.returncode})")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("le serveur n'est pas prêt après 30 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def requests(count: int, path: str) -> list[bytes]:
    """``count`` distinct HTTP/1.1 requests, ready to send."""
    built = []
    for application in applications(count):
        body = json.dumps(application, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        built.append(head + body)
    return built


async def connection(port: int, payloads: list[bytes], offset: int, stop_at: float, budget: list[int],
                     latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    index = offset
    try:
        while budget[0] > 0 and time.perf_counter() < stop_at:
            budget[0] -= 1
            payload = payloads[index % len(payloads)]
            index += 1
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(f"HTTP {status}")
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        errors.append(type(error).__name__)
    finally:
        writer.close()


def hostile_request(kind: str) -> bytes:
    """An HTTP request whose body, of about 1 MiB, is an application with many bad items."""
    application = next(applications(1))
    if kind == "lines":
        application["expenses"] = [{"kind": "xx", "amount": "a"}] * 28_000
    else:
        application["documents"] = [{"kind": "zz", "signed_by": ["1"] * 1000}] * 200
    body = json.dumps(application, separators=(",", ":")).encode("utf-8")
    head = (f"POST /v1/decisions HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
    return head + body


async def drive(port: int, payloads: list[bytes], connections: int, duration: float, max_requests: int,
                hostile: int = 0, hostile_payload: bytes = b"") -> tuple[list[float], list[str], float, list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    refused: list[str] = []
    budget = [max_requests]
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(*(connection(port, payloads, i * 37, stop_at, budget, latencies, errors)
                           for i in range(connections)),
                         *(connection(port, [hostile_payload], 0, stop_at, [max_requests], [], refused)
                           for _ in range(hostile)))
    return latencies, errors, time.perf_counter() - started, refused


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="secondes de mesure (défaut 10)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="plafond de requêtes (défaut 200 000)")
    parser.add_argument("--connections", type=int, default=8, help="connexions simultanées (défaut 8)")
    parser.add_argument("--warmup", type=int, default=500, help="requêtes d'échauffement, non mesurées")
    parser.add_argument("--decision-log", default=None, help="faire tenir au serveur un journal des décisions")
    parser.add_argument("--log-inputs", action="store_true", help="avec les demandes (--log-inputs du serveur)")
    parser.add_argument("--hostile", type=int, default=0, help="connexions de plus qui envoient de mauvais corps "
                                                                   "d'environ 1 Mio (défaut 0)")
    parser.add_argument("--hostile-kind", choices=["lines", "signers"], default="lines",
                        help="28 000 lignes invalides (lines, défaut) ou 200 pièces de 1 000 signataires invalides")
    parser.add_argument("--check", action="store_true", help="code 1 si l'objectif n'est pas atteint")
    args = parser.parse_args()
    if (not 0 < args.duration <= 300 or not 0 < args.max_requests <= 5_000_000 or not 0 < args.connections <= 256
            or not 0 <= args.hostile <= 64):
        raise SystemExit("bornes : durée ≤ 300 s, requêtes ≤ 5 000 000, connexions ≤ 256, hostiles ≤ 64")

    port = free_port()
    extra = []
    if args.decision_log:
        extra += ["--decision-log", args.decision_log] + (["--log-inputs"] if args.log_inputs else [])
    payloads = requests(500, "/v1/decisions")
    with tempfile.TemporaryFile() as log:
        server = start_server(port, extra, log)
        try:
            wait_ready(port, server)
            asyncio.run(drive(port, payloads, args.connections, 30.0, args.warmup))
            latencies, errors, elapsed, refused = asyncio.run(drive(
                port, payloads, args.connections, args.duration, args.max_requests, args.hostile,
                hostile_request(args.hostile_kind) if args.hostile else b""))
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode("utf-8", "replace"))
            raise
        finally:
            stop_server(server)
    count = len(latencies)
    rate = count / elapsed if elapsed > 0 else 0.0
    p50, p90, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.90, 0.99))
    print(installed())
    print(f"machine : {os.cpu_count()} cœurs ; {args.connections} connexions ; {elapsed:.1f} s")
    print(f"requêtes : {count} ; erreurs : {len(errors)}" + (f" ({', '.join(sorted(set(errors))[:5])})"
                                                              if errors else ""))
    print(f"débit : {rate:,.0f} décisions/s".replace(",", " "))
    worst = max(latencies, default=0.0) * 1000
    print(f"latence : p50 {p50:.2f} ms ; p90 {p90:.2f} ms ; p99 {p99:.2f} ms ; max {worst:.2f} ms")
    if args.hostile:
        wrong = sorted({status for status in refused if status != "HTTP 422"})
        unexpected = f" ; réponses inattendues : {', '.join(wrong)}" if wrong else ""
        print(f"corps hostiles ({args.hostile_kind}) : {len(refused)} refusés{unexpected}")
        met = p99 <= GOAL_HOSTILE_P99_MS and not errors and not wrong
        print(f"objectif sous attaque (p99 ≤ {GOAL_HOSTILE_P99_MS:.0f} ms, aucune erreur) : "
              + ("atteint" if met else "NON atteint"))
    else:
        met = rate >= GOAL_RATE and p99 <= GOAL_P99_MS and not errors
        print(f"objectif (≥ {GOAL_RATE:.0f}/s, p99 ≤ {GOAL_P99_MS:.0f} ms, aucune erreur) : "
              + ("atteint" if met else "NON atteint"))
    if args.check and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
