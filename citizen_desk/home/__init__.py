"""The front door: the home page and the health check for load balancers."""
from citizen_desk.home.views import bp
from citizen_desk.home.api import api
from citizen_desk.home import demo  # noqa: F401  (registers the demo seeder)


def init_app(app):
    app.register_blueprint(bp)
    app.register_blueprint(api, url_prefix="/api/v1")
    from citizen_desk.extensions import csrf
    csrf.exempt(api)
