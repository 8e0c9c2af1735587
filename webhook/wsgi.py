"""gunicorn entry point: `gunicorn webhook.wsgi:app`."""

from backend.core.config import load_settings, require_safe
from backend.core.logs import setup_logging
from webhook.app import create_app

setup_logging()
settings = load_settings()
require_safe(settings, "webhook")  # no weak or missing secret with WeChat credentials set
app = create_app(settings)
