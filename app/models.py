"""Imports every model module so the metadata is complete for Alembic and create_all."""

from app.cases import models as cases_models  # noqa: F401
from app.core import models as core_models  # noqa: F401
from app.certificates import models as certificates_models  # noqa: F401
from app.api import models as api_models  # noqa: F401
from app.engine import models as engine_models  # noqa: F401
from app.orgs import models as orgs_models  # noqa: F401
from app.register import models as register_models  # noqa: F401
from app.records import models as records_models  # noqa: F401
