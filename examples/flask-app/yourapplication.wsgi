# The WSGI entry point, as in Flask's "Deploying with Fabric" recipe. It lives at
# /var/www/yourapplication.wsgi; touching it makes the server load the current release again
# (mod_wsgi's daemon mode does the same; serve.py imitates it).
import os

os.environ["YOURAPPLICATION_CONFIG"] = "/var/www/yourapplication/application.cfg"

from yourapplication import app as application  # noqa: E402
