"""Throwaway PostgreSQL and Redis servers on free ports, and the Kotally processes (gunicorn,
a Celery worker) pointed at them, so fault tests can stop and restart them without touching
the machine's shared services.

Every wait is bounded; every `stop` is safe to call twice. Binaries that are missing make the
caller skip with the reason printed, or fail when KOTALLY_REQUIRE_SERVICES is set.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def worker_command() -> list[str]:
    """A real Celery worker of this project: the default queue, one task at a time."""
    return [
        str(VENV_BIN / "celery"),
        "-A",
        "kotally",
        "worker",
        "--pool=solo",
        "-Q",
        "celery",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
    ]


START_TIMEOUT = 30  # seconds for any server to come up or go down


def skip_or_fail(reason: str) -> None:
    if os.environ.get("KOTALLY_REQUIRE_SERVICES"):
        pytest.fail(reason + " (KOTALLY_REQUIRE_SERVICES is set)")
    print(f"\nSKIP: {reason}", file=sys.stderr)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, log=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    detail = f"\n--- log ---\n{log()}" if log else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")


def tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb into a temp dir), trust auth on 127.0.0.1."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        self.bin = Path(found[-1]).parent if found else None
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.port = free_port()
        self.dir = None

    def missing(self) -> str:
        if self.bin is None:
            return "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)"
        if self.as_postgres and not shutil.which("runuser"):
            return "runuser (to run initdb as the postgres user)"
        return ""

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, timeout=timeout, capture_output=True)

    @property
    def log_path(self) -> Path:
        return Path(self.dir) / "server.log"

    def init(self) -> "PrivatePostgres":
        self.dir = tempfile.mkdtemp(prefix="kotally-pg-")
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            f"{self.dir}/data",
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            timeout=120,
        )
        return self

    def start(self) -> "PrivatePostgres":
        # fsync off: a test cluster need not survive a power cut, and it starts faster.
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            f"{self.dir}/data",
            "-o",
            options,
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
        )
        return self

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the database host goes away."""
        if self.dir and self.running():
            self._run(
                "pg_ctl",
                "-D",
                f"{self.dir}/data",
                "-m",
                "fast",
                "-w",
                "-t",
                str(START_TIMEOUT),
                "stop",
            )

    def running(self) -> bool:
        return Path(self.dir, "data", "postmaster.pid").exists()

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def query(self, database: str, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.url(database), connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


class PrivateRedis:
    """A redis-server subprocess with no persistence: a restart starts empty, as a lost
    broker would."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.process = None
        self.log_path = Path(tempfile.mkstemp(prefix="kotally-redis-", suffix=".log")[1])

    def missing(self) -> str:
        return "" if self.binary else "redis-server"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            self.ping, timeout=START_TIMEOUT, what="redis-server", log=lambda: tail(self.log_path)
        )

    def ping(self) -> bool:
        try:
            return redis.Redis.from_url(self.url(), socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


def stop_process(process: subprocess.Popen | None, *, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class Kotally:
    """manage.py commands, a gunicorn web process and a Celery worker, all on one
    environment (the private database and broker)."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env}
        self.log_dir = log_dir
        self.port = free_port()
        self.web = None
        self.worker = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self, name: str) -> str:
        return tail(self.log_dir / f"{name}.log")

    def log_count(self, name: str, text: str) -> int:
        """How many times `text` appears in the whole log of `name`."""
        return (self.log_dir / f"{name}.log").read_text(errors="replace").count(text)

    def start_web(self) -> None:
        self.web = self._spawn(
            "web",
            [
                str(VENV_BIN / "gunicorn"),
                "kotally.wsgi",
                "--workers",
                "1",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "60",
            ],
        )
        wait_until(
            self._web_answers, timeout=START_TIMEOUT, what="gunicorn", log=lambda: self.log("web")
        )

    def _web_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            return
        self.worker = self._spawn("worker", worker_command())

    def stop_worker(self) -> None:
        """Warm shutdown (SIGTERM): an idle worker exits at once."""
        stop_process(self.worker)

    def stop(self) -> None:
        try:
            stop_process(self.web)
        finally:
            stop_process(self.worker)
