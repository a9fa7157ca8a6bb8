"""Benchmark 2: one task completion through the service layer on PostgreSQL.

    runtime.complete_task(task_id, user, {"decision": ...}) + db.session.commit()

Database `smartland_bench` (created if missing), tables dropped and created, the models deployed,
the demo organisation seeded without cases. N cases are opened up front (spread over three
townships of two counties); then every case's `accept` is completed by its township clerk (timed),
then every case's `county_review` is approved by its county reviewer (timed). A further set of cases
goes through the same two steps with SQL statements counted and their time summed, to split the
completion into database round trips and Python.

Target (issue): median <= 10 ms, and <= 5 x the bare Spiff load-run-save step (benchmark 1).
"""

import random
import sys
import time

from bench._common import SEED, ensure_database, figure, fixed_clock, gc_collected, make_app, ms, release_clock, value

DATABASE = "smartland_bench"
TARGET_MEDIAN_MS = 10.0
TARGET_RATIO = 5.0
# township -> (clerk, county reviewer)
OFFICES = [("220102001", "nanling_clerk", "nanguan_reviewer"),
           ("220102002", "ziqiang_clerk", "nanguan_reviewer"),
           ("220122100", "nongan_town_clerk", "nongan_reviewer")]


def _setup(app):
    from app.demo_data import seed_all
    from app.engine.definitions import deploy_all
    from app.extensions import db

    db.drop_all()
    db.create_all()
    deploy_all(app.config["PROCESSES_DIR"])
    seed_all(with_cases=False)
    db.session.commit()


def _open_cases(n: int, rng: random.Random) -> list[tuple[int, int]]:
    """Open n cases; returns (case id, index into OFFICES)."""
    from app.cases.models import Service
    from app.cases.operations import open_case
    from app.extensions import db
    from app.orgs.models import OrgUnit, User
    from sqlalchemy import select

    service = db.session.get(Service, "demo_review")
    units = {u.code: u for u in db.session.scalars(select(OrgUnit))}
    applicant = db.session.scalar(select(User).where(User.username == "zhangsan"))
    opened = []
    for i in range(n):
        office = i % len(OFFICES)
        # Mostly below the 10,000 m2 city threshold: approve goes to the message wait, else to the city.
        area = round(rng.uniform(100, 9500) if rng.random() < 0.9 else rng.uniform(10000, 30000), 1)
        case = open_case(service, units[OFFICES[office][0]], f"基准宗地 {i}", {"area_m2": area},
                         applicant=applicant, actor_id=applicant.id,
                         applicant_data={"name": applicant.display_name, "id_number": applicant.id_number})
        db.session.commit()
        opened.append((case.id, office))
    return opened


def _task_ids(case_ids: list[int], bpmn_id: str) -> dict[int, int]:
    from app.engine.models import HumanTask
    from app.extensions import db
    from sqlalchemy import select

    rows = db.session.execute(select(HumanTask.case_id, HumanTask.id).where(
        HumanTask.case_id.in_(case_ids), HumanTask.bpmn_id == bpmn_id)).all()
    return dict(rows)


def _complete_all(cases, bpmn_id: str, decision: str, users: dict, role_index: int) -> list[float]:
    from app.engine import runtime
    from app.extensions import db

    tasks = _task_ids([c for c, _ in cases], bpmn_id)
    assert len(tasks) == len(cases), f"expected {len(cases)} {bpmn_id} tasks, found {len(tasks)}"
    samples = []
    with gc_collected():
        for case_id, office in cases:
            user = users[OFFICES[office][role_index]]
            start = time.perf_counter_ns()
            runtime.complete_task(tasks[case_id], user, {"decision": decision, "opinion": "符合要求"})
            db.session.commit()
            samples.append(ms(time.perf_counter_ns() - start))
    return samples


class _SqlCounter:
    """Counts statements and sums their execution time (cursor execute to return)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.count, self.ns, self._start = engine, 0, 0, 0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *args):
        self._start = time.perf_counter_ns()

    def _after(self, *args):
        self.count += 1
        self.ns += time.perf_counter_ns() - self._start

    def close(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def main(cases: int = 300, warmup: int = 30, instrumented: int = 60, bare_step_median: float | None = None) -> dict:
    from sqlalchemy import select

    from app.core.deadlines import forget_calendar
    from app.extensions import db
    from app.orgs.models import User

    if bare_step_median is None:
        from bench import bare_spiff

        bare_step_median = bare_spiff.main()["bare_spiff.step (load_state+complete+engine+dump_state)"]["median"]

    rng = random.Random(SEED)
    app = make_app(ensure_database(DATABASE))
    fixed_clock()
    try:
        with app.app_context():
            forget_calendar()
            _setup(app)
            users = {u.username: u for u in db.session.scalars(select(User))}
            t0 = time.perf_counter_ns()
            opened = _open_cases(warmup + cases + instrumented, rng)
            open_ms = ms(time.perf_counter_ns() - t0) / len(opened)
            warm, timed, instr = opened[:warmup], opened[warmup:warmup + cases], opened[warmup + cases:]

            _complete_all(warm, "accept", "accept", users, 1)
            accept = _complete_all(timed, "accept", "accept", users, 1)
            _complete_all(warm, "county_review", "approve", users, 2)
            review = _complete_all(timed, "county_review", "approve", users, 2)

            counter = _SqlCounter(db.engine)
            try:
                before = time.perf_counter_ns()
                _complete_all(instr, "accept", "accept", users, 1)
                _complete_all(instr, "county_review", "approve", users, 2)
                wall = ms(time.perf_counter_ns() - before)
                per = 2 * len(instr)
                statements, sql_ms = counter.count / per, ms(counter.ns) / per
            finally:
                counter.close()
            db.session.remove()
        both = accept + review
        med = figure(both)["median"]
        ratio = med / bare_step_median
        tgt = f"median <= {TARGET_MEDIAN_MS:g} ms"
        return {
            "completion.accept (complete_task+commit)": figure(accept, target=TARGET_MEDIAN_MS, target_text=tgt),
            "completion.county_review approve (complete_task+commit)": figure(review, target=TARGET_MEDIAN_MS,
                                                                              target_text=tgt),
            "completion.all steps": figure(both, target=TARGET_MEDIAN_MS, target_text=tgt),
            "completion.ratio median / bare_spiff step median": value(
                ratio, unit="x", target_text=f"<= {TARGET_RATIO:g} x (bare step median {bare_step_median:.3f} ms)",
                ok=ratio <= TARGET_RATIO),
            "completion.sql statements per completion": value(statements, unit="statements"),
            "completion.sql time per completion (cursor execute, incl. COMMIT)": value(sql_ms, unit="ms"),
            "completion.python time per completion (rest)": value(wall / per - sql_ms, unit="ms"),
            "completion.open_case+commit (set-up, mean)": value(open_ms, unit="ms"),
        }
    finally:
        release_clock()


if __name__ == "__main__":
    from bench.run import print_figures

    print_figures(main(*[int(a) for a in sys.argv[1:]]))
