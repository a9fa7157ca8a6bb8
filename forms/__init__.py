"""WTForms classes, one module per family, and the registry from a task's formKey to its form class."""
