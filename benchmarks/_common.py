"""Shared plumbing for the benchmarks: arguments, a throw-away database, timing, memory, JSON.

Every benchmark makes its own data: SQLite in a temporary folder, or a fresh database
(`bench_<name>_<pid>`) on a PostgreSQL server that it drops again afterwards. The server is
`--database-url`, else $SELLERDESK_BENCH_DATABASE_URL, else the one `scripts/pg.sh` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB_ENV = "SELLERDESK_BENCH_DATABASE_URL"


def parser(name: str, default_n: int, doc: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=doc)
    p.add_argument("--n", type=int, default=default_n, help=f"size (default {default_n:,})")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--database-url", default=None,
                   help="PostgreSQL server to create the benchmark database on "
                        f"(default ${BENCH_DB_ENV}, else `bash scripts/pg.sh url`)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--keep", action="store_true",
                   help="keep the data folder / database afterwards (printed on stderr)")
    return p


def log(*parts: object) -> None:
    """Progress goes to stderr, so that stdout ends with the one JSON line."""
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, ensure_ascii=False, default=str), flush=True)


# --- machine -----------------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_1m_at_end": round(load1, 2),
        "loadavg_5m_at_end": round(load5, 2),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


# --- timing ------------------------------------------------------------------------------------

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation, as numpy's default does."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/p99/mean/max of durations given in seconds, reported in milliseconds."""
    values = sorted(s * 1000 for s in seconds)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p95_ms": round(percentile(values, 95), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "mean_ms": round(statistics.fmean(values), 3),
        "min_ms": round(values[0], 3),
        "max_ms": round(values[-1], 3),
    }


@dataclass
class Stopwatch:
    """Named phases: `with watch("load"): ...` records seconds per phase."""

    phases: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(time.perf_counter() - start, 3)
            log(f"{name}: {self.phases[name]:.1f} s")


class LoadMeter:
    """How busy the machine was during a block: ours vs everybody else's CPU seconds.

    The benchmarks share a 2-core machine with other work; this says how much of it they got.
    """

    def __enter__(self) -> LoadMeter:
        self._sys0 = psutil.cpu_times()
        self._me0 = _own_cpu()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        sys1 = psutil.cpu_times()
        wall = time.perf_counter() - self._t0
        busy = (_busy(sys1) - _busy(self._sys0))
        mine = _own_cpu() - self._me0
        cores = os.cpu_count() or 1
        self.result = {
            "wall_s": round(wall, 2),
            "machine_busy_pct": round(100 * busy / (wall * cores), 1),
            "this_process_tree_cpu_s": round(mine, 2),
            "others_cpu_s": round(max(0.0, busy - mine), 2),
        }


def _busy(t: Any) -> float:
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)
                 + getattr(t, "steal", 0))


def _own_cpu() -> float:
    """CPU seconds of this process and its children (serve, pool workers) so far."""
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
    t = me.cpu_times()
    return total + t.children_user + t.children_system


# --- memory ------------------------------------------------------------------------------------

class RssSampler:
    """Samples a process's resident set size every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append(self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float | None:
        return mib(max(self.samples)) if self.samples else None


def mib(n_bytes: int) -> float:
    return round(n_bytes / 2**20, 1)


def rss_mib(pid: int | None = None) -> float:
    return mib(psutil.Process(pid or os.getpid()).memory_info().rss)


# --- databases ---------------------------------------------------------------------------------

@dataclass
class BenchDatabase:
    backend: str
    url: str  # SQLAlchemy URL (sqlite+aiosqlite / postgresql+asyncpg)
    data_dir: Path

    @property
    def sqlite_path(self) -> Path:
        return Path(make_url(self.url).database or "")

    @property
    def asyncpg_dsn(self) -> str:
        """The same database as a plain postgresql:// DSN for asyncpg.connect."""
        return make_url(self.url).set(drivername="postgresql").render_as_string(
            hide_password=False)

    def settings(self, **overrides: Any) -> Any:
        from sellerdesk.core.config import load_settings

        values: dict[str, Any] = {
            "data_dir": self.data_dir, "database_url": self.url,
            "secret_key": "benchmark-secret", "demo_on_first_run": False, "log_level": "warning",
        }
        values.update(overrides)
        return load_settings(**values)

    def env(self) -> dict[str, str]:
        """Environment for a `sellerdesk` subprocess on this database and data folder."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SELLERDESK_")}
        env.pop("DATABASE_URL", None)
        env.update({
            "SELLERDESK_DATA_DIR": str(self.data_dir),
            "SELLERDESK_DATABASE_URL": self.url,
            "SELLERDESK_SECRET_KEY": "benchmark-secret",
            "SELLERDESK_DEMO_ON_FIRST_RUN": "false",
            "SELLERDESK_LOG_LEVEL": "warning",
        })
        return env


def postgres_server_url(explicit: str | None) -> str:
    """The PostgreSQL server to use (any database on it; ours is created next to it)."""
    url = explicit or os.environ.get(BENCH_DB_ENV)
    if url:
        return url
    script = ROOT / "scripts" / "pg.sh"
    if not script.exists():
        raise SystemExit("no PostgreSQL: pass --database-url or set " + BENCH_DB_ENV)
    found = subprocess.run(["bash", str(script), "url"], capture_output=True, text=True,
                           check=False)
    if found.returncode != 0:
        subprocess.run(["bash", str(script), "start"], check=True)
        found = subprocess.run(["bash", str(script), "url"], capture_output=True, text=True,
                               check=True)
    return found.stdout.strip()


def _sqlalchemy_pg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


async def _pg_admin(server_url: str, sql: str) -> None:
    import asyncpg

    admin = make_url(_sqlalchemy_pg_url(server_url)).set(drivername="postgresql",
                                                         database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def bench_database(name: str, args: argparse.Namespace, *, suffix: str = "",
                   migrate: bool = True) -> Iterator[BenchDatabase]:
    """A fresh, migrated database and data folder; removed afterwards unless --keep."""
    import asyncio

    data_dir = Path(tempfile.mkdtemp(prefix=f"sellerdesk-bench-{name}{suffix}-"))
    db_name = f"bench_{name}{suffix}_{os.getpid()}"
    if args.backend == "sqlite":
        db = BenchDatabase("sqlite", f"sqlite+aiosqlite:///{data_dir / 'sellerdesk.db'}",
                           data_dir)
    else:
        server = _sqlalchemy_pg_url(postgres_server_url(args.database_url))
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        asyncio.run(_pg_admin(server, f'CREATE DATABASE "{db_name}"'))
        url = make_url(server).set(database=db_name).render_as_string(hide_password=False)
        db = BenchDatabase("postgresql", url, data_dir)
    try:
        if migrate:
            from sellerdesk.core.migrate import upgrade

            upgrade(db.url)
        yield db
    finally:
        if args.keep:
            log(f"kept: data folder {data_dir}, database {db.url}")
        else:
            if db.backend == "postgresql":
                asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            shutil.rmtree(data_dir, ignore_errors=True)


async def pg_server_settings(dsn: str) -> dict[str, str]:
    """The server settings that move these figures, for the JSON."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        out = {"version": (await conn.fetchval("SHOW server_version"))}
        for name in ("shared_buffers", "work_mem", "synchronous_commit", "fsync",
                     "effective_cache_size", "random_page_cost", "max_parallel_workers_per_gather"):
            out[name] = await conn.fetchval(f"SHOW {name}")
        return out
    finally:
        await conn.close()


def dir_size_mib(path: Path) -> float:
    return mib(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()))
