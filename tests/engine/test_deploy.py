"""Deploying models: the lint refuses unsafe scripts and bad lanes, a changed model becomes a new version,
running cases stay on the version they started on, and the runtime script engine has no way to import.

Every variant is a copy of processes/common/demo_review.bpmn under a process id unique to the test, so
nothing deployed here becomes the current demo_review for other tests (deployed definitions are kept
across tests).
"""

import hashlib
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from app.cases.models import Case, CaseStatus, Family, Service
from app.cases.operations import open_case
from app.engine import runtime, spiff
from app.engine.definitions import DeployError, deploy_all, latest_definition, lint_expression
from app.engine.errors import ModelError
from app.engine.models import HumanTask, ProcessDefinition, ProcessInstance
from app.extensions import db
from app.orgs.models import Tier

SOURCE = Path(__file__).resolve().parents[2] / "processes" / "common" / "demo_review.bpmn"


@pytest.fixture
def variant(tmp_path):
    """variant(edit) -> (directory holding the edited model, its process id)."""
    process_id = f"deploy_{uuid4().hex[:10]}"
    base = tmp_path / "processes"

    def write(*replacements: tuple[str, str]):
        text = SOURCE.read_text(encoding="utf-8")
        text = text.replace('id="demo_review"', f'id="{process_id}"').replace(
            'processRef="demo_review"', f'processRef="{process_id}"')
        for old, new in replacements:
            assert old in text, f"{old!r} is not in the model any more; update the test"
            text = text.replace(old, new)
        (base / "common").mkdir(parents=True, exist_ok=True)
        (base / "common" / "demo_review.bpmn").write_text(text, encoding="utf-8")
        return base

    write.process_id = process_id
    return write


def definitions_of(process_id: str) -> list[ProcessDefinition]:
    return db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                              .order_by(ProcessDefinition.version)).all()


def definition_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessDefinition))


# --------------------------------------------------------------------------- refused at deploy

REFUSED = {
    "script imports a module": (
        ("review_due = deadline(5)", "import os\nreview_due = deadline(5)"), "set_review_deadline", "import"),
    "condition calls __import__": (
        ('decision == "reject"</bpmn:conditionExpression>',
         "__import__('os').system('x')</bpmn:conditionExpression>"), "flow_refuse", "__import__"),
    "condition walks dunder attributes": (
        ('decision == "send_back"</bpmn:conditionExpression>',
         "().__class__.__base__</bpmn:conditionExpression>"), "flow_send_back", "__class__"),
    "timer reaches for open()": (
        ("<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">review_warn</bpmn:timeDate>",
         "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">open('/etc/passwd').read()</bpmn:timeDate>"),
        "review_warning", "open"),
    "lane with an unknown role": (('name="township:clerk', 'name="township:wizard'), "lane_township_clerk",
                                  "township:wizard"),
}


@pytest.mark.parametrize(("edit", "where", "what"), REFUSED.values(), ids=REFUSED.keys())
def test_unsafe_or_invalid_model_is_refused(ctx, variant, edit, where, what):
    before = definition_count()
    with pytest.raises(DeployError) as refused:
        deploy_all(variant(edit))
    db.session.rollback()
    message = str(refused.value)
    assert "demo_review.bpmn" in message, message
    assert where in message, message
    assert what in message, message
    assert definition_count() == before
    assert definitions_of(variant.process_id) == []


def test_unsafe_correlation_expression_is_refused(ctx, variant):
    edit = ("<bpmn:messagePath>case_no</bpmn:messagePath>",
            "<bpmn:messagePath>case_no if ().__class__.__base__.__subclasses__() else case_no</bpmn:messagePath>")
    try:
        with pytest.raises(DeployError):
            deploy_all(variant(edit))
    finally:
        db.session.rollback()


def test_lint_accepts_the_shipped_model_expressions():
    assert lint_expression("review_due = deadline(5)\nreview_warn = warn_before(review_due, 1)", True) is None
    assert lint_expression('decision == "escalate" or (decision != "send_back" and area_m2 >= 10000)', False) is None
    assert lint_expression("'a__b'", False) is not None  # hidden dunder names in strings are refused too


# --------------------------------------------------------------------------- versions


def test_changed_model_is_a_new_version_and_unchanged_is_the_same_row(ctx, variant):
    (v1,) = deploy_all(variant())
    db.session.commit()
    assert (v1.process_id, v1.version) == (variant.process_id, 1)

    (again,) = deploy_all(variant())
    db.session.commit()
    assert again.id == v1.id
    assert again.version == 1
    assert again.sha256 == v1.sha256

    (v2,) = deploy_all(variant(('name="县级审核"', 'name="县级审核（修订）"')))
    db.session.commit()
    assert v2.id != v1.id
    assert v2.version == 2
    assert v2.sha256 != v1.sha256
    assert [(d.id, d.version) for d in definitions_of(variant.process_id)] == [(v1.id, 1), (v2.id, 2)]
    assert latest_definition(variant.process_id).id == v2.id
    assert "县级审核（修订）" in v2.bpmn_xml
    assert "县级审核（修订）" not in v1.bpmn_xml


def _complete(case, user, **data):
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    runtime.complete_task(task.id, user, data)
    db.session.commit()
    return task


def _only_task(case) -> HumanTask:
    return db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()


def test_running_case_stays_on_its_version_and_new_cases_use_the_latest(ctx, variant, users, units):
    (v1,) = deploy_all(variant())
    service = Service(code=variant.process_id[:32], name="版本测试事项", family=Family.COMMON,
                      process_id=variant.process_id, statutory_days=20, committed_days=10,
                      accepting_tier=Tier.TOWNSHIP)
    db.session.add(service)
    db.session.commit()
    applicant = users["zhangsan"]
    old = open_case(service, units["220102001"], "旧版本宗地", {"area_m2": 500.0}, applicant=applicant,
                    actor_id=applicant.id)
    db.session.commit()

    (v2,) = deploy_all(variant(('name="县级审核"', 'name="县级审核（修订）"')))
    db.session.commit()
    assert v2.version == 2
    new = open_case(service, units["220102001"], "新版本宗地", {"area_m2": 500.0}, applicant=applicant,
                    actor_id=applicant.id)
    db.session.commit()

    def definition_id(case):
        return db.session.scalar(select(ProcessInstance.definition_id).where(ProcessInstance.case_id == case.id))

    assert definition_id(old) == v1.id
    assert definition_id(new) == v2.id

    # The old case runs to the end on v1: its review step carries v1's name, and it can still complete.
    _complete(old, users["nanling_clerk"], decision="accept")
    assert _only_task(old).name == "县级审核"
    _complete(old, users["nanguan_reviewer"], decision="approve")
    _, delivered = runtime.deliver_message("demo_result", {"case_no": old.case_no},
                                           {"case_no": old.case_no, "ok": True}, f"m-{old.case_no}", "test")
    db.session.commit()
    assert delivered
    db.session.refresh(old)
    assert (old.status, old.outcome) == (CaseStatus.COMPLETED, "completed")
    assert definition_id(old) == v1.id

    _complete(new, users["nanling_clerk"], decision="accept")
    assert _only_task(new).name == "县级审核（修订）"
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == new.id))
    assert runtime.load(instance).script_engine is runtime.script_engine()  # restored with the restricted engine


# --------------------------------------------------------------------------- the runtime restriction

TINY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="tiny_definitions" targetNamespace="http://smartland.example.gov.cn/bpmn/tiny">
  <bpmn:process id="{process_id}" name="tiny" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="run_script" name="script" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="choose" default="f_default">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_cond</bpmn:outgoing><bpmn:outgoing>f_default</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="run_script" />
    <bpmn:sequenceFlow id="f2" sourceRef="run_script" targetRef="choose" />
    <bpmn:sequenceFlow id="f_cond" sourceRef="choose" targetRef="end_a">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_default" sourceRef="choose" targetRef="end_b" />
    <bpmn:endEvent id="end_a"><bpmn:incoming>f_cond</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_b"><bpmn:incoming>f_default</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def deploy_unlinted(script: str, condition: str) -> ProcessDefinition:
    """Parse and store a model straight through app.engine.spiff, skipping definitions.lint_model."""
    process_id = f"tiny_{uuid4().hex[:10]}"
    xml = TINY.format(process_id=process_id, script=script, condition=condition)
    parser = spiff.new_parser()
    parser.add_bpmn_str(xml.encode("utf-8"), filename="tiny.bpmn")
    spec_json = spiff.dump_spec(parser.get_spec(process_id), parser.get_subprocess_specs(process_id))
    row = ProcessDefinition(process_id=process_id, name="tiny", version=1,
                            sha256=hashlib.sha256(xml.encode()).hexdigest(), source_path="tiny.bpmn",
                            bpmn_xml=xml, spec_json=spec_json)
    db.session.add(row)
    db.session.commit()
    return row


def new_case(units, users, title: str) -> Case:
    case = Case(case_no=f"TINY-{uuid4().hex[:12]}", service_code="demo_review", title=title,
                jurisdiction_id=units["220102001"].id, applicant_id=users["zhangsan"].id)
    db.session.add(case)
    db.session.flush()
    return case


def test_harmless_unlinted_model_runs(ctx, units, users):
    definition = deploy_unlinted("x = len([1, 2])", "x == 2")
    case = new_case(units, users, "无害模型")
    instance = runtime.start(case, definition, {}, users["zhangsan"].id)
    db.session.commit()
    assert case.status == CaseStatus.COMPLETED
    assert case.outcome == "end_a"
    assert instance.status == "completed"


def exception_chain(exc: BaseException) -> list[BaseException]:
    chain = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


ESCAPES = {
    "script calls __import__": ("x = __import__('os').getcwd()", "True"),
    "script uses import": ("import os\nx = os.getcwd()", "True"),
    "script opens a file": ("x = open('/etc/hostname').read()", "True"),
    "condition calls __import__": ("x = 1", "__import__('os').system('true') == 0"),
    "condition uses eval": ("x = 1", "eval('1') == 1"),
}


@pytest.mark.parametrize(("script", "condition"), ESCAPES.values(), ids=ESCAPES.keys())
def test_restricted_engine_refuses_imports_at_run_time(ctx, units, users, script, condition):
    assert lint_expression(script, True) or lint_expression(condition, False)  # the lint would have refused it
    definition = deploy_unlinted(script, condition)
    case = new_case(units, users, "不安全模型")
    with pytest.raises(ModelError) as failed:
        runtime.start(case, definition, {}, users["zhangsan"].id)
    db.session.rollback()
    assert any("refused to run" in str(e) for e in exception_chain(failed.value)), str(failed.value)
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)
                             .where(ProcessInstance.definition_id == definition.id)) == 0


def test_restricted_engine_refuses_dunder_attribute_walks(ctx, units, users):
    definition = deploy_unlinted("x = 1", "().__class__.__base__.__subclasses__() is not None")
    case = new_case(units, users, "属性逃逸模型")
    try:
        with pytest.raises(ModelError):
            runtime.start(case, definition, {}, users["zhangsan"].id)
    finally:
        db.session.rollback()


def test_script_environment_refuses_unsafe_code_and_has_no_import_or_open():
    from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

    environment = runtime.script_engine().environment
    for expression in ("__import__('os')", "open('/etc/hostname')", "getattr(1, 'real')",
                       "().__class__.__base__.__subclasses__()"):
        with pytest.raises(ValueError, match="refused"):
            environment.evaluate(expression, {})
    with pytest.raises(ValueError, match="refused"):
        environment.execute("import os", {})
    # Beneath the check, the builtins themselves are missing too.
    with pytest.raises(NameError):
        TaskDataEnvironment.evaluate(environment, "__import__('os')", {})
    with pytest.raises(NameError):
        TaskDataEnvironment.evaluate(environment, "open('/etc/hostname')", {})
    assert environment.evaluate("deadline", {}) is not None  # the vetted helpers are there
    assert environment.evaluate("max(a, 2)", {"a": 1}) == 2
