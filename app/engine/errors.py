"""Errors the engine reports to the people using it. Messages are translatable sentences."""


class EngineError(Exception):
    """Something the user can act on; nothing was changed."""


class NotAllowed(EngineError):
    """The user may not do this to this task or case."""


class Conflict(EngineError):
    """Someone else got there first: the task was claimed, completed or moved on."""


class ModelError(EngineError):
    """The process model failed while running (a script or expression raised)."""
