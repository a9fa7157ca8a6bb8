"""The workflow engine: the only package that imports SpiffWorkflow.

definitions.py deploys BPMN from processes/, runtime.py runs instances, derive.py keeps the
human-task, timer and subscription tables in step with each saved instance.
"""
