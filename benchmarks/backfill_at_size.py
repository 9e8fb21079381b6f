"""Backfills at full size on the local stack (`make run`), driven from outside as an operator would:
the `sevbridge backfill` CLI, the platform API and the sandbox's admin API — never the stack's internals.

    .venv/bin/python -m benchmarks.backfill_at_size                       # 10 000 push, 5 000 pull
    .venv/bin/python -m benchmarks.backfill_at_size --push 2000 --pull 1000
    .venv/bin/python -m benchmarks.backfill_at_size --state .local/stack.json   # a `make run` already up

Without --state it starts its own local stack (free ports, a temporary state directory) and stops it at
the end. The sandbox answers at once (0 ms). What it does and checks:

push  an NDJSON history of N invoices (20 customers, a few invalid lines, a few with a unit sevDesk does
      not know) → `backfill start --file` → cancel at ~15 % → nothing more is created while cancelled →
      `resume` → `watch` (progress bar) → `completed_with_failures` → unit mapping fixed → `retry-failed`
      → `watch` → `completed`. Meanwhile live events of the same tenant are posted and their latency
      (202 → transferred) measured. Checks: invoices in sevDesk = distinct source ids sent (valid lines +
      live events), 0 duplicates, every invoice in status "sent" (200), invalid lines reported with field.
pull  M invoices generated (backdated) in a fresh sevDesk account → `backfill start --pull` → at ~40 %
      sevDesk answers 503 to 4 invoice page requests in a row (the import run's invocation fails and is retried
      later) → the run goes on from its checkpoint → `watch` → `completed`. Checks: the change feed has
      each invoice exactly once; pages re-read after the failure.

Prints the figures as a table and, with --json, as JSON; exit 1 if a check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 20
INVALID_LINES = (7, 1234, 4321)  # line numbers (1-based) written invalid; those beyond N are left out
# Every 2000th invoice (and two more) uses a unit sevDesk does not know: it fails until the unit is mapped.
REFUSED_EVERY = 2000
LIVE_EVERY_SECONDS = 5.0


@dataclass
class Figures:
    checks: dict[str, bool] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: Any = "") -> None:
        self.checks[name] = ok
        print(f"  {'ok ' if ok else 'FAIL'} {name} {detail}", flush=True)


# --- the history ---------------------------------------------------------------------------------------
def invoice(n: int, *, unit: str = "Stk", prefix: str = "inv") -> dict[str, Any]:
    c = n % CUSTOMERS
    return {
        "source_id": f"{prefix}-{n}",
        "number": f"{prefix.upper()}-{n:06d}",
        "status": "sent",
        "invoice_date": "2024-03-01",
        "customer": {
            "source_id": f"cust-{c}",
            "company_name": f"Kunde {c} GmbH",
            "customer_number": f"K-{c:04d}",
            "billing_address": {"street": "Musterstraße 1", "zip": "10115", "city": "Berlin", "country": "DE"},
        },
        "positions": [{"name": "Training", "quantity": "1", "unit": unit, "unit_price": "40.00", "tax_rate": "19"}],
    }


def write_history(path: Path, count: int) -> tuple[set[str], set[str]]:
    """The file; returns (valid source ids, those sevDesk refuses until the unit is mapped)."""
    valid: set[str] = set()
    refused: set[str] = set()
    refuse = set(range(REFUSED_EVERY, count + 1, REFUSED_EVERY)) | {max(1, count // 3), max(1, 2 * count // 3)}
    with path.open("wb") as f:
        for n in range(1, count + 1):
            if n in INVALID_LINES:
                bad = {1: b"{not json", 2: b'{"occurred_at": "2024-03-02T10:00:00+00:00"}'}.get(INVALID_LINES.index(n))
                if bad is None:
                    line = {"occurred_at": "2024-03-02T10:00:00+00:00", "data": invoice(n)}
                    line["data"]["positions"][0]["quantity"] = "lots"  # type: ignore[index]
                    bad = json.dumps(line).encode()
                f.write(bad + b"\n")
                continue
            unit = "Palette" if n in refuse else "Stk"
            f.write(json.dumps({"occurred_at": "2024-03-02T10:00:00+00:00", "data": invoice(n, unit=unit)}).encode())
            f.write(b"\n")
            valid.add(f"inv-{n}")
            if unit == "Palette":
                refused.add(f"inv-{n}")
    return valid, refused


# --- talking to the stack --------------------------------------------------------------------------------
class Stack:
    def __init__(self, facts: dict[str, Any], state_file: Path) -> None:
        self.facts, self.state_file = facts, state_file
        headers = {"Authorization": f"Bearer {facts['platform_api_key']}"}
        self.api = httpx.Client(base_url=facts["api_url"], headers=headers, timeout=120)
        self.admin = httpx.Client(base_url=facts["sevdesk_sandbox_admin_url"], timeout=120)

    def tenant(self, name: str) -> tuple[str, str]:
        account = self.admin.post("/accounts", json={"name": f"{name} GmbH"}).raise_for_status().json()
        tenant = f"{name}-{uuid.uuid4().hex[:6]}"
        self.api.put(f"/v1/tenants/{tenant}/connection", json={"sevdesk_token": account["token"]}).raise_for_status()
        return tenant, str(account["account_id"])

    def cli(self, *args: str, show: bool = False, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
        """`sevbridge backfill …` against this stack (its state file); `show` lets the progress bar through."""
        env = {k: v for k, v in os.environ.items() if not k.endswith("_TABLE")}
        env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("cli", "layers/sevbridge", "local", "."))
        command = [sys.executable, "-m", "sevbridge_cli.main", "backfill", *args, "--state", str(self.state_file)]
        return subprocess.run(
            command, stdout=subprocess.PIPE, stderr=None if show else subprocess.PIPE, text=True, env=env,
            timeout=timeout, check=False,
        )  # fmt: skip

    def job(self, tenant: str, backfill_id: str) -> dict[str, Any]:
        return dict(self.api.get(f"/v1/tenants/{tenant}/backfills/{backfill_id}").raise_for_status().json())

    def invoices(self, account_id: str) -> list[dict[str, Any]]:
        return list(self.admin.get(f"/accounts/{account_id}/objects/Invoice").raise_for_status().json())

    def requests(self, account_id: str) -> list[dict[str, Any]]:
        return list(self.admin.get("/requests", params={"account_id": account_id}).raise_for_status().json())


def _started(result: subprocess.CompletedProcess[str]) -> str:
    if result.returncode != 0:
        raise SystemExit(f"backfill start failed ({result.returncode}): {result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def _wait(stack: Stack, tenant: str, backfill_id: str, until: Any, timeout: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not until(job := stack.job(tenant, backfill_id)):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {backfill_id}: {job}")
        time.sleep(1)
    return job


def _backfilled(stack: Stack, account_id: str) -> int:
    """Invoices of the backfill in sevDesk (live events' invoices are numbered LIVE-…)."""
    return sum(1 for r in stack.invoices(account_id) if str(r.get("invoiceNumber", "")).startswith("INV-"))


def _settled_count(stack: Stack, account_id: str, quiet: float = 6.0) -> int:
    """The backfill's invoices once their number stopped moving for `quiet` seconds (in-flight work done)."""
    last, since = -1, time.monotonic()
    while True:
        now = _backfilled(stack, account_id)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
        time.sleep(1)


class LiveTraffic(threading.Thread):
    """Posts one live invoice event of the backfill's tenant every few seconds and measures 202 →
    transferred (the I6 lookup, read by key) while the backfill runs."""

    def __init__(self, stack: Stack, tenant: str) -> None:
        super().__init__(daemon=True)
        self.stack, self.tenant = stack, tenant
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.sent: list[str] = []
        self.lookup_errors = 0

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            source_id = f"live-{n}"
            event = {
                "id": f"evt-live-{uuid.uuid4().hex}",
                "type": "invoice.transfer_requested",
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": invoice(n, prefix="live"),
            }
            posted = time.monotonic()
            answer = self.stack.api.post(f"/v1/tenants/{self.tenant}/events", json=event)
            if answer.status_code != 202:
                print(f"  live event refused: {answer.status_code} {answer.text[:200]}", flush=True)
                continue
            self.sent.append(source_id)
            while not self.stop.is_set() and time.monotonic() - posted < 300:
                answer = self.stack.api.post(
                    f"/v1/tenants/{self.tenant}/transfers/lookup",
                    json={"documents": [{"kind": "invoice", "source_id": source_id}]},
                )
                if answer.status_code != 200:  # e.g. the gateway's 502 on an overloaded machine: look again
                    self.lookup_errors += 1
                    time.sleep(0.5)
                    continue
                if answer.json()["documents"][0]["status"] in ("transferred", "failed"):
                    self.latencies.append(time.monotonic() - posted)
                    break
                time.sleep(0.2)
            self.stop.wait(max(0.0, LIVE_EVERY_SECONDS - (time.monotonic() - posted)))


# --- push ------------------------------------------------------------------------------------------------
def push(stack: Stack, count: int, work: Path, figures: Figures) -> None:
    print(f"push backfill of {count} invoices", flush=True)
    tenant, account_id = stack.tenant("size-push")
    history = work / "history.ndjson"
    valid, refused = write_history(history, count)
    invalid = len([n for n in INVALID_LINES if n <= count])
    tested = len(stack.requests(account_id))  # the connection test's requests: not the backfill's

    live = LiveTraffic(stack, tenant)
    started = time.monotonic()
    backfill_id = _started(stack.cli("start", "-t", tenant, "--file", str(history)))
    live.start()
    print(f"  started {backfill_id} ({time.monotonic() - started:.1f} s to upload and start)", flush=True)

    # Cancel at ~15 %, check that nothing more is created while cancelled, resume.
    cancel_at = max(1, count * 15 // 100)
    progress: list[tuple[float, int]] = []

    def record(job: dict[str, Any]) -> bool:
        progress.append((time.monotonic() - started, job["counters"]["done"]))
        return bool(job["processed"] >= cancel_at or job["state"] != "running")

    _wait(stack, tenant, backfill_id, record)
    assert stack.cli("cancel", "-t", tenant, backfill_id).returncode == 0
    paused_at = time.monotonic()
    at_cancel = _settled_count(stack, account_id)
    time.sleep(10)
    still = _backfilled(stack, account_id)
    figures.check(
        "cancel: nothing of the backfill starts after it",
        still == at_cancel,
        f"({at_cancel} of its invoices in sevDesk once in-flight work finished, {still} 10 s later)",
    )
    paused = time.monotonic() - paused_at
    resumed = stack.cli("resume", "-t", tenant, backfill_id)
    figures.check("resume accepted", resumed.returncode == 0, resumed.stderr.strip()[-200:] if resumed.stderr else "")

    # Progress every 2 s from outside while `watch` draws its bar.
    def sample() -> None:
        while not stopped.is_set():
            with contextlib.suppress(httpx.HTTPError):
                progress.append((time.monotonic() - started, stack.job(tenant, backfill_id)["counters"]["done"]))
                rates = _rates(progress)
                if rates and len(rates) != len(printed):
                    printed.append(rates[-1])
                    print(
                        f"  {progress[-1][1]} done after {progress[-1][0]:.0f} s; docs/s per 1000: {rates}", flush=True
                    )
            stopped.wait(2)

    printed: list[float] = []
    stopped = threading.Event()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    watched = stack.cli("watch", "-t", tenant, backfill_id, "--interval", "2", show=True)
    stopped.set()
    first_pass = time.monotonic() - started - paused
    job = stack.job(tenant, backfill_id)
    figures.check(
        "watch ends with the failures (exit 1, completed_with_failures)",
        watched.returncode == 1 and job.get("outcome") == "completed_with_failures",
        f"(exit {watched.returncode}, {job.get('outcome')}, counters {job['counters']})",
    )
    figures.check(
        "failed = documents with an unknown unit",
        job["counters"]["failed"] == len(refused),
        f"({job['counters']['failed']} failed, {len(refused)} expected)",
    )
    items = stack.api.get(f"/v1/tenants/{tenant}/backfills/{backfill_id}/items", params={"status": "invalid"}).json()
    fields = sorted((i["line"], i.get("field")) for i in items["items"])
    figures.check(
        "invalid lines reported per line with the field",
        len(fields) == invalid and all(line in INVALID_LINES for line, _ in fields),
        f"{fields}",
    )
    live.stop.set()
    live.join(timeout=60)

    # Fix the cause (map the unit), retry the failed ones.
    stack.api.put(
        f"/v1/tenants/{tenant}/connection", json={"settings": {"unit_mapping": {"Palette": "Stk"}}}
    ).raise_for_status()
    retried = stack.cli("retry-failed", "-t", tenant, backfill_id)
    figures.check("retry-failed accepted", retried.returncode == 0, (retried.stderr or "").strip()[-200:])
    watched = stack.cli("watch", "-t", tenant, backfill_id, "--interval", "2", show=True)
    job = stack.job(tenant, backfill_id)
    # Invalid lines stay invalid: the outcome stays completed_with_failures (and `watch` exits 1) with them.
    outcome = "completed_with_failures" if invalid else "completed"
    figures.check(
        "after retry-failed: every valid line done, none failed",
        job.get("outcome") == outcome and job["counters"]["failed"] == 0 and job["counters"]["done"] == len(valid),
        f"(exit {watched.returncode}, {job.get('outcome')}, counters {job['counters']})",
    )

    # What sevDesk holds: each document once, in the status it was sent with.
    rows = stack.invoices(account_id)
    numbers = Counter(str(r.get("invoiceNumber")) for r in rows)
    expected = {f"INV-{int(s.split('-')[1]):06d}" for s in valid} | {
        f"LIVE-{int(s.split('-')[1]):06d}" for s in live.sent
    }
    duplicates = sum(n - 1 for n in numbers.values() if n > 1)
    figures.check("0 duplicates in sevDesk", duplicates == 0, f"({duplicates})")
    figures.check(
        "invoices in sevDesk = distinct source ids sent (valid lines + live events)",
        set(numbers) == expected,
        f"({len(numbers)} in sevDesk, {len(expected)} expected; missing {len(expected - set(numbers))}, "
        f"unexpected {len(set(numbers) - expected)})",
    )
    statuses = Counter(str(r.get("status")) for r in rows)
    figures.check('every invoice "sent" (status 200)', set(statuses) == {"200"}, f"{dict(statuses)}")

    requests = len(stack.requests(account_id)) - tested
    transferred = len(rows)
    rates = _rates(progress)
    latencies = sorted(live.latencies)
    figures.values["push"] = {
        "invoices": count,
        "seconds_first_pass": round(first_pass, 1),
        "docs_per_second": round(job["counters"]["done"] / first_pass, 2),
        "rate_per_1000_done": rates,
        "sevdesk_requests_per_invoice": round(requests / transferred, 2),
        "sevdesk_requests_per_second": round(requests / first_pass, 2),
        "live_events": len(latencies),
        "live_latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "live_latency_max_s": round(latencies[-1], 2) if latencies else None,
        "duplicates": duplicates,
        "counters": job["counters"],
    }


def _rates(progress: list[tuple[float, int]]) -> list[float]:
    """Documents per second over each successive thousand documents done (does it slow down?)."""
    rates, mark_t, mark_n = [], None, 0
    for t, done in sorted(progress):
        if mark_t is None:
            mark_t, mark_n = t, done
        elif done - mark_n >= 1000:
            rates.append(round((done - mark_n) / (t - mark_t), 2))
            mark_t, mark_n = t, done
    return rates


# --- pull ------------------------------------------------------------------------------------------------
def pull(stack: Stack, count: int, figures: Figures) -> None:
    print(f"pull backfill of {count} invoices", flush=True)
    tenant, account_id = stack.tenant("size-pull")
    stack.admin.post(
        f"/accounts/{account_id}/generate",
        json={"contacts": 50, "invoices": count, "backdate": True, "days": 3650, "seed": 9},
    ).raise_for_status()
    # What an invoice import reports (M4): not drafts, not cancellation documents.
    sevdesk_ids = {
        str(r["id"])
        for r in stack.invoices(account_id)
        if r.get("invoiceType") in ("RE", "AR", "TR", "ER") and str(r.get("status")) != "100"
    }
    started = time.monotonic()
    backfill_id = _started(stack.cli("start", "-t", tenant, "--pull", "--kinds", "invoices"))
    import_id = stack.job(tenant, backfill_id).get("import_id")

    def read() -> int:
        run = stack.api.get(f"/v1/tenants/{tenant}/imports/{import_id}").json()
        return int(run.get("counts", {}).get("read", 0))

    # At ~40 % sevDesk answers 503 to the next 4 invoice pages: the invocation fails, the run is retried.
    while read() < count * 40 // 100:
        time.sleep(0.5)
    fault = {"kind": "status", "status": 503, "account_id": account_id, "path_pattern": "^/Invoice", "times": 4}
    stack.admin.post("/faults", json=fault).raise_for_status()
    crashed_at = read()
    watched = stack.cli("watch", "-t", tenant, backfill_id, "--interval", "2", show=True, timeout=3600)
    elapsed = time.monotonic() - started
    job = stack.job(tenant, backfill_id)
    figures.check("pull backfill completed", watched.returncode == 0 and job["state"] == "completed", f"{job}")

    seen: Counter[str] = Counter()
    after: str | None = None
    while True:
        page = stack.api.get(
            f"/v1/tenants/{tenant}/changes",
            params={"kind": "invoices", "limit": 200, **({"after": after} if after else {})},
        ).json()
        seen.update(str(c["sevdesk_id"]) for c in page["items"])
        after = page["next_cursor"]
        if not page["has_more"]:
            break
    doubled = sum(n - 1 for n in seen.values() if n > 1)
    figures.check("change feed: every invoice", set(seen) == sevdesk_ids, f"({len(seen)} of {len(sevdesk_ids)})")
    figures.check("change feed: each exactly once", doubled == 0, f"({doubled} doubled)")
    pages = [
        (r["query"] or {}).get("offset", "0")
        for r in stack.requests(account_id)
        if r["method"] == "GET" and r["path"].startswith("/Invoice") and r["status"] == 200
    ]
    reread = sum(n - 1 for n in Counter(pages).values() if n > 1)
    figures.check(
        "after the failure it went on from its checkpoint (no page read again from the start)",
        reread <= 1,
        f"(failure at {crashed_at} read; {reread} page(s) read twice)",
    )
    figures.values["pull"] = {
        "invoices": count,
        "seconds": round(elapsed, 1),
        "records_per_second": round(count / elapsed, 1),
        "sevdesk_pages": len(pages),
        "pages_read_twice": reread,
        "failed_at_read": crashed_at,
        "feed_doubled": doubled,
    }


# --- main ------------------------------------------------------------------------------------------------
def run(push_count: int, pull_count: int, state: Path | None) -> Figures:
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="sevbridge-backfill-") as tmp:
        work = Path(tmp)
        process = None
        if state is None:
            sys.path[:0] = [str(ROOT)]
            from tests.support.local_stack_process import interrupt, stack_environment, start, wait_until_up

            log = work / "local-stack.log"
            env = stack_environment(work, SEVBRIDGE_LOG_LEVEL="WARNING")
            process = start(work, log, env)
            state = work / "stack.json"
            facts = wait_until_up(process, state, 120, lambda: log.read_text()[-3000:])
        else:
            facts = json.loads(state.read_text())
        stack = Stack(facts, state)
        admin_latency = stack.admin.get("/faults").json()
        if any(f.get("kind") == "latency" for f in admin_latency):
            print("  note: the sandbox has latency faults; figures are not at 0 ms", flush=True)
        try:
            if pull_count:  # first: it is the shorter one
                pull(stack, pull_count, figures)
            if push_count:
                push(stack, push_count, work, figures)
        finally:
            if process is not None:
                interrupt(process, 60)
    figures.values["load_average"] = round(os.getloadavg()[0], 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--push", type=int, default=10_000, help="invoices in the push backfill (0: skip)")
    parser.add_argument("--pull", type=int, default=5_000, help="invoices in the pull backfill (0: skip)")
    parser.add_argument("--state", type=Path, help="a running local stack's stack.json (default: start one)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    figures = run(args.push, args.pull, args.state)
    print(json.dumps(figures.values, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"values": figures.values, "checks": figures.checks}, indent=2))
    failed = [name for name, ok in figures.checks.items() if not ok]
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())


def bench() -> list[Any]:
    """Rows for `make bench`: the same runs at a size that keeps `make bench` in minutes
    (BACKFILL_AT_SIZE_PUSH / BACKFILL_AT_SIZE_PULL; 10 000 / 5 000 is the full size, see docs/backfills.md)."""
    from benchmarks.run import Result

    push_count = int(os.environ.get("BACKFILL_AT_SIZE_PUSH", "1000"))
    pull_count = int(os.environ.get("BACKFILL_AT_SIZE_PULL", "2000"))
    figures = run(push_count, pull_count, None)
    p, q = figures.values.get("push", {}), figures.values.get("pull", {})
    failed = [name for name, ok in figures.checks.items() if not ok]
    rows = [
        Result(
            f"push backfill of {push_count} invoices on the local stack via the CLI (cancel, resume, "
            "retry-failed, live events alongside): documents/s",
            float(p.get("docs_per_second", 0.0)),
            "docs/s",
            "informational (one tenant, sandbox at 0 ms, CPU-bound here)",
            True,
            f"{p.get('seconds_first_pass')} s; {p.get('sevdesk_requests_per_invoice')} sevDesk requests per "
            f"invoice, {p.get('sevdesk_requests_per_second')} req/s; "
            f"docs/s per 1000 done: {p.get('rate_per_1000_done')}",
        ),
        Result(
            "  … live events of the same tenant during that backfill: 202 → transferred, p50 / max",
            float(p.get("live_latency_p50_s") or 0.0),
            "s",
            f"< 10 s (max {p.get('live_latency_max_s')} s over {p.get('live_events')} events)",
            bool(p.get("live_events")) and float(p.get("live_latency_max_s") or 99) < 10,
        ),
        Result(
            f"pull backfill of {pull_count} sevDesk invoices via the CLI, sevDesk failing mid-run: records/s",
            float(q.get("records_per_second", 0.0)),
            "records/s",
            "informational (includes the retry wait after the failure)",
            True,
            f"{q.get('seconds')} s, {q.get('sevdesk_pages')} pages, {q.get('pages_read_twice')} read twice",
        ),
        Result(
            "  … checks failed (duplicates, missing, feed doubled, cancel, retry-failed, resume from checkpoint)",
            len(failed),
            "",
            "0",
            not failed,
            "; ".join(failed),
        ),
    ]
    return rows
