"""Benchmark 4: online submissions per second through the HTTP layer: gunicorn on PostgreSQL.

Database `smartland_bench_web`, dropped and created on every run, then set up the production way,
by the CLI in a child process with production settings: `flask db upgrade` (the migrations),
`flask deploy` (the models), `flask seed-demo` (organisation, accounts, the 300-unit demo register).

Then, for each worker configuration, gunicorn (`wsgi:app`) is started on a free loopback port with
SMARTLAND_ENV=production, the local object store in a temporary directory, plain-http cookies
(SESSION_COOKIE_SECURE=false) and a login limit high enough for the clients, which all come from
127.0.0.1. CLIENTS threads each log in once as the demo bank `ccb_changchun` (requests.Session:
GET /login, POST /login, GET the apply page for the CSRF token), then post, as fast as answers come,
multipart submissions of the mortgage cancellation (`reg_mortgage_cancellation`: unit, service point,
mortgage number, and the two required materials, id_proof and release_proof, small valid PDFs), each
with a new submission_key (one key = one case). The bank holds the mortgages of the demo units
n % 15 == 6 in 南关区 (220102); n = 6 is seized, so the 19 units n = 21, 36, ..., 291 are used in turn,
all at the service point 南岭街道. Submissions do not write the register, so the same unit can be
applied for again and again.

The load goes through http.client with the multipart body built once per unit (only the key is
spliced in), so the client's own CPU stays small on this 2-core machine; its CPU is measured and
printed, like the CPU of gunicorn (master and workers), of the PostgreSQL backends serving the
benchmark database, and of the whole machine, over the measured window. Session cookie: the one the
apply page set is sent with every post; the cookies the answers set are not kept (each answer
flashes "submitted" into the session, which only the case page, never fetched here, would empty).

Counted: only a 302 to /cases/<id> is a success; anything else (status, refusal, exception) is an
error, listed, and more than MAX_ERROR_SHARE of them fails the benchmark. Rates and latencies come
from the answers completed inside the measured window, after WARMUP seconds. Afterwards the database
must hold exactly one case per success of that configuration, each with two materials and one
process instance, else the benchmark fails; so does a broken audit chain (`flask audit verify`).

Target (issue): at least 100 submissions per second.
"""

if __name__ == "__main__":  # as a script: the repo root first on sys.path, not bench/ (queue.py!)
    import pathlib
    import sys

    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

import contextlib
import html
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench._common import PG_ADMIN_DSN, PG_SERVER, figure, value

DATABASE = "smartland_bench_web"
SERVICE = "reg_mortgage_cancellation"
ACCOUNT, PASSWORD = "ccb_changchun", "Demo-2026!"
OFFICE_CODE = "220102001"  # 南岭街道, a service point in the units' county 南关区
UNITS = [n for n in range(300) if n % 15 == 6 and n != 6]  # held by 建设银行 (n % 5 == 1, n % 3 == 0); 6 is seized
USER_AGENT = "smartland-bench/1"  # session protection "strong" ties the session to the user agent
TARGET_RATE = 100.0
MAX_ERROR_SHARE = 0.01
# (worker class, workers, threads): run in this order; the best rate is the headline figure.
CONFIGS = (("sync", 2, 1), ("sync", 3, 1), ("sync", 5, 1), ("gthread", 2, 4))
CLIENTS = 8
WARMUP = 4.0
DURATION = 20.0

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def config_name(cfg: tuple[str, int, int]) -> str:
    kind, workers, threads = cfg
    return f"{kind} w={workers}" + (f" t={threads}" if kind == "gthread" else "")


# --- set-up: database, settings, gunicorn ---------------------------------------------------------


def reset_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def db_dsn() -> str:
    return PG_ADMIN_DSN.replace("dbname=postgres", f"dbname={DATABASE}")


def server_env(tmp: Path) -> dict:
    from config import Config
    from documents.signing import make_development_pkcs12

    key = tmp / "signing.p12"
    if not key.exists():
        key.write_bytes(make_development_pkcs12("长春市自然资源局", b"bench"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "TEST_", "FLASK_"))}
    env.update({
        "PYTHONPATH": str(ROOT),
        "SMARTLAND_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"{PG_SERVER}/{DATABASE}",
        "OBJECT_STORE": "local",
        "OBJECT_STORE_DIR": str(tmp / "objects"),
        "INSTANCE_DIR": str(tmp / "instance"),
        "SESSION_COOKIE_SECURE": "false",  # plain http on loopback
        "LOGIN_RATE_LIMIT": "10000 per minute",  # every client logs in from 127.0.0.1
        "RATELIMIT_STORAGE_URI": "memory://",
        "CELERY_BROKER_URL": "",  # no broker: nothing of a submission is queued anyway
        "IN_PROCESS_SWEEPER": "false",
        # Production settings require the certificate font and the bureau's key at start-up.
        "CERTIFICATE_FONT": Config.CERTIFICATE_FONT,
        "SIGNING_P12": str(key),
        "SIGNING_P12_PASSWORD": "bench",
    })
    return env


def flask_cli(env: dict, *args: str) -> str:
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn in a session of its own; stop() asks it to shut down (SIGTERM), then kills what is left."""

    def __init__(self, env: dict, cfg: tuple[str, int, int], log: Path, profile: Path | None = None):
        kind, workers, threads = cfg
        self.port, self.log = free_port(), log
        cmd = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
               "--worker-class", kind, "--log-level", "warning", "--error-logfile", str(log),
               "--graceful-timeout", "10", "--timeout", "60"]
        if kind == "gthread":
            cmd += ["--threads", str(threads)]
        if profile is not None:  # hooks that profile inside each worker (bench/_gunicorn_profile.py)
            cmd += ["--config", str(Path(__file__).with_name("_gunicorn_profile.py"))]
            env = {**env, "BENCH_PROFILE_DIR": str(profile)}
        self.proc = subprocess.Popen([*cmd, "wsgi:app"], cwd=ROOT, env=env, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def pids(self) -> list[int]:
        return [self.proc.pid, *children(self.proc.pid)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # stray workers of its session
            os.killpg(self.proc.pid, signal.SIGKILL)


# --- CPU accounting from /proc ----------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return found + [g for c in found for g in children(c)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / CLK_TCK, sum(ticks) / CLK_TCK


def postgres_backends() -> list[int]:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (DATABASE,))]


@dataclass
class CpuSnapshot:
    at: float
    client: float
    server: dict[int, float]
    postgres: dict[int, float]
    machine: tuple[float, float]

    @classmethod
    def take(cls, server: Gunicorn) -> "CpuSnapshot":
        return cls(time.perf_counter(), time.process_time(), {p: cpu_seconds(p) for p in server.pids()},
                   {p: cpu_seconds(p) for p in postgres_backends()}, machine_busy())


def cpu_between(a: CpuSnapshot, b: CpuSnapshot) -> dict:
    """CPU seconds used between the snapshots: client (this process), gunicorn, PostgreSQL backends, machine."""

    def delta(before: dict, after: dict) -> float:  # a process born in between counts from zero
        return sum(after[p] - before.get(p, 0.0) for p in after)

    busy, total = b.machine[0] - a.machine[0], b.machine[1] - a.machine[1]
    return {"wall": b.at - a.at, "client": b.client - a.client, "gunicorn": delta(a.server, b.server),
            "postgres": delta(a.postgres, b.postgres), "machine_busy": busy, "machine_total": total}


# --- the clients -------------------------------------------------------------------------------------


def sample_pdf(text: str) -> bytes:
    from app.demo_data import demo_pdf  # tests/samples.py pdf(): a one-page PDF

    return demo_pdf(text)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_KEY = re.compile(r'name="submission_key"[^>]*value="([0-9a-f-]{36})"')
_CASE = re.compile(r"/cases/(\d+)$")


class Body:
    """A multipart body made once per unit; only the submission key changes between posts."""

    def __init__(self, csrf: str, unit_no: str, office_id: int, mortgage_key: str, files: dict[str, tuple]):
        self.boundary = f"----smartland-bench-{uuid.uuid4().hex}"
        b = self.boundary.encode()

        def text(name, val):
            return b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, name.encode(),
                                                                                           str(val).encode())

        self.head = b"--%s\r\nContent-Disposition: form-data; name=\"submission_key\"\r\n\r\n" % b
        tail = b"\r\n" + b"".join(text(n, v) for n, v in [("csrf_token", csrf), ("draft_id", ""), ("unit_no", unit_no),
                                                          ("office", office_id), ("mortgage_key", mortgage_key),
                                                          ("submit", "1")])
        for name, (filename, content_type, data) in files.items():
            tail += (b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                     b"Content-Type: %s\r\n\r\n" % (b, name.encode(), filename.encode(), content_type.encode())
                     + data + b"\r\n")
        self.tail = tail + b"--%s--\r\n" % b

    def with_key(self, key: str) -> bytes:
        return self.head + key.encode() + self.tail


@dataclass
class Answer:
    start: float
    end: float
    ok: bool
    status: int
    case_id: int | None = None
    problem: str = ""


@dataclass
class Client:
    port: int
    bodies: list[Body] = field(default_factory=list)
    cookie: str = ""
    answers: list[Answer] = field(default_factory=list)

    def login(self, office_id: int, units: list[tuple[str, str]], files: dict) -> None:
        import requests

        base = f"http://127.0.0.1:{self.port}"
        with requests.Session() as s:
            s.headers["User-Agent"] = USER_AGENT
            page = s.get(f"{base}/login", timeout=30)
            token = _CSRF.search(page.text).group(1)
            r = s.post(f"{base}/login", data={"username": ACCOUNT, "password": PASSWORD, "csrf_token": token},
                       allow_redirects=False, timeout=30)
            if r.status_code != 302:
                raise RuntimeError(f"login as {ACCOUNT} answered {r.status_code}: {summary(r.text)}")
            form = s.get(f"{base}/services/{SERVICE}/apply", timeout=30)
            if form.status_code != 200 or not _KEY.search(form.text):
                raise RuntimeError(f"the apply page answered {form.status_code}: {summary(form.text)}")
            csrf = _CSRF.search(form.text).group(1)
            self.cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
        self.bodies = [Body(csrf, unit_no, office_id, key, files) for unit_no, key in units]

    def run(self, stop_at: float, offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        path = f"/services/{SERVICE}/apply"
        i = offset
        while time.perf_counter() < stop_at:
            body = self.bodies[i % len(self.bodies)]
            i += 1
            payload = body.with_key(str(uuid.uuid4()))
            headers = {"Content-Type": f"multipart/form-data; boundary={body.boundary}", "Cookie": self.cookie,
                       "User-Agent": USER_AGENT, "Content-Length": str(len(payload))}
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=payload, headers=headers)
                r = conn.getresponse()
                data = r.read()
                location = r.getheader("Location") or ""
                end = time.perf_counter()
                if r.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                problem = f"{type(exc).__name__}: {exc}"
                self.answers.append(Answer(start, time.perf_counter(), False, 0, problem=problem))
                continue
            m = _CASE.search(location.split("?", 1)[0]) if r.status == 302 else None
            if m:
                self.answers.append(Answer(start, end, True, 302, int(m.group(1))))
            else:
                self.answers.append(Answer(start, end, False, r.status, problem=(
                    f"Location {location}" if r.status == 302 else summary(data.decode("utf-8", "replace")))))
        conn.close()


def summary(page: str) -> str:
    """What a refusal page says: the listed reasons and field errors, else the start of its text."""
    refusal = page.split('data-testid="refusal"', 1)
    found = re.findall(r"<li>(.*?)</li>", refusal[1].split("</div>", 1)[0]) if len(refusal) == 2 else []
    found += re.findall(r'<p class="error">(.*?)</p>', page)
    if found:
        return "; ".join(html.unescape(re.sub(r"<[^>]+>", "", f)) for f in found)[:300]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()[:300]


# --- one configuration -------------------------------------------------------------------------------


def bench_data() -> tuple[int, list[tuple[str, str]], dict]:
    import psycopg

    from app.register.demo import unit_number

    with psycopg.connect(db_dsn()) as conn:
        office_id = conn.execute("SELECT id FROM org_unit WHERE code = %s", (OFFICE_CODE,)).fetchone()[0]
    units = [(unit_number("220102", n), f"M{n + 1:07d}") for n in UNITS]
    files = {"id_proof": ("营业执照及授权书.pdf", "application/pdf", sample_pdf("ID proof of the lending bank")),
             "release_proof": ("还款结清证明.pdf", "application/pdf", sample_pdf("Loan repaid: mortgage released"))}
    return office_id, units, files


def last_case_id() -> int:
    import psycopg

    with psycopg.connect(db_dsn()) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM case_file").fetchone()[0]


def verify(after_id: int, successes: list[int]) -> dict:
    """Cases the run created (id > after_id), their materials and process instances."""
    import psycopg

    with psycopg.connect(db_dsn()) as conn:
        rows = conn.execute(
            "SELECT c.id, c.service_code, (SELECT count(*) FROM case_material m WHERE m.case_id = c.id),"
            " (SELECT count(*) FROM process_instance p WHERE p.case_id = c.id)"
            " FROM case_file c WHERE c.id > %s", (after_id,)).fetchall()
    ids = {r[0] for r in rows}
    return {"cases": len(rows), "with_two_materials": sum(1 for r in rows if r[2] == 2 and r[1] == SERVICE),
            "with_process": sum(1 for r in rows if r[3] == 1), "answered_ids_found": len(set(successes) & ids),
            "distinct_answered_ids": len(set(successes))}


def run_config(env: dict, tmp: Path, cfg: tuple[str, int, int], clients: int, warmup: float, duration: float,
               data: tuple, profile: Path | None = None) -> tuple[dict, dict]:
    name = config_name(cfg)
    office_id, units, files = data
    after_id = last_case_id()
    server = Gunicorn(env, cfg, tmp / f"gunicorn-{name.replace(' ', '-').replace('=', '')}.log", profile)
    try:
        server.wait_ready()
        pool = [Client(server.port) for _ in range(clients)]
        for c in pool:
            c.login(office_id, units, files)
        t0 = time.perf_counter()
        start_at, stop_at = t0 + warmup, t0 + warmup + duration
        threads = [threading.Thread(target=c.run, args=(stop_at, k * 5), daemon=True) for k, c in enumerate(pool)]
        for t in threads:
            t.start()
        time.sleep(max(0.0, start_at - time.perf_counter()))
        before = CpuSnapshot.take(server)
        time.sleep(max(0.0, stop_at - time.perf_counter()))
        after = CpuSnapshot.take(server)
        for t in threads:
            t.join(timeout=120)
        if any(t.is_alive() for t in threads):
            raise RuntimeError("a client did not finish within 120 s of the end of the run")
    finally:
        server.stop()
    answers = [a for c in pool for a in c.answers]
    window = [a for a in answers if start_at <= a.end < stop_at]
    ok = [a for a in window if a.ok]
    errors = [a for a in answers if not a.ok]
    cpu = cpu_between(before, after)
    checked = verify(after_id, [a.case_id for a in answers if a.ok])
    info = {"config": name, "answers": len(answers), "successes": sum(a.ok for a in answers), "errors": errors,
            "checked": checked, "cpu": cpu, "log": server.log_tail(10)}

    rate = len(ok) / duration
    p = f"submissions {name} c={clients}"
    n_ok = max(len(ok), 1)
    figures = {
        f"{p}: rate": value(rate, unit="/s"),  # the target is checked on the best configuration's
        f"{p}: latency": figure([(a.end - a.start) * 1000 for a in ok] or [0.0]),
        f"{p}: errors (whole run)": value(len(errors), unit="n", target_text="0", ok=not errors),
        f"{p}:   client CPU, % of one core": value(100 * cpu["client"] / cpu["wall"], unit="%"),
        f"{p}:   gunicorn CPU per submission": value(1000 * cpu["gunicorn"] / n_ok, unit="ms"),
        f"{p}:   PostgreSQL backends CPU per submission": value(1000 * cpu["postgres"] / n_ok, unit="ms"),
        # If the whole machine were the benchmark's: its cores over the CPU one submission costs in the
        # server, the database and the client. A ceiling (it ignores waits and the audit head's lock).
        f"{p}:   CPU-bound ceiling on {os.cpu_count()} idle CPUs": value(
            os.cpu_count() * n_ok / max(cpu["gunicorn"] + cpu["postgres"] + cpu["client"], 1e-9), unit="/s"),
        f"{p}:   machine busy, % of {os.cpu_count()} CPUs": value(
            100 * cpu["machine_busy"] / max(cpu["machine_total"], 1e-9), unit="%"),
        f"{p}:   other processes' CPU, % of one core": value(
            100 * (cpu["machine_busy"] - cpu["client"] - cpu["gunicorn"] - cpu["postgres"]) / cpu["wall"], unit="%"),
    }
    return figures, info


def check(info: dict) -> list[str]:
    """What is wrong with a configuration's run (empty when it is right)."""
    problems = []
    if info["answers"] == 0:
        problems.append("no answers at all")
    elif len(info["errors"]) > MAX_ERROR_SHARE * info["answers"]:
        problems.append(f"{len(info['errors'])} errors in {info['answers']} answers")
    c, n = info["checked"], info["successes"]
    if not (c["cases"] == n == c["with_two_materials"] == c["with_process"] == c["answered_ids_found"]
            == c["distinct_answered_ids"]):
        problems.append(f"{n} successes but the database has {c['cases']} new cases ({c['with_two_materials']} with "
                        f"two materials, {c['with_process']} with a process; {c['answered_ids_found']} of the "
                        f"{c['distinct_answered_ids']} answered case ids found)")
    return problems


def describe(info: dict) -> None:
    c, cpu = info["checked"], info["cpu"]
    print(f"[{info['config']}] {info['answers']} answers, {info['successes']} successes, {len(info['errors'])} errors; "
          f"database: {c['cases']} new cases, {c['with_two_materials']} with 2 materials, {c['with_process']} with a "
          f"process; CPU over {cpu['wall']:.1f} s: client {cpu['client']:.1f} s, gunicorn {cpu['gunicorn']:.1f} s, "
          f"PostgreSQL backends {cpu['postgres']:.1f} s, machine {cpu['machine_busy']:.1f} of "
          f"{cpu['machine_total']:.1f} s", flush=True)
    seen: dict[str, int] = {}
    for e in info["errors"]:
        key = f"{e.status} {e.problem}"
        seen[key] = seen.get(key, 0) + 1
    for key, count in sorted(seen.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  error x{count}: {key}", flush=True)


def main(configs=CONFIGS, clients: int = CLIENTS, warmup: float = WARMUP, duration: float = DURATION,
         profile: Path | None = None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="smartland-bench-web-"))
    try:
        env = server_env(tmp)
        t0 = time.perf_counter()
        reset_database()
        flask_cli(env, "db", "upgrade")
        flask_cli(env, "deploy")
        flask_cli(env, "seed-demo")
        data = bench_data()
        sizes = " and ".join(str(len(f[2])) for f in data[2].values())
        print(f"database {DATABASE}: migrated, models deployed, demo data seeded in {time.perf_counter() - t0:.1f} s; "
              f"{clients} clients as {ACCOUNT}, {SERVICE} with 2 PDFs ({sizes} bytes), "
              f"{len(data[1])} units; warm-up {warmup:g} s, measured {duration:g} s per configuration", flush=True)
        figures: dict = {}
        problems: list[str] = []
        best = None
        for cfg in configs:
            where = None
            if profile is not None:
                where = profile / config_name(cfg).replace(" ", "-").replace("=", "")
                where.mkdir(parents=True, exist_ok=True)
            figs, info = run_config(env, tmp, cfg, clients, warmup, duration, data, where)
            describe(info)
            problems += [f"{info['config']}: {p}" for p in check(info)]
            if problems and info["log"].strip():
                print(f"  gunicorn log:\n{info['log']}", flush=True)
            figures.update(figs)
            rate_name = next(n for n in figs if n.endswith(": rate"))
            if best is None or figs[rate_name]["median"] > figures[best]["median"]:
                best = rate_name
            if where is not None:
                report_profile(where)
        # Concurrent submissions each appended to the hash-chained audit log: the chain must be whole.
        chain = flask_cli(env, "audit", "verify").strip()
        print(f"audit chain after the runs: {chain}", flush=True)
        if not chain.startswith("OK"):
            problems.append(f"audit chain: {chain}")
        if problems:
            raise RuntimeError("submissions benchmark failed: " + "; ".join(problems))
        rate = figures[best]["median"]
        figures[f"submissions best rate ({best.removeprefix('submissions ').removesuffix(': rate')})"] = value(
            rate, unit="/s", target_text=f">= {TARGET_RATE:g} /s", ok=rate >= TARGET_RATE)
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Parts of a submission, by a function on the stack (file suffix, function name): the CPU of each is
# what the samples with that function on the stack add up to (parts may nest: Spiff inside start).
PARTS = [
    ("whole request (WSGI app)", "flask/app.py", "wsgi_app"),
    ("  session cookie + user load (flask-login)", "flask_login/login_manager.py", "_load_user"),
    ("  multipart parsing (werkzeug)", "werkzeug/formparser.py", "parse"),
    ("  form validation (WTForms, upload checks)", "flask_wtf/form.py", "validate_on_submit"),
    ("  applications.submit", "app/register/applications.py", "submit"),
    ("    applications.check (register, rules)", "app/register/applications.py", "check"),
    ("      history.record", "app/register/history.py", "record"),
    ("      rules.check_unit", "app/register/rules.py", "check_unit"),
    ("    operations.open_case", "app/cases/operations.py", "open_case"),
    ("      deadline_after", "app/core/deadlines.py", "deadline_after"),
    ("      materials.attach (store + rows + audit)", "app/cases/materials.py", "attach"),
    ("      runtime.start", "app/engine/runtime.py", "start"),
    ("        BpmnWorkflow() construction", "SpiffWorkflow/bpmn/workflow.py", "__init__"),
    ("        do_engine_steps", "SpiffWorkflow/bpmn/workflow.py", "do_engine_steps"),
    ("        runtime.save", "app/engine/runtime.py", "save"),
    ("          spiff.dump_state", "app/engine/spiff.py", "dump_state"),
    ("          derive.sync", "app/engine/derive.py", "sync"),
    ("  commit (in the view)", "sqlalchemy/orm/scoping.py", "commit"),
    ("  ORM flush (anywhere)", "sqlalchemy/orm/session.py", "flush"),
    ("  SQL execute, psycopg (anywhere)", "psycopg/cursor.py", "execute"),
    ("  SQLAlchemy ORM query execution (anywhere)", "sqlalchemy/orm/session.py", "_execute_internal"),
    ("  Jinja rendering (anywhere)", "jinja2/environment.py", "render"),
    ("  babel lazy strings / gettext (anywhere)", "flask_babel/__init__.py", "gettext"),
    ("  redirect + response (flash, url_for)", "flask/helpers.py", "url_for"),
    ("  session save (cookie signing)", "flask/sessions.py", "save_session"),
]


def report_profile(where: Path, top: int = 30) -> None:
    """Per-request figures of the successful submissions, and where their CPU goes: the workers'
    stack samples merged (or the cProfile listing, in WHERE/profile.txt, under BENCH_PROFILE=cprofile)."""
    import json
    import statistics

    rows = [json.loads(line) for f in sorted(where.glob("worker-*.jsonl")) for line in f.read_text().splitlines()]
    subs = [r for r in rows if r["method"] == "POST" and r["path"].endswith("/apply") and r["status"] == 302]
    if not subs:
        print(f"profile: no successful submissions logged in {where}")
        return

    def med(key):
        vals = [r[key] for r in subs if r[key] is not None]
        return statistics.median(vals) if vals else float("nan")

    held = [r["lock_held_s"] for r in subs if r["lock_held_s"] is not None]
    print(f"profile ({len(subs)} submissions): per submission median wall {1000 * med('wall_s'):.1f} ms, "
          f"CPU {1000 * med('cpu_s'):.1f} ms (mean {1000 * statistics.fmean(r['cpu_s'] for r in subs):.1f}), "
          f"{med('sql_n'):.0f} SQL statements taking {1000 * med('sql_s'):.1f} ms; audit head lock: waited "
          f"{1000 * med('lock_wait_s'):.1f} ms, held {1000 * med('lock_held_s'):.1f} ms (mean "
          f"{1000 * statistics.fmean(held):.1f} ms: at most {1 / statistics.fmean(held):.0f} submissions/s can hold it "
          f"one after another)", flush=True)
    if list(where.glob("worker-*.prof")):
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(*sorted(str(f) for f in where.glob("worker-*.prof")), stream=out)
        stats.sort_stats("cumulative").print_stats(150)
        stats.sort_stats("tottime").print_stats(80)
        (where / "profile.txt").write_text(out.getvalue())
        print(f"cProfile listing: {where / 'profile.txt'}", flush=True)
    stacks = []  # (stack, CPU seconds)
    for f in sorted(where.glob("worker-*.stacks.json")):
        loaded = json.loads(f.read_text())
        stacks += [(s, n) for s, n in loaded["stacks"] if s[0].startswith("POST ") and s[0].endswith("/apply")]
    if not stacks:
        return
    total = sum(n for _, n in stacks)
    per_sub = 1000 / len(subs)  # CPU seconds -> ms per submission
    inclusive, own = Counter(), Counter()
    for s, n in stacks:
        for fn in set(s[1:]):
            inclusive[fn] += n
        own[s[-1]] += n
    lines = [f"CPU of POST /apply in {len(stacks)} sampled stacks: {total * per_sub:.1f} ms per submission (up to the "
             f"last sample of each request; the warm-up's submissions included)"]
    for label, suffix, name in PARTS:
        n = sum(c for s, c in stacks if any(fn.endswith(f"({name})") and fn.split(":")[0].endswith(suffix)
                                            for fn in s[1:]))
        lines.append(f"  {label:<52} {n * per_sub:7.2f} ms  {100 * n / total:5.1f} %")
    lines.append(f"top {top} functions by CPU with callees (ms per submission, share):")
    lines += [f"  {n * per_sub:7.2f} ms {100 * n / total:5.1f} %  {_short(fn)}" for fn, n in inclusive.most_common(top)]
    lines.append(f"top {top} functions by own CPU:")
    lines += [f"  {n * per_sub:7.2f} ms {100 * n / total:5.1f} %  {_short(fn)}" for fn, n in own.most_common(top)]
    text = "\n".join(lines)
    (where / "samples.txt").write_text(text + "\n")
    print(text, flush=True)


def _short(fn: str) -> str:
    for prefix in (str(ROOT / ".venv" / "lib") + "/", str(ROOT) + "/"):
        if fn.startswith(prefix):
            fn = fn[len(prefix):]
    return re.sub(r"^python3\.\d+/site-packages/", "", fn)


def _parse_configs(text: str) -> tuple:
    """"sync:2,sync:4,gthread:2x4" -> (("sync", 2, 1), ("sync", 4, 1), ("gthread", 2, 4))"""
    out = []
    for item in text.split(","):
        kind, _, size = item.partition(":")
        workers, _, threads = size.partition("x")
        out.append((kind, int(workers), int(threads or 1)))
    return tuple(out)


if __name__ == "__main__":
    import argparse

    from bench.run import print_figures

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=_parse_configs, default=CONFIGS, help="e.g. sync:2,sync:4,gthread:2x4")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--warmup", type=float, default=WARMUP)
    parser.add_argument("--duration", type=float, default=DURATION)
    parser.add_argument("--profile", type=Path, default=None,
                        help="directory: cProfile and per-request timings inside every worker (slows them down)")
    a = parser.parse_args()
    print_figures(main(a.configs, a.clients, a.warmup, a.duration, a.profile))
