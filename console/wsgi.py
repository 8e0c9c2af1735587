"""gunicorn entry point: `gunicorn console.wsgi:app`."""

from backend.core.config import load_settings, require_safe
from backend.core.logs import setup_logging
from console.app import create_app

setup_logging()
require_safe(load_settings(), "console")  # no weak or missing secret with WeChat credentials set
app = create_app()
