"""The yardstick: a bare Flask app served exactly like citizen_desk.

Every scenario's figures are reported as a ratio against this app's in the
same run, so that the numbers mean something on any machine.
"""
from flask import Flask, jsonify, render_template_string

app = Flask(__name__)

PAGE = """<!doctype html><html lang="el"><head><meta charset="utf-8">
<title>{{ title }}</title></head><body><h1>{{ title }}</h1>
{% for item in items %}<p>{{ item }}</p>{% endfor %}</body></html>"""


@app.get("/")
def page():
    return render_template_string(PAGE, title="Αρχική", items=["ένα", "δύο", "τρία"])


@app.get("/json")
def small_json():
    return jsonify(status="ok", items=[{"code": i, "name": f"item {i}"} for i in range(10)])
