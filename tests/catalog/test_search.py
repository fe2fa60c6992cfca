"""Greek-aware search: accents, case and final sigma don't matter; names rank first."""
import pytest

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog import service_operations as service_ops
from citizen_desk.catalog.queries import find_services
from citizen_desk.catalog.search.index import fold, words
from tests.factories import create_office, create_service


def test_fold():
    assert fold("Πιστοποιητικό Οικογενειακής Κατάστασης") == \
        "πιστοποιητικο οικογενειακησ καταστασησ"
    assert fold("ΠΙΣΤΟΠΟΙΗΤΙΚΟ") == fold("πιστοποιητικο") == fold("Πιστοποιητικό")
    assert fold("Ϊωάννης, Ευρωπαϊκή!") == "ιωαννησ ευρωπαικη"
    assert fold("Criminal RECORD-extract") == "criminal record extract"
    assert words("  ") == [] and words("a a b") == ["a", "b"]


@pytest.fixture
def catalog(app_ctx):
    office = create_office(code="ATH1")
    other = create_office(code="THE1")
    create_service(code="family", offices=[office], name={
        "el": "Πιστοποιητικό οικογενειακής κατάστασης", "en": "Certificate of family status"},
        summary={"el": "Μέλη της οικογένειας.", "en": "Members of the family."})
    create_service(code="birth", offices=[office, other], name={
        "el": "Αντίγραφο ληξιαρχικής πράξης γέννησης", "en": "Copy of a birth record"},
        synonyms={"el": ["πιστοποιητικό γέννησης"]})
    create_service(code="signature", offices=[office], name={
        "el": "Θεώρηση γνησίου υπογραφής", "en": "Certified signature"},
        description={"el": "Χρειάζεται για εξουσιοδοτήσεις και πιστοποιητικά τρίτων."})
    create_service(code="amka", offices=[other], name={"el": "Έκδοση ΑΜΚΑ", "en": "AMKA issue"},
                   summary={"el": "Αριθμός Μητρώου Κοινωνικής Ασφάλισης"})
    return office, other


def codes(*args, **kwargs):
    return [service.code for service in find_services(*args, **kwargs)]


@pytest.mark.parametrize("query", ["πιστοποιητικο", "ΠΙΣΤΟΠΟΙΗΤΙΚΟ", "Πιστοποιητικό",
                                   "ΠΙΣΤΟΠΟΙΗΤΙΚΌ"])
def test_accents_and_case_do_not_matter_and_names_come_first(catalog, query):
    assert codes(query, "el") == ["family", "birth"]


def test_name_before_synonym_before_description(catalog):
    assert codes("πιστοποιητ", "el") == ["family", "birth", "signature"]


def test_final_sigma_and_several_words(catalog):
    assert codes("οικογενειακης καταστασης", "el") == ["family"]
    assert codes("ΟΙΚΟΓΕΝΕΙΑΚΗΣ ΚΑΤΆΣΤΑΣΗΣ", "el") == ["family"]
    assert codes("οικογενειακησ", "el") == ["family"]
    # Words found in different fields still match, ranked last.
    assert codes("πιστοποιητικο μελη", "el") == ["family"]


def test_search_in_the_readers_language_and_in_greek(catalog):
    assert codes("CERTIFI", "en") == ["family", "signature"]
    assert codes("πιστοποιητικο", "en") == ["family", "birth"]
    # English text is not searched for a Greek reader.
    assert codes("certificate", "el") == []


def test_office_filter_and_retired_services(catalog):
    office, other = catalog
    assert codes("πιστοποιητικο", "el", office=other) == ["birth"]
    assert codes(None, "el", office=other) == ["birth", "amka"]
    family = [s for s in find_services("family", "en")][0]
    service_ops.retire_service(family)
    assert codes("family", "en") == []


def test_punctuation_separates_words(catalog):
    assert codes("%", "el") == [] and codes("_", "el") == []
    assert codes("ασφ%μητρ", "el") == ["amka"]  # % is punctuation: two words
    # Words match by their start: "λισης" is inside "ασφαλισης", not its start.
    assert codes("ασφ%λισης", "el") == []


def test_search_text_follows_updates(catalog):
    amka = find_services("αμκα", "el")[0]
    service_ops.update_service(amka, name={"el": "Απόδοση αριθμού ασφάλισης"}, synonyms={"el": ["ΑΜΚΑ"]})
    assert codes("αποδοση", "el") == ["amka"]
    assert codes("εκδοση", "el") == []
    assert codes("αμκα", "el") == ["amka"]


def test_query_words_match_the_start_of_words(catalog):
    assert codes("πιστ", "el") == ["family", "birth", "signature"]
    assert codes("ΓΕΝΝ", "el") == ["birth"]
    assert codes("Κοιν Ασφ", "el") == ["amka"]
    assert codes("ποιητικο", "el") == []  # the middle of a word
    assert codes("cert", "en") == ["family", "signature"]
    assert codes("RECO", "en") == ["birth"]
    assert codes("πιστοποιητικοτητα", "el") == []  # longer than every word


def test_every_word_must_match(catalog):
    assert codes("πιστοποιητικο γεννησ", "el") == ["birth"]
    assert codes("πιστοποιητικο γεννησ αμκα", "el") == []
    assert codes("certificate family", "en") == ["family"]
    # The words must match in one language: English and Greek don't mix.
    assert codes("certificate οικογενειακησ", "en") == []


def test_rank_is_the_first_field_holding_every_word(catalog):
    from citizen_desk.catalog.search.index import (RANK_ANY, RANK_DESCRIPTION, RANK_NAME, RANK_SYNONYM, search)
    ids = {service.code: service.id for service in find_services(None, "el")}
    assert dict(search("πιστοποιητικο γεννησ", "el")) == {ids["birth"]: RANK_SYNONYM}
    assert dict(search("γεννησ", "el")) == {ids["birth"]: RANK_NAME}
    assert dict(search("τριτων εξουσιοδ", "el")) == {ids["signature"]: RANK_DESCRIPTION}
    # Name and summary each hold one word: a match, after those holding both in one field.
    assert dict(search("οικογενειακησ μελη", "el")) == {ids["family"]: RANK_ANY}
    create_service(code="members", name={"el": "Μέλη οικογενειακής μερίδας"})
    assert codes("οικογενειακησ μελη", "el") == ["members", "family"]


def test_greek_accents_case_and_final_sigma_in_stored_and_queried_words(catalog):
    create_service(code="passport", name={"el": "ΈΚΔΟΣΗΣ ΔΙΑΒΑΤΗΡΊΟΥ ΓΙΑ ΑΝΉΛΙΚΟΥΣ"})
    for query in ("εκδοσης", "ΕΚΔΟΣΗΣ", "έκδοση", "Έκδοσ", "ανηλικους", "ΑΝΗΛΊΚΟΥΣ", "ανηλικουσ",
                  "διαβατηριου ανηλικ"):
        assert "passport" in codes(query, "el"), query
    assert codes("ανηλικους διαβατηριο", "el") == ["passport"]


def test_ties_are_ordered_by_the_folded_name(app_ctx):
    for code, name in [("c", "Ζώνη στάθμευσης"), ("a", "Άδεια στάθμευσης"),
                       ("b", "αδεια οδήγησης"), ("d", "ΒΕΒΑΙΩΣΗ στάθμευσης")]:
        create_service(code=code, name={"el": name})
    assert codes("σταθμ", "el") == ["a", "d", "c"]
    assert codes("αδ", "el") == ["b", "a"]
    from citizen_desk.catalog.queries import search_page
    total, page = search_page("σταθμ", "el", 1, 2)
    assert total == 3 and [s.code for s in page] == ["a", "d"]


def test_limit_keeps_the_best(catalog):
    assert codes("πιστοποιητ", "el", limit=2) == ["family", "birth"]


def test_prefix_range_bounds_exactly_the_words_starting_with_the_prefix():
    from citizen_desk.catalog.search.index import prefix_range
    low, high = prefix_range("πιστ")
    assert low == "πιστ" and high == "πισυ"
    for word in ("πιστ", "πιστοποιητικο", "πιστ\uffff", "πιστ\U0001d538"):
        assert low <= word < high
    for word in ("πισσ", "πισυ", "πισ", "πιτ"):
        assert not low <= word < high
    assert prefix_range("a\ud7ff") == ("a\ud7ff", "a\ue000")


def test_search_uses_the_word_index(app_ctx, dialect):
    """Each query word is one range of the primary key's b-tree, never a scan of the table."""
    from sqlalchemy import text
    from citizen_desk.extensions import db
    create_service(code="x", name={"el": "Πιστοποιητικό"})
    if dialect == "sqlite":
        plan = db.session.execute(text(
            "EXPLAIN QUERY PLAN SELECT service_id, rank FROM service_search_word "
            "WHERE language IN ('el', 'en') AND word >= :low AND word < :high"),
            {"low": "πιστ", "high": "πισυ"}).all()
        detail = " ".join(row[-1] for row in plan)
        assert "USING COVERING INDEX" in detail and "word>? AND word<?" in detail, detail
    else:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = db.session.execute(text(
            "EXPLAIN SELECT service_id, rank FROM service_search_word "
            "WHERE language IN ('el', 'en') AND word >= 'πιστ' AND word < 'πισυ'")).scalars().all()
        detail = "\n".join(plan)
        conditions = [line.replace("(", "").replace(")", "").replace("::text", "")
                      for line in plan if "Index Cond" in line]
        assert "pk_service_search_word" in detail, detail
        assert any("word >= 'πιστ'" in line and "word < 'πισυ'" in line
                   for line in conditions), detail
        # The range holds the words with the prefix only in code point order.
        collation = db.session.execute(text(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'service_search_word' AND column_name = 'word'")).scalar()
        assert collation == "C"


def test_a_repeated_api_search_is_served_from_the_cached_answer(app, client, monkeypatch):
    """The popular search costs neither parsing nor JSON writing again; a change shows at once."""
    from citizen_desk.catalog.schemas import ServiceQuery
    from citizen_desk.extensions import db
    with app.app_context():
        create_service(code="family", name={"el": "Πιστοποιητικό οικογενειακής κατάστασης"})
        db.session.commit()
    loads = []
    original = ServiceQuery.load
    monkeypatch.setattr(ServiceQuery, "load",
                        lambda self, *a, **kw: loads.append(1) or original(self, *a, **kw))
    path = "/api/v1/services?lang=el&q=πιστοποιητικο"
    first = client.get(path)
    assert [s["code"] for s in first.get_json()["services"]] == ["family"]
    for _ in range(3):
        again = client.get(path)
        assert again.data == first.data and again.mimetype == "application/json"
    assert len(loads) == 1
    # Another request language is another answer (``lang`` defaults to it).
    assert app.test_client().get("/api/v1/services?q=πιστοποιητικο", headers={
        "Accept-Language": "en"}).get_json()["language"] == "en"
    # A bad parameter is refused every time, never cached.
    assert client.get(path + "&limit=x").status_code == 422
    assert client.get(path + "&limit=x").status_code == 422
    with app.app_context():
        create_service(code="birth", name={"el": "Πιστοποιητικό γέννησης"})
        db.session.commit()
    assert [s["code"] for s in client.get(path).get_json()["services"]] == ["birth", "family"]
