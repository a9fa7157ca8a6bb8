"""Celery entry point (production column of DESIGN.md), on Redis:

    celery -A app.worker worker --loglevel=info       # runs jobs
    celery -A app.worker beat --loglevel=info         # schedules the timer sweep
"""

import os

from app import create_app
from app.celery_jobs import make_celery

celery = make_celery(create_app(os.environ.get("SMARTLAND_ENV", "production")))
