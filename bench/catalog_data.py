"""A generated catalog for the benchmark: 2,000 services in Greek, English and Arabic.

Names are built from real procedure words so that a search such as
``πιστοποιητικο`` matches about one service in six, as in a real ΚΕΠ catalog.
"""
from __future__ import annotations

import itertools
import json
import random
import string
import subprocess
import sys
import tempfile
from pathlib import Path

KINDS = [("Πιστοποιητικό", "Certificate", "شهادة"), ("Βεβαίωση", "Confirmation", "إفادة"),
         ("Αντίγραφο", "Copy", "نسخة"), ("Άδεια", "Permit", "تصريح"),
         ("Έκδοση", "Issue", "إصدار"), ("Αίτηση", "Application", "طلب")]
TOPICS = [("οικογενειακής κατάστασης", "of family status", "الحالة العائلية"),
          ("μόνιμης κατοικίας", "of residence", "الإقامة"),
          ("γέννησης", "of birth", "الميلاد"), ("γάμου", "of marriage", "الزواج"),
          ("στάθμευσης", "for parking", "الوقوف"), ("επιδόματος", "for a benefit", "الإعانة"),
          ("ασφαλιστικής ικανότητας", "of insurance cover", "التأمين"),
          ("φορολογικής ενημερότητας", "of tax compliance", "الضرائب")]
PREFIXES = list(string.ascii_uppercase) + ["".join(p) for p in
                                           itertools.product(string.ascii_uppercase, repeat=2)]


def generate(count: int = 2000, offices: int = 4, seed: int = 7) -> dict:
    rng = random.Random(seed)
    office_codes = [f"BENCH{n}" for n in range(1, offices + 1)]
    services = []
    for n in range(count):
        kind = rng.choice(KINDS)
        topic = rng.choice(TOPICS)
        translations = {}
        for i, language in enumerate(("el", "en", "ar")):
            name = f"{kind[i]} {topic[i]} {n}"
            translations[language] = {
                "name": name,
                "summary": f"{name}: {topic[i]} — {kind[i]}.",
                "description": (f"{name}. " * 12).strip(),
                "documents": [f"{kind[i]} {m}" for m in range(3)],
                "fees": "0 €",
            }
        services.append({"code": f"bench-{n:05d}", "ticket_prefix": PREFIXES[n // offices],
                         "duration_minutes": 15, "offices": [office_codes[n % offices]],
                         "translations": translations})
    return {"format": "citizen-desk-catalog", "version": 1,
            "offices": [{"code": code, "name": {"el": f"Γραφείο {code}", "en": f"Office {code}"}}
                        for code in office_codes],
            "services": services}


def prepare(env: dict):
    """Import the generated catalog into the benchmark's database (the ``prepare`` hook)."""
    root = Path(__file__).resolve().parent.parent
    flask = Path(sys.executable).parent / "flask"
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8",
                                     delete=False) as fh:
        json.dump(generate(), fh, ensure_ascii=False)
    try:
        subprocess.run([str(flask), "--app", "citizen_desk", "catalog", "import", fh.name],
                       cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    finally:
        Path(fh.name).unlink()
