"""Greek-aware search: accents, case and final sigma don't matter; names rank first."""
import pytest

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog.queries import find_services
from citizen_desk.catalog.search import fold, words
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
    ops.retire_service(family)
    assert codes("family", "en") == []


def test_like_wildcards_are_literal(catalog):
    assert codes("%", "el") == [] and codes("_", "el") == []
    assert codes("ασφ%λισης", "el") == ["amka"]  # % is punctuation: two words


def test_search_text_follows_updates(catalog):
    amka = find_services("αμκα", "el")[0]
    ops.update_service(amka, name={"el": "Απόδοση αριθμού ασφάλισης"}, synonyms={"el": ["ΑΜΚΑ"]})
    assert codes("αποδοση", "el") == ["amka"]
    assert codes("εκδοση", "el") == []
    assert codes("αμκα", "el") == ["amka"]
