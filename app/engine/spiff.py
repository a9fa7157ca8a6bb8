"""SpiffWorkflow set-up in one place: parser, serializer, script engine and the engine's clock.

Facts this module relies on are in ../shared/reference/spiffworkflow.md: a deserialized workflow
gets the default unrestricted script engine unless re-attached, the stock workflow converter
embeds the whole spec in every serialization, and timers read `datetime.now()` themselves.
"""

import json
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

from app.core.clock import now_utc


class _EngineDatetime(datetime):
    """`datetime` whose now() is the application clock, so timers fire on the same clock the sweeper uses."""

    @classmethod
    def now(cls, tz=None):
        current = now_utc()
        return current.astimezone(tz) if tz else current.replace(tzinfo=None)


# Spiff's timer module is the only place the library reads the wall clock.
spiff_timer.datetime = _EngineDatetime


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec; restores it onto spec objects shared per definition."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry():
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = StateOnlyWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    return registry


serializer = BpmnWorkflowSerializer(_registry())
SERIALIZER_VERSION = serializer.VERSION


def dump_spec(spec, subprocess_specs) -> str:
    registry = serializer.registry
    subprocesses = {k: registry.convert(v) for k, v in subprocess_specs.items()}
    return json.dumps({"spec": registry.convert(spec), "subprocess_specs": subprocesses})


def load_spec(spec_json: str):
    data = json.loads(spec_json)
    registry = serializer.registry
    return registry.restore(data["spec"]), {k: registry.restore(v) for k, v in data["subprocess_specs"].items()}


def dump_state(workflow: BpmnWorkflow) -> str:
    registry = serializer.registry
    registry._encoder_mode = True  # as serialize_json() does: leaves datetimes for the JSON encoder
    try:
        return json.dumps(registry.convert(workflow), cls=serializer._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load_state(state: str, version: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    dct = json.loads(state, cls=serializer.json_decoder_cls)
    if version in MIGRATIONS:
        MIGRATIONS[version](dct)
    workflow = serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine  # a restored workflow otherwise gets the unrestricted default engine
    return workflow


def new_parser() -> SpiffBpmnParser:
    """A fresh parser per deployment: a parser refuses process ids it has already seen."""
    return SpiffBpmnParser(validator=VALIDATOR)


SAFE_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "float", "int", "len", "list", "max", "min",
        "round", "sorted", "str", "sum", "tuple", "True", "False", "None",
    )
}


class CheckedEnvironment(TaskDataEnvironment):
    """Runs each script or expression through the deploy-time check before Python sees it.

    The check is cached per source text, so a model's few distinct expressions are parsed once per
    worker. Restricted builtins alone would not stop a walk through dunder attributes to `os`.
    """

    def evaluate(self, expression, context, external_context=None):
        _refuse_if_unsafe(expression, statements=False)
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        _refuse_if_unsafe(script, statements=True)
        return super().execute(script, context, external_context)


def _refuse_if_unsafe(source: str, statements: bool) -> None:
    from app.engine.definitions import lint_expression

    problem = lint_expression(source, statements)
    if problem:
        raise ValueError(f"refused to run {source.strip()[:60]!r}: {problem}")


class ScriptEngine(PythonScriptEngine):
    """Service tasks call the handlers registered in app/engine/scripts.py. (The stock
    `call_service` hides every error behind a NameError of its own.)"""

    def call_service(self, task, operation_name, operation_params):
        from app.engine import scripts

        params = {name: p["value"] for name, p in operation_params.items()}
        return json.dumps(scripts.call(operation_name, task.data, params), default=str)


def make_script_engine(helpers: dict) -> PythonScriptEngine:
    """Scripts see task data, the vetted helpers and a handful of builtins; `import` has no builtin to call."""
    return ScriptEngine(environment=CheckedEnvironment({"__builtins__": SAFE_BUILTINS, **helpers}))
