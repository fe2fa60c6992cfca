"""Greeklish: Greek typed in Latin letters finds Greek names and synonyms, after exact matches."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from citizen_desk.catalog import service_operations as service_ops
from citizen_desk.catalog.queries import find_services, search_page
from citizen_desk.catalog.search.greeklish import skeleton
from citizen_desk.catalog.search.index import (GREEKLISH, RANK_GREEKLISH, RANK_NAME,
                                               RANK_SYNONYM, fold, greeklish, search, words)
from citizen_desk.catalog.search.models import ServiceSearchWord
from citizen_desk.extensions import db
from tests.core.test_db import empty_database  # noqa: F401  (fixture)
from tests.factories import create_office, create_service


def key(word):
    return skeleton(fold(word))


@pytest.mark.parametrize("greek, latin", [
    ("πιστοποιητικό", ["pistopoiitiko", "pistopoihtiko", "pistopiitiko", "PISTOPOIHTIKO",
                       "Pistopoiitikó", "pistopoiitiko"]),
    ("ΑΜΚΑ", ["amka", "AMKA"]), ("ΑΦΜ", ["afm"]), ("ΚΕΠ", ["kep"]),
    ("άδεια", ["adeia", "adia"]), ("διαμονής", ["diamonis", "diamonhs", "diamonis"]),
    ("βεβαίωση", ["vevaiosi", "bebaiwsh", "vevaiwsi", "bebaiosh", "vevaíosi"]),
    ("θεώρηση", ["8eorhsh", "theorisi", "thewrhsh", "8ewrisi"]),
    ("ελληνικά", ["ellhnika", "elliniká", "ellinika", "elinika"]),
    ("αυτοκίνητο", ["aftokinito", "autokinito", "avtokinhto", "aytokinito"]),
    ("χαρτιά", ["xartia", "hartia", "chartia"]),
    ("ταξινόμηση", ["taxinomisi", "taksinomhsh", "ta3inomisi"]),
    ("ψηφιακή", ["psifiaki", "pshfiakh"]),
    ("υπουργείο", ["ypourgeio", "upourgeio", "ipourgio", "ypoyrgeio"]),
    ("μπλοκ", ["mplok", "blok"]), ("ντοκουμέντα", ["ntokoumenta", "dokoumenta", "ndokoumenda"]),
    ("αγγελία", ["aggelia", "angelia"]), ("εγκατάσταση", ["egkatastasi", "engatastasi"]),
    ("της", ["ths", "tis"]), ("τηλέφωνο", ["thlefwno", "tilefono"]),
    ("φορολογικής", ["forologikhs", "phorologikis"]),
    ("εξουσιοδότηση", ["eksousiodotisi", "exousiodothsh", "e3ousiodotisi"]),
    ("ληξιαρχικής", ["lixiarxikis", "lhksiarchikhs", "lhxiarhikhs"]),
    ("Ευρωπαϊκή", ["evropaiki", "europaikh"]),
    ("οικογενειακής", ["oikogeneiakhs", "ikogeniakis"]),
    ("βοήθεια", ["voitheia", "bohtheia", "voithia"]),
    ("Χριστούγεννα", ["Xristougenna", "christougenna"]),
])
def test_a_greek_word_and_its_latin_spellings_share_one_skeleton(greek, latin):
    for spelling in latin:
        assert key(spelling) == key(greek), (spelling, key(spelling), key(greek))


def test_skeletons():
    assert key("Ελληνικά") == "elinika"
    assert key("πιστοποιητικό") == "pistopitiko"
    # Digits stand for θ and ξ only among Latin letters: numbers stay numbers.
    assert key("18") == "18" and key("2023") == "2023" and key("α3") == "a3"
    assert key("e3odos") == key("έξοδος") == "exodos" and key("8a") == "8a"
    # A prefix being typed meets the start of the word's skeleton.
    assert key("pistopoih").startswith("pistopi") and key("8eor") == "8eor"
    assert key("pistopitiko").startswith(key("pistop"))


def test_a_query_is_greeklish_when_a_word_holds_a_latin_letter():
    assert greeklish(words("adeia diamonis")) and greeklish(words("αδεια diamonis"))
    assert greeklish(words("8eorhsh"))
    assert not greeklish(words("πιστοποιητικο 12")) and not greeklish(words("ΑΜΚΑ"))


@pytest.fixture
def catalog(app_ctx):
    office = create_office(code="ATH1")
    create_service(code="family", offices=[office], name={
        "el": "Πιστοποιητικό οικογενειακής κατάστασης", "en": "Certificate of family status"})
    create_service(code="birth", offices=[office], name={
        "el": "Αντίγραφο ληξιαρχικής πράξης γέννησης", "en": "Copy of a birth record"},
        synonyms={"el": ["πιστοποιητικό γέννησης"]})
    create_service(code="amka", offices=[office], name={"el": "Έκδοση ΑΜΚΑ"},
                   summary={"el": "Αριθμός Μητρώου Κοινωνικής Ασφάλισης"})
    create_service(code="afm", offices=[office], name={"el": "Απόδοση ΑΦΜ", "en": "Tax number"})
    create_service(code="residence", offices=[office],
                   name={"el": "Άδεια διαμονής", "en": "Residence permit"},
                   synonyms={"el": ["άδεια παραμονής"]})
    create_service(code="signature", offices=[office],
                   name={"el": "Θεώρηση γνησίου υπογραφής", "en": "Certified signature"})
    create_service(code="confirmation", offices=[office],
                   name={"el": "Βεβαίωση μόνιμης κατοικίας", "en": "Confirmation of residence"})
    create_service(code="kep", offices=[office], name={"el": "Ραντεβού στο ΚΕΠ"})
    return office


def codes(*args, **kwargs):
    return [service.code for service in find_services(*args, **kwargs)]


@pytest.mark.parametrize("query, expected", [
    ("pistopoiitiko", ["family", "birth"]), ("pistopoihtiko", ["family", "birth"]),
    ("PISTOPOIITIKO", ["family", "birth"]), ("Pistopoiitikó", ["family", "birth"]),
    ("pistop", ["family", "birth"]),
    ("amka", ["amka"]), ("AMKA", ["amka"]), ("afm", ["afm"]), ("kep", ["kep"]),
    ("adeia diamonis", ["residence"]), ("adeia diamonhs", ["residence"]),
    ("αδεια diamonis", ["residence"]), ("adia paramonis", ["residence"]),
    ("vevaiosi", ["confirmation"]), ("bebaiwsh", ["confirmation"]),
    ("bebaiwsh monimhs katoikias", ["confirmation"]),
    ("8eorhsh", ["signature"]), ("theorisi gnisiou", ["signature"]),
    ("ypografis", ["signature"]), ("lhksiarxikhs", ["birth"]),
    ("pistopoiitiko gennhshs", ["birth"]),
])
def test_greeklish_finds_greek_names_and_synonyms(catalog, query, expected):
    assert codes(query, "el") == expected
    # Whatever the reader's language.
    assert set(expected) <= set(codes(query, "en"))


def test_greeklish_ranks_after_the_field_it_matched_and_after_exact_matches(catalog):
    ids = {service.code: service.id for service in find_services(None, "el")}
    assert dict(search("diamonis", "el")) == {ids["residence"]: RANK_GREEKLISH + RANK_NAME}
    assert dict(search("paramonis", "el")) == {ids["residence"]: RANK_GREEKLISH + RANK_SYNONYM}
    assert dict(search("gennhshs", "el")) == {ids["birth"]: RANK_GREEKLISH + RANK_NAME}
    # An exact match wins over a Greeklish one, whatever their names' order.
    create_service(code="covid", name={"el": "Πιστοποιητικό COVID"})
    create_service(code="kovid", name={"el": "Ενημέρωση για τον κοβιντ"})
    assert codes("covid", "el") == ["covid", "kovid"]
    assert sorted(rank for _, rank in search("covid", "el")) == [RANK_NAME,
                                                                 RANK_GREEKLISH + RANK_NAME]


def test_english_words_still_find_english_names_first(catalog):
    create_service(code="taxi", name={"el": "Άδεια ταξί", "en": "Taxi licence"})
    create_service(code="order", name={"el": "Ταξινόμηση οχήματος", "en": "Vehicle registration"})
    # "taxi" is English here: the English name first, the Greek skeleton after.
    assert codes("taxi", "en") == ["taxi", "order"]
    assert codes("certificate", "en") == ["family"]
    assert codes("certi", "en") == ["family", "signature"]
    assert codes("residence", "en") == ["confirmation", "residence"]
    assert codes("tax number", "en") == ["afm"]
    # English text is still not searched for a Greek reader, not even as Greeklish.
    assert codes("certificate", "el") == []


def test_the_search_page_orders_greeklish_matches_too(catalog):
    total, page = search_page("pistopoiitiko", "el", 1, 10)
    assert total == 2 and [s.code for s in page] == ["family", "birth"]
    total, page = search_page("adeia", "el", 1, 10)
    assert total == 1 and [s.code for s in page] == ["residence"]


def test_greeklish_rows_follow_the_greek_name_and_synonyms(catalog):
    residence = find_services("diamonis", "el")[0]
    rows = {(row.word, row.rank) for row in residence.search_words if row.language == GREEKLISH}
    assert rows == {("adia", 10), ("diamonis", 10), ("adia", 11), ("paramonis", 11)}
    service_ops.update_service(residence, name={"el": "Άδεια εργασίας"}, synonyms={})
    assert codes("diamonis", "el") == [] and codes("paramonis", "el") == []
    assert codes("adeia ergasias", "el") == ["residence"]
    service_ops.retire_service(residence)
    assert codes("ergasias", "el") == []


def test_the_office_filter_and_limit_apply_to_greeklish(catalog):
    other = create_office(code="THE1")
    create_service(code="the-family", offices=[other],
                   name={"el": "Πιστοποιητικό οικογενειακής κατάστασης Θεσσαλονίκης"})
    assert codes("pistopoiitiko", "el", office=other) == ["the-family"]
    assert codes("pistopoiitiko", "el", office=catalog) == ["family", "birth"]
    assert codes("pistopoiitiko", "el", limit=1) == ["family"]


def test_the_api_answers_greeklish(app, client):
    with app.app_context():
        create_service(code="residence", name={"el": "Άδεια διαμονής"})
        db.session.commit()
    answer = client.get("/api/v1/services?lang=el&q=adeia+diamonis").get_json()
    assert [s["code"] for s in answer["services"]] == ["residence"]


def test_the_greeklish_search_uses_the_word_index(app_ctx, dialect):
    """A Greeklish word is one more range of the primary key's b-tree, never a scan."""
    create_service(code="x", name={"el": "Πιστοποιητικό"})
    if dialect == "sqlite":
        plan = db.session.execute(text(
            "EXPLAIN QUERY PLAN SELECT service_id, rank FROM service_search_word "
            "WHERE language = 'el-latn' AND word >= :low AND word < :high"),
            {"low": "pistop", "high": "pistoq"}).all()
        detail = " ".join(row[-1] for row in plan)
        assert "USING COVERING INDEX" in detail and "word>? AND word<?" in detail, detail
    else:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = db.session.execute(text(
            "EXPLAIN SELECT service_id, rank FROM service_search_word "
            "WHERE language = 'el-latn' AND word >= 'pistop' AND word < 'pistoq'")
        ).scalars().all()
        detail = "\n".join(plan)
        assert "pk_service_search_word" in detail and "Index Cond" in detail, detail


def test_the_migration_fills_and_removes_the_greeklish_rows(empty_database):  # noqa: F811
    """Services saved before revision 0009 are found in Greeklish right after the upgrade."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import JSON, column, table

    from citizen_desk import create_app
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    service = table("service", *[column(name) for name in (
        "code", "ticket_prefix", "required_fields", "created_dt")],
        *[column(name, JSON) for name in ("name", "summary", "description", "documents",
                                          "fees", "link", "synonyms")])
    with app.app_context():
        upgrade(revision="0008")
        db.session.execute(service.insert(), [dict(
            code="residence", ticket_prefix="A", required_fields="[]",
            created_dt=datetime(2026, 1, 1, tzinfo=timezone.utc),
            name={"el": "Άδεια Διαμονής", "en": "Residence permit"},
            summary={"el": "Για πολίτες τρίτων χωρών."}, description={},
            documents={}, fees={}, link={}, synonyms={"el": ["Άδεια παραμονής"]})])
        service_id = db.session.execute(text("SELECT id FROM service")).scalar()
        db.session.execute(text("INSERT INTO service_search_word (language, word, service_id, "
                                "rank) VALUES ('el', 'αδεια', :id, 0)"), {"id": service_id})
        db.session.commit()
        upgrade()
        rows = db.session.execute(select(ServiceSearchWord.word, ServiceSearchWord.rank).where(
            ServiceSearchWord.language == GREEKLISH).order_by("rank", "word")).all()
        assert [tuple(row) for row in rows] == [("adia", 10), ("diamonis", 10),
                                                ("adia", 11), ("paramonis", 11)]
        assert [s.code for s in find_services("adeia diamonhs", "el")] == ["residence"]
        assert [s.code for s in find_services("paramonis", "en")] == ["residence"]
        db.session.rollback()
        downgrade(revision="0008")
        assert db.session.execute(text(
            "SELECT count(*) FROM service_search_word WHERE language = 'el-latn'")).scalar() == 0
        assert db.session.execute(text(
            "SELECT language, word FROM service_search_word")).all() == [("el", "αδεια")]
        db.session.rollback()
        db.engine.dispose()
