from tests.register.conftest import pdf_upload, register_units  # noqa: F401  (shared fixtures)
