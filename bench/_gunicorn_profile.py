"""gunicorn configuration for `bench/submissions.py --profile DIR`: profiles inside each worker.

Per request (between gunicorn's pre_request and post_request hooks, so the WSGI app, the multipart
parsing and writing the answer are in, the reading of the request line and headers is not):
* a sampling profiler: on ITIMER_PROF (the worker's CPU time, user + system; asked for every
  SAMPLE_S, the kernel delivers at its tick, a few ms) the Python stack of the request is recorded
  with the thread CPU time used since the previous sample, so the samples show where the CPU goes at
  a few per cent of overhead (cProfile, with BENCH_PROFILE=cprofile, slows the calls it counts several-fold
  and so distorts the shares); each worker writes DIR/worker-<pid>.stacks.json on exit;
* wall and CPU time (thread_time) of the request;
* SQL statements sent and their time (cursor execute to result);
* the audit chain's head: time waiting for its row lock (`audit._lock_head`), and how long the
  request holds it (from getting it to the end of the commit), the part no two requests can overlap.
Each worker writes DIR/worker-<pid>.jsonl, one line per request.

Meant for sync workers (one request at a time per process, in its main thread).
"""

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

OUT = Path(os.environ["BENCH_PROFILE_DIR"])
MODE = os.environ.get("BENCH_PROFILE", "sample")
SAMPLE_S = 0.001
_state: dict = {}
_stacks: Counter = Counter()


def _sample(signum, frame):
    now = time.thread_time()
    weight, _state["last_cpu"] = now - _state.get("last_cpu", now), now
    stack = []
    while frame is not None:
        code = frame.f_code
        stack.append(f"{code.co_filename}:{code.co_firstlineno}({code.co_name})")
        frame = frame.f_back
    req = _state.get("req")
    stack.append(f"{req['method']} {req['path']}" if req else "(no request)")
    _stacks[tuple(reversed(stack))] += weight


def post_worker_init(worker):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from app.core import audit
    from app.extensions import db

    with worker.wsgi.app_context():
        engine = db.engine

    def before(*args):
        _state["sql_start"] = time.perf_counter()

    def after(*args):
        if "req" in _state:
            _state["req"]["sql_n"] += 1
            _state["req"]["sql_s"] += time.perf_counter() - _state["sql_start"]

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    def committed(session):
        req = _state.get("req")
        if req is not None and req["locked_at"] is not None and req["lock_held_s"] is None:
            req["lock_held_s"] = time.perf_counter() - req["locked_at"]

    event.listen(Session, "after_commit", committed)
    original = audit._lock_head

    def timed_lock_head():
        start = time.perf_counter()
        prev = original()
        req = _state.get("req")
        if req is not None:
            req["lock_wait_s"] += time.perf_counter() - start
            if req["locked_at"] is None:
                req["locked_at"] = time.perf_counter()
        return prev

    audit._lock_head = timed_lock_head
    if MODE == "cprofile":
        import cProfile

        _state["profile"] = cProfile.Profile()
    else:
        signal.signal(signal.SIGPROF, _sample)
    _state["log"] = (OUT / f"worker-{os.getpid()}.jsonl").open("w")


def pre_request(worker, req):
    _state["req"] = {"path": req.path, "method": req.method, "sql_n": 0, "sql_s": 0.0, "lock_wait_s": 0.0,
                     "locked_at": None, "lock_held_s": None, "start": time.perf_counter(),
                     "cpu_start": time.thread_time()}
    if "profile" in _state:
        _state["profile"].enable()
    else:
        _state["last_cpu"] = time.thread_time()
        signal.setitimer(signal.ITIMER_PROF, SAMPLE_S, SAMPLE_S)


def post_request(worker, req, environ, resp):
    if "profile" in _state:
        _state["profile"].disable()
    else:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
    r = _state.pop("req", None)
    if r is None:
        return
    r["wall_s"] = time.perf_counter() - r.pop("start")
    r["cpu_s"] = time.thread_time() - r.pop("cpu_start")
    r.pop("locked_at")
    r["status"] = resp.status_code if resp is not None else None
    _state["log"].write(json.dumps(r) + "\n")


def worker_exit(server, worker):
    signal.setitimer(signal.ITIMER_PROF, 0, 0)
    if "log" not in _state:
        return
    _state["log"].close()
    if "profile" in _state:
        _state["profile"].dump_stats(str(OUT / f"worker-{os.getpid()}.prof"))
    else:
        (OUT / f"worker-{os.getpid()}.stacks.json").write_text(
            json.dumps({"unit": "cpu_s", "stacks": [[list(s), n] for s, n in _stacks.items()]}))
