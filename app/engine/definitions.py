"""Deploying the models in processes/: parse, validate, lint scripts, store one row per content hash."""

import ast
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree
from sqlalchemy import func, select
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from app.engine import spiff
from app.engine.lanes import LaneError, parse_lane
from app.engine.models import ProcessDefinition
from app.extensions import db

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Elements whose text the engine evaluates as Python: scripts, conditions, timer bodies,
# correlation expressions, and DMN cells.
_EXPRESSION_TAGS = {
    "script", "conditionExpression", "timeDate", "timeDuration", "timeCycle", "formalExpression",
    "expression", "preScript", "postScript", "text", "loopCardinality", "completionCondition",
    "messagePath", "messagePayload",
}
_STATEMENT_TAGS = {"script", "preScript", "postScript"}
_FORBIDDEN_NAMES = {
    "os", "sys", "subprocess", "importlib", "builtins", "eval", "exec", "compile", "open", "input",
    "getattr", "setattr", "delattr", "globals", "locals", "vars", "type", "object", "breakpoint",
    "memoryview", "help", "exit", "quit",
}
_FORBIDDEN_NODES = (
    ast.Import, ast.ImportFrom, ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
    ast.Global, ast.Nonlocal, ast.With, ast.AsyncWith, ast.Try, ast.Raise, ast.Delete, ast.Await,
    ast.Yield, ast.YieldFrom, ast.While,
)


class DeployError(Exception):
    """A model that must not be deployed; the message names the file, element and reason."""


@dataclass(frozen=True)
class LoadedSpec:
    spec: object
    subprocess_specs: dict


@lru_cache(maxsize=4096)
def lint_expression(source: str, statements: bool) -> str | None:
    """Why this script or expression may not run, or None if it is acceptable.

    Models are code, but a reviewer can miss a line: anything reaching for modules, dunder
    attributes or dynamic evaluation is refused before it can ever run.
    """
    try:
        tree = ast.parse(source.strip(), mode="exec" if statements else "eval")
    except SyntaxError as exc:
        return f"syntax error: {exc.msg} (line {exc.lineno})"
    for node in ast.walk(tree):
        if isinstance(node, _FORBIDDEN_NODES):
            return f"{type(node).__name__.lower()} is not allowed"
        if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in _FORBIDDEN_NAMES):
            return f"name '{node.id}' is not allowed"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"attribute '{node.attr}' is not allowed"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
            return "strings containing '__' are not allowed"
    return None


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def lint_model(path: Path, xml: bytes) -> None:
    from app.engine.scripts import HANDLERS

    root = etree.fromstring(xml)
    for operator in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
        if operator.get("id") not in HANDLERS:
            raise DeployError(f"{path.name}: no service task handler named {operator.get('id')!r}")
        for parameter in operator.iter(f"{{{SPIFF_NS}}}parameter"):
            problem = lint_expression(parameter.get("value") or "None", statements=False)
            if problem:
                raise DeployError(f"{path.name}: {operator.get('id')}: parameter {parameter.get('id')}: {problem}")
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        try:
            parse_lane(lane.get("name"))
        except LaneError as exc:
            raise DeployError(f"{path.name}: {lane.get('id')}: {exc}") from None
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname
        if tag not in _EXPRESSION_TAGS or not (element.text or "").strip():
            continue
        if tag == "text" and etree.QName(element.getparent()).localname == "textAnnotation":
            continue
        problem = lint_expression(element.text, statements=tag in _STATEMENT_TAGS)
        if problem:
            owner = element
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            where = owner.get("id") if owner is not None else tag
            raise DeployError(f"{path.name}: {where}: {problem}: {element.text.strip()[:80]!r}")


def _executable_process_ids(xml: bytes) -> list[tuple[str, str]]:
    root = etree.fromstring(xml)
    return [
        (p.get("id"), p.get("name") or p.get("id"))
        for p in root.iter(f"{{{BPMN_NS}}}process")
        if p.get("isExecutable", "true") == "true"
    ]


def deploy_all(processes_dir: str | Path) -> list[ProcessDefinition]:
    """Deploy every executable process found under `processes_dir`.

    A process whose parsed spec (including called processes and decisions) is unchanged keeps
    its current version; a changed one becomes a new version. Running instances stay pinned to
    the row they started on. Flushes; the caller commits.
    """
    base = Path(processes_dir)
    bpmn_files = sorted(base.rglob("*.bpmn"))
    dmn_files = sorted(base.rglob("*.dmn"))
    parser = spiff.new_parser()
    sources: dict[str, tuple[Path, bytes, str]] = {}
    try:
        for path in [*bpmn_files, *dmn_files]:
            xml = path.read_bytes()
            lint_model(path, xml)
        for path in dmn_files:
            parser.add_dmn_file(str(path))
        for path in bpmn_files:
            xml = path.read_bytes()
            parser.add_bpmn_file(str(path))
            for process_id, name in _executable_process_ids(xml):
                sources[process_id] = (path, xml, name)
        deployed = []
        for process_id, (path, xml, name) in sorted(sources.items()):
            spec = parser.get_spec(process_id)
            spec_json = spiff.dump_spec(spec, parser.get_subprocess_specs(process_id))
            deployed.append(_store(process_id, name, path.relative_to(base).as_posix(), xml, spec_json))
    except ValidationException as exc:
        where = f"{Path(exc.file_name or '?').name}: line {exc.line_number}: {exc.id or exc.tag}"
        raise DeployError(f"{where}: {exc}") from exc
    return deployed


def _store(process_id: str, name: str, source_path: str, xml: bytes, spec_json: str) -> ProcessDefinition:
    sha = hashlib.sha256(spec_json.encode() + b"\0" + xml).hexdigest()
    existing = db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == process_id, ProcessDefinition.sha256 == sha)
    )
    if existing:
        return existing
    latest = db.session.scalar(
        select(func.max(ProcessDefinition.version)).where(ProcessDefinition.process_id == process_id))
    row = ProcessDefinition(
        process_id=process_id, name=name, version=(latest or 0) + 1, sha256=sha,
        source_path=source_path, bpmn_xml=xml.decode("utf-8"), spec_json=spec_json,
    )
    db.session.add(row)
    db.session.flush()
    return row


def latest_definition(process_id: str) -> ProcessDefinition | None:
    return db.session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )


_loaded: dict[tuple[int, str], LoadedSpec] = {}


def loaded_spec(definition: ProcessDefinition) -> LoadedSpec:
    """The restored spec objects for a definition, built once per worker and shared by its instances.

    Keyed by id and content hash: a definition row never changes, so the cache needs no invalidation.
    """
    key = (definition.id, definition.sha256)
    if key not in _loaded:
        spec, subprocess_specs = spiff.load_spec(definition.spec_json)
        _loaded[key] = LoadedSpec(spec, subprocess_specs)
    return _loaded[key]
