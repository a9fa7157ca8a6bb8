"""Benchmark 1: bare SpiffWorkflow load -> run -> save per step on the demo model. No database.

The model is parsed once. Each instance then goes through its human steps (accept, county_review,
maybe city_approve, maybe a send-back round), and every step is:

    load the stored state  ->  complete the READY user task with a decision  ->  do_engine_steps  ->  save

twice, on two copies of the same instance that take the same decisions:

* "app":   app.engine.spiff.load_state with the spec objects shared per definition (restored once, as
           app.engine.definitions.loaded_spec does), and app.engine.spiff.dump_state (state only);
* "stock": SpiffWorkflow's own BpmnWorkflowSerializer (Spiff DEFAULT_CONFIG registry plus the same
           date/Decimal converters) deserialize_json / serialize_json, which embed the spec in every
           state and rebuild it on every load.

The script helpers (deadline, warn_before) are the application's, on a WorkingCalendar built in memory
(the service layer caches the same object for 60 s), so the scripts do the real working-day arithmetic.
"""

if __name__ == "__main__":  # as a script: the repo root first on sys.path, not bench/ (queue.py!)
    import pathlib
    import sys

    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

import random
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from bench._common import SEED, Timer, figure, fixed_clock, gc_collected, ms, release_clock, value

MODEL = Path(__file__).resolve().parent.parent / "processes" / "common" / "demo_review.bpmn"
PROCESS_ID = "demo_review"


def _script_engine():
    from app.core.calendar import WorkingCalendar
    from app.core.clock import now_utc
    from app.engine import spiff

    calendar = WorkingCalendar()

    def deadline(working_days):
        return calendar.add_working_days(now_utc(), int(working_days)).due_at.isoformat()

    def warn_before(iso, working_days):
        return calendar.subtract_working_days(datetime.fromisoformat(iso), int(working_days)).due_at.isoformat()

    return spiff.make_script_engine({"deadline": deadline, "warn_before": warn_before})


def _stock_serializer():
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

    registry = BpmnWorkflowSerializer.configure(DEFAULT_CONFIG)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    return BpmnWorkflowSerializer(registry)


def _decide(rng: random.Random, bpmn_id: str, sent_back: bool) -> str:
    if bpmn_id == "accept":
        return "reject" if rng.random() < 0.03 else "accept"
    if bpmn_id == "county_review":
        roll = rng.random()
        if roll < 0.15 and not sent_back:
            return "send_back"
        return "escalate" if roll > 0.88 else "approve"
    return "reject" if rng.random() < 0.15 else "approve"  # city_approve


def _ready(wf):
    from SpiffWorkflow.util.task import TaskState

    ready = wf.get_tasks(state=TaskState.READY, manual=True)
    return ready[0] if ready else None


def main(instances: int = 160, warmup: int = 20) -> dict:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from app.engine import spiff

    fixed_clock()
    try:
        rng = random.Random(SEED)
        engine = _script_engine()
        stock = _stock_serializer()

        t0 = time.perf_counter_ns()
        parser = spiff.new_parser()
        parser.add_bpmn_file(str(MODEL))
        parsed_spec, parsed_subs = parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)
        parse_ms = ms(time.perf_counter_ns() - t0)
        # The spec objects the service layer shares: restored once from the deployed spec JSON.
        spec, subprocess_specs = spiff.load_spec(spiff.dump_spec(parsed_spec, parsed_subs))

        # Start every instance (untimed): both stores begin from the same started workflow.
        app_states, stock_states, sent_back = [], [], []
        for i in range(warmup + instances):
            wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
            for task in wf.get_tasks(state=TaskState.READY):
                task.set_data(case_no=f"220102-2026-{i:07d}", service_code="demo_review",
                              area_m2=round(rng.uniform(100, 20000), 1))
            wf.do_engine_steps()
            app_states.append(spiff.dump_state(wf))
            stock_states.append(stock.serialize_json(wf))
            sent_back.append(False)

        t = Timer()
        steps = 0
        version = spiff.SERIALIZER_VERSION
        with gc_collected():
            for i in range(warmup + instances):
                timed = i >= warmup
                while True:
                    # --- app: state-only JSON on shared spec objects -------------------------------
                    start = time.perf_counter_ns()
                    wf = spiff.load_state(app_states[i], version, spec, subprocess_specs, engine)
                    loaded = time.perf_counter_ns()
                    task = _ready(wf)
                    if task is None:
                        break  # waiting for the external message, or finished
                    decision = _decide(rng, task.task_spec.bpmn_id, sent_back[i])
                    sent_back[i] |= decision == "send_back"
                    task.set_data(decision=decision, opinion="同意" if decision == "approve" else "")
                    task.run()
                    wf.do_engine_steps()
                    ran = time.perf_counter_ns()
                    app_states[i] = spiff.dump_state(wf)
                    end = time.perf_counter_ns()

                    # --- stock: full serializer round trip, spec embedded --------------------------
                    s_start = time.perf_counter_ns()
                    swf = stock.deserialize_json(stock_states[i])
                    swf.script_engine = engine
                    s_loaded = time.perf_counter_ns()
                    stask = _ready(swf)
                    stask.set_data(decision=decision, opinion="同意" if decision == "approve" else "")
                    stask.run()
                    swf.do_engine_steps()
                    s_ran = time.perf_counter_ns()
                    stock_states[i] = stock.serialize_json(swf)
                    s_end = time.perf_counter_ns()
                    if timed:
                        steps += 1
                        t.add("step", ms(end - start))
                        t.add("load", ms(loaded - start))
                        t.add("run", ms(ran - loaded))
                        t.add("dump", ms(end - ran))
                        t.add("stock_step", ms(s_end - s_start))
                        t.add("stock_load", ms(s_loaded - s_start))
                        t.add("stock_run", ms(s_ran - s_loaded))
                        t.add("stock_dump", ms(s_end - s_ran))

        s = t.samples
        sizes_app = [len(x.encode()) for x in app_states[warmup:]]
        sizes_stock = [len(x.encode()) for x in stock_states[warmup:]]
        figures = {
            "bare_spiff.step (load_state+complete+engine+dump_state)": figure(s["step"]),
            "bare_spiff.step.load_state": figure(s["load"]),
            "bare_spiff.step.complete+do_engine_steps": figure(s["run"]),
            "bare_spiff.step.dump_state": figure(s["dump"]),
            "bare_spiff.stock_step (deserialize_json+complete+engine+serialize_json)": figure(s["stock_step"]),
            "bare_spiff.stock_step.deserialize_json": figure(s["stock_load"]),
            "bare_spiff.stock_step.complete+do_engine_steps": figure(s["stock_run"]),
            "bare_spiff.stock_step.serialize_json": figure(s["stock_dump"]),
            "bare_spiff.state_size.app (final)": value(sum(sizes_app) / len(sizes_app) / 1024, unit="KiB"),
            "bare_spiff.state_size.stock (final)": value(sum(sizes_stock) / len(sizes_stock) / 1024, unit="KiB"),
            "bare_spiff.parse_model (once)": value(parse_ms, unit="ms"),
        }
        return figures
    finally:
        release_clock()


if __name__ == "__main__":
    from bench.run import print_figures

    print_figures(main(*[int(a) for a in sys.argv[1:]]))
