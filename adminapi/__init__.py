"""The admin JSON API under /api: what staff tools (the console, scripts) call. No WeChat here."""


def register(app, settings) -> None:
    """Mount /api on a Flask app (the webhook's, today; the console's later)."""
    from adminapi.outages import bp as outages_bp

    app.config.setdefault("ADMIN_API_TOKEN", settings.admin_api_token)
    app.config.setdefault("DATABASE_URL", settings.database_url)
    app.register_blueprint(outages_bp)
