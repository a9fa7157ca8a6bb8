"""Model-level tests for processes/common/demo_review.bpmn, run on raw SpiffWorkflow 3.2.

No Flask and no database: these tests check that the BPMN model routes, times out
and correlates as the engine contract says. The engine helpers ``deadline`` and
``warn_before`` are stubbed with fixed ISO strings; time is controlled through the
application clock, which app.engine.spiff wires into SpiffWorkflow's timer module, so the timer tests are deterministic.
"""
from datetime import datetime, UTC
from pathlib import Path

import pytest

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

BPMN_FILE = Path(__file__).resolve().parents[2] / "processes" / "common" / "demo_review.bpmn"
PROCESS_ID = "demo_review"
COLLABORATION_ID = "demo_review_collaboration"

TOWNSHIP, COUNTY, CITY = "township:clerk 乡镇（街道）窗口", "county:reviewer 县（区）审核", "city:approver 市局审批"

# Values returned by the stub helpers (fixed, timezone-aware ISO-8601 UTC strings).
REVIEW_DUE = "2030-01-10T09:00:00+00:00"
REVIEW_WARN = "2030-01-09T09:00:00+00:00"
# Fake "now" values for the clock fixture.
T_START = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)          # before both timers
T_AFTER_WARN = datetime(2030, 1, 9, 12, 0, tzinfo=UTC)    # warn passed, due not yet
T_AFTER_DUE = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)    # both passed

END_EVENTS = {"refused", "warning_recorded", "rejected_by_city", "completed"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def parser():
    p = SpiffBpmnParser(validator=VALIDATOR)
    p.add_bpmn_file(str(BPMN_FILE))
    return p


@pytest.fixture(scope="module")
def spec(parser):
    # The file contains a collaboration (needed for the correlation key), but the
    # process can still be fetched directly by its id.
    return parser.get_spec(PROCESS_ID)


@pytest.fixture(scope="module")
def subprocess_specs(parser):
    return parser.get_subprocess_specs(PROCESS_ID)


@pytest.fixture(scope="module")
def serializer():
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))


class FakeClock:
    """Controls ``datetime.now()`` as seen by SpiffWorkflow's timer event definitions."""

    def __init__(self, now):
        self.now = now

    def advance_to(self, when):
        assert when >= self.now
        self.now = when


@pytest.fixture
def clock():
    # app.engine.spiff points Spiff's timer module at the application clock.
    import app.engine.spiff  # noqa: F401
    from app.core.clock import set_clock

    assert spiff_timer.datetime.now(UTC).tzinfo is not None
    fake = FakeClock(T_START)
    set_clock(lambda: fake.now)
    yield fake
    set_clock(None)


# --------------------------------------------------------------------------- helpers


class Case:
    """Thin driver around a BpmnWorkflow for one case of the demo process."""

    def __init__(self, spec, subprocess_specs, *, case_no="DEMO-2030-0001", area_m2=500):
        self.helper_calls = []
        self.engine = self._make_engine()
        self.wf = BpmnWorkflow(spec, subprocess_specs, script_engine=self.engine)
        start = self.wf.get_next_task(state=TaskState.READY, spec_name="Start")
        start.set_data(case_no=case_no, service_code="DEMO-01", area_m2=area_m2)
        self.wf.do_engine_steps()

    def _make_engine(self):
        calls = self.helper_calls

        def deadline(n):
            calls.append(("deadline", n))
            return REVIEW_DUE

        def warn_before(iso, n):
            calls.append(("warn_before", iso, n))
            return REVIEW_WARN

        env = TaskDataEnvironment({"deadline": deadline, "warn_before": warn_before})
        return PythonScriptEngine(environment=env)

    # -- inspection
    def ready(self):
        """[(bpmn_id, lane)] of READY human tasks."""
        return [
            (t.task_spec.bpmn_id, t.task_spec.lane)
            for t in self.wf.get_tasks(state=TaskState.READY, manual=True)
        ]

    def state_of(self, bpmn_id):
        """States of all task instances of a BPMN element (loops create several)."""
        return [TaskState.get_name(t.state) for t in self.wf.get_tasks(spec_name=bpmn_id)]

    def completed_ids(self):
        return [t.task_spec.bpmn_id for t in self.wf.get_tasks(state=TaskState.COMPLETED)
                if t.task_spec.bpmn_id]

    def ended_at(self):
        return sorted(set(self.completed_ids()) & END_EVENTS)

    def waiting_message(self):
        return self.wf.get_next_task(state=TaskState.WAITING, spec_name="await_result")

    def timer_values(self):
        return sorted(e.value for e in self.wf.waiting_events() if "Time" in e.event_type)

    # -- actions
    def complete(self, bpmn_id, lane, **form):
        ready = self.wf.get_tasks(state=TaskState.READY, manual=True)
        assert [(t.task_spec.bpmn_id, t.task_spec.lane) for t in ready] == [(bpmn_id, lane)]
        task = ready[0]
        task.set_data(**form)
        task.run()
        self.wf.do_engine_steps()

    def message_event(self, payload):
        waiting = self.waiting_message()
        assert waiting is not None, "not waiting at await_result"
        ed = waiting.task_spec.event_definition
        correlations = ed.calculate_correlations(self.wf.script_engine, ed.correlation_properties, payload)
        return BpmnEvent(ed, payload, correlations)

    def deliver(self, payload):
        self.wf.send_event(self.message_event(payload))
        self.wf.do_engine_steps()

    def tick(self):
        """What the engine's timer job does."""
        self.wf.refresh_timers()
        self.wf.do_engine_steps()

    def round_trip(self, serializer):
        state = serializer.serialize_json(self.wf)
        self.wf = serializer.deserialize_json(state)
        self.wf.script_engine = self.engine  # always re-attach the engine after loading
        return state


def pass_accept(case):
    assert case.ready() == [("accept", TOWNSHIP)]
    case.complete("accept", TOWNSHIP, decision="accept", accept_note="材料齐全")
    assert ("deadline", 5) in case.helper_calls
    assert ("warn_before", REVIEW_DUE, 1) in case.helper_calls


# --------------------------------------------------------------------------- model structure


def test_model_structure_lanes_and_properties(parser, spec):
    assert parser.get_process_ids() == [PROCESS_ID]
    assert spec.name == PROCESS_ID
    assert spec.description == "示范审批流程"
    assert parser.get_process_parser(PROCESS_ID).has_lanes()

    expected_lanes = {
        "start": TOWNSHIP, "merge_accept": TOWNSHIP, "accept": TOWNSHIP,
        "accept_decision": TOWNSHIP, "refused": TOWNSHIP,
        "set_review_deadline": COUNTY, "county_review": COUNTY, "review_warning": COUNTY,
        "review_overdue": COUNTY, "record_warning": COUNTY, "warning_recorded": COUNTY,
        "review_outcome": COUNTY, "merge_result": COUNTY, "await_result": COUNTY,
        "completed": COUNTY,
        "merge_city": CITY, "city_approve": CITY, "city_decision": CITY,
        "rejected_by_city": CITY,
    }
    bpmn_specs = {ts.bpmn_id: ts for ts in spec.task_specs.values() if ts.bpmn_id}
    assert set(bpmn_specs) == set(expected_lanes)
    assert {k: ts.lane for k, ts in bpmn_specs.items()} == expected_lanes

    user_tasks = {k: ts.extensions["properties"] for k, ts in bpmn_specs.items()
                  if type(ts).__name__ == "UserTask"}
    assert user_tasks == {
        "accept": {"formKey": "demo_accept", "slaDays": "2", "allowWithdraw": "true"},
        "county_review": {"formKey": "demo_review", "slaDays": "5", "allowWithdraw": "true"},
        "city_approve": {"formKey": "demo_city_approve", "slaDays": "3"},
    }

    # Boundary timers: one non-interrupting (warning), one interrupting (overdue).
    assert bpmn_specs["review_warning"].cancel_activity is False
    assert bpmn_specs["review_overdue"].cancel_activity is True
    assert bpmn_specs["review_warning"].event_definition.expression == "review_warn"
    assert bpmn_specs["review_overdue"].event_definition.expression == "review_due"

    # Message + correlation as the engine expects them.
    ed = bpmn_specs["await_result"].event_definition
    assert ed.name == "demo_result"
    assert ed.message_var == "external_result"
    assert [(p.name, p.retrieval_expression, p.correlation_keys) for p in ed.correlation_properties] \
        == [("case_no", "case_no", ["case_key"])]
    assert [(p.name, p.retrieval_expression, p.correlation_keys) for p in ed.process_correlations] \
        == [("case_no", "case_no", ["case_key"])]
    assert spec.correlation_keys == {"case_key": ["case_no"]}


def test_collaboration_is_also_available(parser):
    # Alternative entry point (not needed by the engine): the collaboration wraps the
    # process as a participant sub-workflow. get_spec(PROCESS_ID) is the one to use.
    _collab_spec, collab_subprocesses = parser.get_collaboration(COLLABORATION_ID)
    assert set(collab_subprocesses) == {PROCESS_ID}


# --------------------------------------------------------------------------- paths


def test_a_accept_approve_message_completed(spec, subprocess_specs, serializer, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-A")
    pass_accept(case)

    assert case.ready() == [("county_review", COUNTY)]
    assert case.timer_values() == [REVIEW_WARN, REVIEW_DUE]
    case.complete("county_review", COUNTY, decision="approve", review_note="同意")

    # Now waiting for the external result; both boundary timers are gone.
    assert case.ready() == []
    assert case.timer_values() == []
    assert case.waiting_message() is not None
    assert case.waiting_message().task_spec.lane == COUNTY
    assert case.wf.correlations == {"case_key": {"case_no": "DEMO-A"}}

    # Persist and reload at the message wait, then continue on the restored workflow.
    state = case.round_trip(serializer)
    assert "DEMO-A" in state
    assert case.wf.correlations == {"case_key": {"case_no": "DEMO-A"}}

    case.deliver({"case_no": "DEMO-A", "result": "registered", "cert_no": "CERT-1"})
    assert case.wf.is_completed()
    assert case.ended_at() == ["completed"]
    done = case.wf.get_next_task(state=TaskState.COMPLETED, spec_name="completed")
    assert done.data["external_result"] == {"case_no": "DEMO-A", "result": "registered", "cert_no": "CERT-1"}
    assert done.data["decision"] == "approve"
    assert "city_approve" not in case.completed_ids()


def test_b_send_back_then_escalate_to_city(spec, subprocess_specs, serializer, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-B")
    pass_accept(case)

    case.complete("county_review", COUNTY, decision="send_back", review_note="补充材料")
    assert case.ready() == [("accept", TOWNSHIP)]       # the send-back loop
    assert case.timer_values() == []                   # old boundary timers cancelled

    pass_accept(case)
    assert case.ready() == [("county_review", COUNTY)]
    assert case.timer_values() == [REVIEW_WARN, REVIEW_DUE]  # re-armed for the new round
    case.complete("county_review", COUNTY, decision="escalate")

    assert case.ready() == [("city_approve", CITY)]
    case.complete("city_approve", CITY, decision="approve")
    assert case.ready() == []
    assert case.waiting_message() is not None

    case.round_trip(serializer)
    case.deliver({"case_no": "DEMO-B", "result": "registered"})
    assert case.wf.is_completed()
    assert case.ended_at() == ["completed"]
    assert case.completed_ids().count("accept") == 2
    assert case.completed_ids().count("county_review") == 2


def test_b_large_area_goes_to_city_but_send_back_wins(spec, subprocess_specs, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-B2", area_m2=10000)
    pass_accept(case)
    # send_back takes precedence over the area rule
    case.complete("county_review", COUNTY, decision="send_back")
    assert case.ready() == [("accept", TOWNSHIP)]
    pass_accept(case)
    # area_m2 >= 10000 escalates even when the county reviewer approves
    case.complete("county_review", COUNTY, decision="approve")
    assert case.ready() == [("city_approve", CITY)]


def test_c_reject_at_accept(spec, subprocess_specs, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-C")
    assert case.ready() == [("accept", TOWNSHIP)]
    case.complete("accept", TOWNSHIP, decision="reject", reason="不属于本机关职责")
    assert case.wf.is_completed()
    assert case.ended_at() == ["refused"]
    assert case.helper_calls == []        # never reached the deadline script
    assert "county_review" not in case.completed_ids()


def test_city_rejects(spec, subprocess_specs, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-R")
    pass_accept(case)
    case.complete("county_review", COUNTY, decision="escalate")
    case.complete("city_approve", CITY, decision="reject")
    assert case.wf.is_completed()
    assert case.ended_at() == ["rejected_by_city"]
    assert case.waiting_message() is None


def test_d_warning_timer_is_non_interrupting(spec, subprocess_specs, serializer, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-D")
    pass_accept(case)
    assert case.ready() == [("county_review", COUNTY)]
    assert case.state_of("review_warning") == ["WAITING"]
    assert case.state_of("review_overdue") == ["WAITING"]
    assert "record_warning" not in case.completed_ids()

    # The anchored timer values survive persistence.
    case.round_trip(serializer)
    assert case.timer_values() == [REVIEW_WARN, REVIEW_DUE]

    # Nothing happens while the warn time is still in the future.
    case.tick()
    assert "record_warning" not in case.completed_ids()

    clock.advance_to(T_AFTER_WARN)
    case.tick()
    assert "record_warning" in case.completed_ids()
    assert "warning_recorded" in case.completed_ids()
    assert case.state_of("review_warning") == ["COMPLETED"]
    # ... while the county review is still open and the overdue timer still armed.
    assert case.ready() == [("county_review", COUNTY)]
    assert case.state_of("review_overdue") == ["WAITING"]
    assert case.timer_values() == [REVIEW_DUE]
    warned = case.wf.get_next_task(state=TaskState.COMPLETED, spec_name="record_warning")
    assert warned.data["sla_warned"] is True

    # The warning fires only once.
    case.tick()
    assert case.completed_ids().count("record_warning") == 1

    # The case then continues normally.
    case.complete("county_review", COUNTY, decision="approve")
    assert case.state_of("review_overdue") == ["CANCELLED"]
    # Note: sla_warned was set on the (parallel) warning branch, so it is NOT in the
    # main path's data; it only reappears in wf.data after the process ends.
    assert "sla_warned" not in case.waiting_message().data
    case.deliver({"case_no": "DEMO-D"})
    assert case.wf.is_completed()
    assert case.ended_at() == ["completed", "warning_recorded"]
    assert case.wf.data.get("sla_warned") is True


def test_d_warning_already_due_when_review_starts(spec, subprocess_specs, clock):
    # If the warn time has already passed when county_review is reached, the
    # warning branch runs within the same do_engine_steps() call.
    clock.advance_to(T_AFTER_WARN)
    case = Case(spec, subprocess_specs, case_no="DEMO-D2")
    pass_accept(case)
    assert "record_warning" in case.completed_ids()
    assert case.ready() == [("county_review", COUNTY)]
    assert case.state_of("review_overdue") == ["WAITING"]


def test_e_overdue_timer_escalates_to_city(spec, subprocess_specs, serializer, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-E")
    pass_accept(case)
    assert case.ready() == [("county_review", COUNTY)]
    case.round_trip(serializer)

    clock.advance_to(T_AFTER_DUE)   # warn and due both passed
    case.tick()

    assert case.ready() == [("city_approve", CITY)]
    assert case.state_of("county_review") == ["CANCELLED"]
    assert case.state_of("review_overdue") == ["COMPLETED"]
    assert "record_warning" in case.completed_ids()  # the warning branch still ran
    assert case.timer_values() == []

    case.complete("city_approve", CITY, decision="approve")
    case.deliver({"case_no": "DEMO-E"})
    assert case.wf.is_completed()
    assert "completed" in case.ended_at()


def test_f_message_for_another_case_is_rejected(spec, subprocess_specs, serializer, clock):
    case = Case(spec, subprocess_specs, case_no="DEMO-F")

    # A message before the case waits for one is rejected as well.
    ed = spec.task_specs["await_result"].event_definition
    early = BpmnEvent(ed, {"case_no": "DEMO-F"},
                      ed.calculate_correlations(case.wf.script_engine, ed.correlation_properties,
                                                {"case_no": "DEMO-F"}))
    with pytest.raises(WorkflowException, match="not waiting for demo_result"):
        case.wf.send_event(early)

    pass_accept(case)
    case.complete("county_review", COUNTY, decision="approve")
    case.round_trip(serializer)

    wrong = case.message_event({"case_no": "DEMO-OTHER", "result": "registered"})
    assert wrong.correlations == {"case_key": {"case_no": "DEMO-OTHER"}}
    with pytest.raises(WorkflowException, match="not waiting for demo_result"):
        case.wf.send_event(wrong)
    case.wf.do_engine_steps()
    assert case.waiting_message() is not None
    assert not case.wf.is_completed()

    # Correlations must be keyed by the correlation key name ("case_key"), not the property.
    with pytest.raises(WorkflowException):
        case.wf.send_event(BpmnEvent(ed, {"case_no": "DEMO-F"}, {"case_no": "DEMO-F"}))
    # A payload without case_no cannot even be correlated (plain NameError from eval).
    with pytest.raises(NameError):
        case.message_event({"result": "registered"})

    case.deliver({"case_no": "DEMO-F", "result": "registered"})
    assert case.wf.is_completed()
    assert case.ended_at() == ["completed"]
