"""The citizen's details at booking: every field checked, normalised, and all problems at once."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale, gettext
from stdnum import luhn
from stdnum.gr import amka as stdnum_amka
from stdnum.gr import vat as stdnum_vat

from citizen_desk import create_app
from citizen_desk.booking import identity
from citizen_desk.booking.identity import (INTERPRETER_LANGUAGES, citizen_keys, clean_birth_date,
                                           clean_details, interpreter_choices, is_mobile)
from citizen_desk.core.validation import ValidationError


@pytest.fixture(scope="module")
def pure_app():
    """An application for configuration and translations only: these checks read no database."""
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests"})


@pytest.fixture(autouse=True)
def request_ctx(pure_app):
    """An English page: the messages below are compared in English."""
    with pure_app.test_request_context("/?lang=en"):
        yield


def amka(birth: str, serial: str = "0999") -> str:
    """A valid AMKA for a birth date ``DDMMYY``, built with stdnum's Luhn."""
    stem = birth + serial
    number = stem + luhn.calc_check_digit(stem)
    assert stdnum_amka.is_valid(number)
    return number


def afm(stem: str) -> str:
    """A valid ΑΦΜ for eight digits, with stdnum's check digit."""
    number = stem + stdnum_vat.calc_check_digit(stem)
    assert stdnum_vat.is_valid(number)
    return number


def details(**overrides) -> dict:
    raw = {"name": "Μαρία Παπαδοπούλου", "email": "maria@example.gr", "phone": None,
           "language": "el", "identifiers": {}, "needs": {}}
    raw.update(overrides)
    return raw


def errors_of(raw: dict, required=(), **kw) -> dict:
    with pytest.raises(ValidationError) as caught:
        clean_details(raw, list(required), **kw)
    return {field: str(message) for field, message in caught.value.errors.items()}


# -- a whole booking ----------------------------------------------------------------------------

def test_everything_valid_is_normalised():
    raw = {
        "name": "  Μαρία \t  Παπαδοπούλου  ",
        "email": "Maria.Papa@Example.GR",
        "phone": "691 234 5678",
        "language": "EN",
        "identifiers": {"amka": "010130 99997", "afm": "EL 094 259 216",
                        "id_number": "αβ 123456", "birth_date": "01/01/1930",
                        "address": "  Αθηνάς 12,\n  Αθήνα  "},
        "needs": {"interpreter": "fa_af", "wheelchair": True, "sign_language": False},
        "office": "ATH1",  # the caller's keys pass by
    }
    cleaned = clean_details(raw, ["amka", "afm", "id_number", "birth_date", "address"])
    assert cleaned == {
        "name": "Μαρία Παπαδοπούλου",
        "email": "Maria.Papa@example.gr",
        "phone": "+306912345678",
        "language": "en",
        "identifiers": {"amka": "01013099997", "afm": "094259216", "id_number": "AB123456",
                        "birth_date": "1930-01-01", "address": "Αθηνάς 12, Αθήνα"},
        "needs": {"interpreter": "fa-AF", "wheelchair": True, "sign_language": False},
    }


def test_minimal_details_get_defaults():
    with force_locale("el"):
        cleaned = clean_details({"name": "Ali Hassan", "phone": "+30 691 234 5678"}, [])
    assert cleaned == {"name": "Ali Hassan", "email": None, "phone": "+306912345678",
                       "language": "el", "identifiers": {},
                       "needs": {"interpreter": None, "wheelchair": False,
                                 "sign_language": False}}


def test_every_failing_field_is_reported_at_once():
    raw = {
        "name": "x" * 5000,
        "email": "maria@",
        "phone": "12345",
        "language": "de",
        "identifiers": {"amka": "01013099999", "afm": "094259217", "birth_date": "31/02/1990",
                        "passport_photo": "…"},
        "needs": {"interpreter": "tlh", "wheelchair": "yes", "pets": True},
    }
    errors = errors_of(raw, ["amka", "afm", "id_number", "birth_date", "address"])
    assert set(errors) == {
        "name", "email", "phone", "language",
        "identifiers.amka", "identifiers.afm", "identifiers.id_number",
        "identifiers.birth_date", "identifiers.address", "identifiers.passport_photo",
        "needs.interpreter", "needs.wheelchair", "needs.pets",
    }


# -- AMKA ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("birth", ["010130", "150385", "290200", "311299", "010105"])
def test_valid_amka_is_kept_compact(birth):
    number = amka(birth)
    spaced = f" {number[:6]} {number[6:]} "
    cleaned = clean_details(details(identifiers={"amka": spaced}), ["amka"])
    assert cleaned["identifiers"] == {"amka": number}


def test_amka_with_a_wrong_check_digit_is_refused():
    number = amka("150385")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not stdnum_amka.is_valid(wrong)
    errors = errors_of(details(identifiers={"amka": wrong}), ["amka"])
    assert errors == {"identifiers.amka": "This AMKA is not valid: check its digits."}


def test_amka_with_an_impossible_birth_date_is_refused_though_luhn_passes():
    stem = "3202850999"  # 32 February
    number = stem + luhn.calc_check_digit(stem)
    assert luhn.is_valid(number)
    errors = errors_of(details(identifiers={"amka": number}), ["amka"])
    assert errors == {"identifiers.amka": "This AMKA is not valid: check its digits."}


@pytest.mark.parametrize("value", ["0101309999", "010130999977", "0101309999A", "٠١٠١٣٠٩٩٩٩٧",
                                   "1" * 5000])
def test_amka_of_the_wrong_shape_says_eleven_digits(value):
    errors = errors_of(details(identifiers={"amka": value}), ["amka"])
    assert errors == {"identifiers.amka": "The AMKA has 11 digits."}


def test_amka_as_a_number_is_refused():
    errors = errors_of(details(identifiers={"amka": 1013099997}), ["amka"])
    assert errors == {"identifiers.amka": "Enter text."}


# -- ΑΦΜ ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["094259216", "EL 094 259 216", "el094259216",
                                     "GR 094-259-216"])
def test_afm_is_stored_compact(written):
    cleaned = clean_details(details(identifiers={"afm": written}), ["afm"])
    assert cleaned["identifiers"] == {"afm": "094259216"}


def test_afm_with_a_wrong_check_digit_is_refused():
    good = afm("12345678")
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert clean_details(details(identifiers={"afm": good}), ["afm"])["identifiers"]["afm"] == good
    errors = errors_of(details(identifiers={"afm": wrong}), ["afm"])
    assert errors == {"identifiers.afm": "This AFM is not valid: check its digits."}


@pytest.mark.parametrize("value", ["0942592160", "09425921", "AB4259216", "9" * 500])
def test_afm_of_the_wrong_shape_says_nine_digits(value):
    # (eight digits are an old ΑΦΜ with its leading zero left out: "09425921" → "009425921",
    # whose check digit is wrong)
    errors = errors_of(details(identifiers={"afm": value}), ["afm"])
    assert set(errors) == {"identifiers.afm"}
    assert errors["identifiers.afm"] in ("The AFM has 9 digits.",
                                         "This AFM is not valid: check its digits.")


def test_afm_of_ten_digits_says_nine_digits():
    errors = errors_of(details(identifiers={"afm": "0942592160"}), ["afm"])
    assert errors == {"identifiers.afm": "The AFM has 9 digits."}


# -- phones -------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["6912345678", "691 234 5678", "+30 691 234 5678",
                                     "+306912345678", "0030 691 234 5678", "(+30) 691-234-5678"])
def test_greek_mobile_with_or_without_country_code(written):
    cleaned = clean_details(details(email=None, phone=written), [])
    assert cleaned["phone"] == "+306912345678"
    assert is_mobile(cleaned["phone"])


def test_greek_landline_is_a_contact_number_but_takes_no_sms():
    cleaned = clean_details(details(email=None, phone="210 123 4567"), [])
    assert cleaned["phone"] == "+302101234567"
    assert not is_mobile(cleaned["phone"])


@pytest.mark.parametrize("written, e164, mobile", [
    ("+44 7911 123456", "+447911123456", True),
    ("+49 30 901820", "+4930901820", False),
    ("00380 50 123 4567", "+380501234567", True),
])
def test_foreign_numbers_with_their_country_code(written, e164, mobile):
    cleaned = clean_details(details(email=None, phone=written), [])
    assert cleaned["phone"] == e164
    assert is_mobile(e164) is mobile


@pytest.mark.parametrize("value", [
    "12345", "691234567", "69123456789", "901 234 5678",  # too short, too long, premium rate
    "800 123 4567", "+99 123", "phone me", "+" + "6" * 5000,  # toll-free, no such country
])
def test_numbers_nobody_can_be_reached_on_are_refused(value):
    errors = errors_of(details(email=None, phone=value), [])
    assert errors == {"phone": "Enter a mobile or landline number, like 6912345678 or "
                               "+30 691 234 5678."}


@pytest.mark.parametrize("value", [None, "", "+30", "not a number", "+1 202"])
def test_is_mobile_of_nothing_or_nonsense_is_false(value):
    assert is_mobile(value) is False


# -- e-mail -------------------------------------------------------------------------------------

def test_email_is_normalised():
    assert clean_details(details(email=" Maria@Example.GR "), [])["email"] == "Maria@example.gr"


@pytest.mark.parametrize("value", ["maria", "maria@", "maria@example", "@example.gr",
                                   "Maria <maria@example.gr>", "maria@exa mple.gr",
                                   "a" * 250 + "@example.gr", "m" * 5000])
def test_bad_email_is_refused(value):
    errors = errors_of(details(email=value), [])
    assert errors == {"email": "Enter an e-mail address like name@example.gr."}


# -- contact ------------------------------------------------------------------------------------

@pytest.mark.parametrize("email, phone", [(None, None), ("", "  "), ("  ", None)])
def test_missing_contact_is_named_on_both_fields(email, phone):
    errors = errors_of(details(email=email, phone=phone), [])
    message = ("Enter an e-mail address or a phone number, so that we can reach you about "
               "your appointment.")
    assert errors == {"email": message, "phone": message}


def test_no_contact_is_fine_when_not_required():
    cleaned = clean_details(details(email=None), [], contact_required=False)
    assert cleaned["email"] is None and cleaned["phone"] is None


def test_a_wrong_email_without_phone_gets_only_the_email_error():
    errors = errors_of(details(email="maria@"), [])
    assert set(errors) == {"email"}


def test_required_phone_is_asked_even_with_an_email():
    errors = errors_of(details(phone=None), ["phone"])
    assert errors == {"phone": "Enter your phone number."}


def test_required_email_is_asked_even_with_a_phone():
    errors = errors_of(details(email=None, phone="6912345678"), ["email"])
    assert errors == {"email": "Enter your e-mail address."}


def test_phone_may_come_in_identifiers():
    cleaned = clean_details(details(identifiers={"phone": "6912345678"}), ["phone"])
    assert cleaned["phone"] == "+306912345678"
    assert cleaned["identifiers"] == {}


# -- required, unknown and extra identifiers ----------------------------------------------------

@pytest.mark.parametrize("code, message", [
    ("amka", "Enter your social security number (AMKA)."),
    ("afm", "Enter your tax identification number (AFM)."),
    ("id_number", "Enter the number of your identity card or passport."),
    ("birth_date", "Enter your date of birth."),
    ("address", "Enter your home address."),
])
@pytest.mark.parametrize("given", [{}, {"x": None}, {"x": ""}, {"x": "   "}])
def test_a_required_identifier_must_be_given(code, message, given):
    identifiers = {code: value for value in given.values()}
    errors = errors_of(details(identifiers=identifiers), [code])
    assert errors == {f"identifiers.{code}": message}


def test_unknown_identifier_is_refused():
    errors = errors_of(details(identifiers={"religion": "none"}), [])
    assert errors == {"identifiers.religion": "unknown field"}


def test_an_unknown_identifier_with_an_odd_name_is_not_echoed_as_a_key():
    errors = errors_of(details(identifiers={"x" * 5000: "1", "a.b": "2"}), [])
    assert errors == {"identifiers": "unknown field"}


def test_identifiers_not_required_are_dropped_unread():
    raw = details(identifiers={"amka": "not even a number", "afm": "094259216"})
    assert clean_details(raw, [])["identifiers"] == {}
    assert clean_details(raw, ["afm"])["identifiers"] == {"afm": "094259216"}


@pytest.mark.parametrize("value", ["amka", ["amka"], 5])
def test_identifiers_must_be_an_object(value):
    errors = errors_of(details(identifiers=value), [])
    assert errors == {"identifiers": "must be of type object"}


def test_a_required_field_outside_the_catalog_is_a_bug_not_input():
    with pytest.raises(ValueError, match="religion"):
        clean_details(details(), ["religion"])


def test_details_must_be_an_object():
    with pytest.raises(ValidationError):
        clean_details(["name"], [])


# -- name ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("written, stored", [
    ("  Γιώργος   Παπαδόπουλος ", "Γιώργος Παπαδόπουλος"),
    ("Jean-Luc\tO'Neil", "Jean-Luc O'Neil"),
    ("محمد علي", "محمد علي"),
    ("Ali\u00a0Reza", "Ali Reza"),
    ("Yo", "Yo"),
    ("Α" * 120, "Α" * 120),
    ("Γιώργος", "Γιώργος"),
])
def test_names_are_trimmed_and_collapsed(written, stored):
    assert clean_details(details(name=written), [])["name"] == stored


def test_decomposed_accents_are_composed():
    assert clean_details(details(name="Γιω\u0301ργος"), [])["name"] == "Γιώργος"


@pytest.mark.parametrize("value, message", [
    (None, "Enter your full name."),
    ("", "Enter your full name."),
    ("   \n ", "Enter your full name."),
    ("A", "Your full name must be 2 to 120 characters long."),
    ("Α" * 121, "Enter at most 120 characters."),
    ("x" * 5000, "Enter at most 120 characters."),
    ("12345", "Your full name must contain letters."),
    ("-- --", "Your full name must contain letters."),
    (["Maria"], "Enter text."),
    (42, "Enter text."),
])
def test_bad_names(value, message):
    assert errors_of(details(name=value), []) == {"name": message}


@pytest.mark.parametrize("value", ["Maria\x00Papa", "Maria\x07", "Maria\x1bPapa",
                                   "Maria\u202eapaP", "Maria\u2066Papa", "Maria\ue000",
                                   "Maria\x85Papa", "Maria\x0bPapa"])
def test_control_characters_are_refused(value):
    errors = errors_of(details(name=value), [])
    assert errors == {"name": "Remove the invisible or control characters from this field."}


def test_control_characters_in_an_address_are_refused_too():
    errors = errors_of(details(identifiers={"address": "Αθηνάς 12\x00"}), ["address"])
    assert errors == {"identifiers.address":
                      "Remove the invisible or control characters from this field."}


def test_persian_zero_width_non_joiner_is_part_of_a_name():
    assert clean_details(details(name="مهدی\u200cزاده"), [])["name"] == "مهدی\u200cزاده"


# -- address ------------------------------------------------------------------------------------

def test_address_at_its_limit_and_past_it():
    limit = "Α" * 200
    assert clean_details(details(identifiers={"address": limit}), ["address"])[
        "identifiers"]["address"] == limit
    for value in ("Α" * 201, "Α" * 5000):
        errors = errors_of(details(identifiers={"address": value}), ["address"])
        assert errors == {"identifiers.address": "Enter at most 200 characters."}


# -- identity card or passport ------------------------------------------------------------------

@pytest.mark.parametrize("written", ["ΑΒ 123456", "AB123456", "ab-123456", "αβ 123 456",
                                     "Αβ123456", "ＡＢ１２３４５６"])
def test_greek_and_latin_look_alikes_are_one_card(written):
    cleaned = clean_details(details(identifiers={"id_number": written}), ["id_number"])
    assert cleaned["identifiers"] == {"id_number": "AB123456"}


@pytest.mark.parametrize("written, stored", [
    ("Χ 123456", "X123456"),          # an old card, one letter
    ("AE1234567", "AE1234567"),        # a Greek passport
    ("C01X00T47", "C01X00T47"),        # a German passport
    ("FX 123456", "FX123456"),
])
def test_cards_and_passports(written, stored):
    cleaned = clean_details(details(identifiers={"id_number": written}), ["id_number"])
    assert cleaned["identifiers"]["id_number"] == stored


@pytest.mark.parametrize("value", ["AB12", "ΑΓ123456", "ABCDEFGH", "AB1234567890123",
                                   "AB#123456", "A" * 5000, 123456])
def test_bad_card_numbers(value):
    errors = errors_of(details(identifiers={"id_number": value}), ["id_number"])
    assert set(errors) == {"identifiers.id_number"}


def test_card_number_message_shows_an_example():
    errors = errors_of(details(identifiers={"id_number": "AB12"}), ["id_number"])
    assert "ΑΒ 123456" in errors["identifiers.id_number"]


# -- date of birth ------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["1980-03-25", "25/03/1980", "25/3/1980", "25.03.1980",
                                     "25-03-1980", date(1980, 3, 25)])
def test_date_of_birth_forms(written):
    cleaned = clean_details(details(identifiers={"birth_date": written}), ["birth_date"])
    assert cleaned["identifiers"] == {"birth_date": "1980-03-25"}


@pytest.mark.parametrize("value", ["31/02/1990", "1990-02-31", "1980-3-25", "25/03/80",
                                   "03/25/1980", "19800325", "yesterday", "9" * 5000])
def test_date_of_birth_that_is_no_date(value):
    errors = errors_of(details(identifiers={"birth_date": value}), ["birth_date"])
    assert errors == {"identifiers.birth_date":
                      "Enter your date of birth as day/month/year, like 25/03/1980."}


def test_date_of_birth_in_the_future_or_too_long_ago():
    today = date(2026, 11, 27)
    assert clean_birth_date("27/11/2026", today=today) == "2026-11-27"
    assert clean_birth_date("27/11/1896", today=today) == "1896-11-27"
    with pytest.raises(identity._Refused) as future:
        clean_birth_date("28/11/2026", today=today)
    assert str(future.value.message) == "Your date of birth cannot be in the future."
    with pytest.raises(identity._Refused) as old:
        clean_birth_date("26/11/1896", today=today)
    assert str(old.value.message) == "Check the year of your date of birth."


def test_date_of_birth_tomorrow_is_refused_through_the_whole_step():
    tomorrow = (date.today() + timedelta(days=2)).strftime("%d/%m/%Y")
    errors = errors_of(details(identifiers={"birth_date": tomorrow}), ["birth_date"])
    assert errors == {"identifiers.birth_date": "Your date of birth cannot be in the future."}


# -- language -----------------------------------------------------------------------------------

def test_language_defaults_to_the_current_one():
    assert clean_details(details(language=None), [])["language"] == "en"
    with force_locale("el"):
        assert clean_details(details(language=""), [])["language"] == "el"


@pytest.mark.parametrize("written, stored", [("el", "el"), ("EN", "en"), ("el-GR", "el"),
                                             ("en_GB", "en")])
def test_language_is_one_of_the_apps(written, stored):
    assert clean_details(details(language=written), [])["language"] == stored


@pytest.mark.parametrize("value", ["de", "xx", "e", "el" * 3000, 1, ["el"]])
def test_language_not_offered_is_refused(value):
    errors = errors_of(details(language=value), [])
    assert errors == {"language": "Choose one of the offered languages."}


# -- needs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("written, stored", [("ar", "ar"), ("AR", "ar"), ("fa-AF", "fa-AF"),
                                             ("fa_af", "fa-AF"), ("uk", "uk"), ("sq", "sq"),
                                             (None, None), ("", None)])
def test_interpreter_languages(written, stored):
    needs = clean_details(details(needs={"interpreter": written}), [])["needs"]
    assert needs["interpreter"] == stored


@pytest.mark.parametrize("value", ["tlh", "el", "ar-XX", "a" * 5000, 7, ["ar"]])
def test_unknown_interpreter_language_is_refused(value):
    errors = errors_of(details(needs={"interpreter": value}), [])
    assert errors == {"needs.interpreter": "Choose the interpreter's language from the list."}


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, []])
def test_needs_flags_are_booleans(value):
    errors = errors_of(details(needs={"wheelchair": value, "sign_language": value}), [])
    assert errors == {"needs.wheelchair": "must be of type boolean",
                      "needs.sign_language": "must be of type boolean"}


def test_needs_flags():
    needs = clean_details(details(needs={"wheelchair": False, "sign_language": True}), [])["needs"]
    assert needs == {"interpreter": None, "wheelchair": False, "sign_language": True}


def test_unknown_need_is_refused():
    errors = errors_of(details(needs={"parking": True}), [])
    assert errors == {"needs.parking": "unknown field"}


@pytest.mark.parametrize("value", ["wheelchair", ["wheelchair"], True])
def test_needs_must_be_an_object(value):
    assert errors_of(details(needs=value), []) == {"needs": "must be of type object"}


def test_interpreter_languages_carry_their_own_names():
    assert INTERPRETER_LANGUAGES["ar"] == "العربية"
    assert INTERPRETER_LANGUAGES["fa"] == "فارسی"
    assert INTERPRETER_LANGUAGES["fa-AF"] == "دری"
    assert INTERPRETER_LANGUAGES["uk"] == "Українська"
    assert INTERPRETER_LANGUAGES["sq"] == "Shqip"
    assert INTERPRETER_LANGUAGES["ka"] == "ქართული"  # Georgian starts no word with a capital
    assert "el" not in INTERPRETER_LANGUAGES


def test_interpreter_choices_name_each_language_for_the_reader_and_in_itself():
    greek = dict(interpreter_choices("el"))
    assert greek["ar"] == "Αραβικά — العربية"
    assert greek["en"] == "Αγγλικά — English"
    english = dict(interpreter_choices("en"))
    assert english["fa-AF"] == "Dari — دری"
    assert english["en"] == "English"
    assert [code for code, _ in interpreter_choices("en")][:2] == ["sq", "am"]


# -- messages -----------------------------------------------------------------------------------

def test_messages_are_translated_when_shown_not_when_raised():
    with pytest.raises(ValidationError) as caught:
        clean_details(details(name=None, language="de"), [])
    name, language = caught.value.errors["name"], caught.value.errors["language"]
    assert str(name) == "Enter your full name."
    with force_locale("el"):
        assert str(name) == gettext("Enter your full name.")
        # a message the catalog already has, shown in Greek
        assert str(language) == "Επιλέξτε μία από τις διαθέσιμες γλώσσες."


# -- the keys of the cap on bookings ------------------------------------------------------------

def test_citizen_keys_name_every_identifier_given():
    cleaned = clean_details({
        "name": "Μαρία", "email": "Maria.Papa@Example.GR", "phone": "6912345678",
        "identifiers": {"amka": "01013099997", "afm": "EL094259216", "id_number": "αβ 123456",
                        "birth_date": "1980-03-25", "address": "Αθηνάς 12"},
    }, ["amka", "afm", "id_number", "birth_date", "address"])
    assert citizen_keys(cleaned) == ["email:maria.papa@example.gr", "phone:+306912345678",
                                     "amka:01013099997", "afm:094259216", "id:AB123456"]


def test_citizen_keys_of_one_person_written_two_ways_are_equal():
    one = clean_details({"name": "Μαρία", "email": "MARIA@example.gr", "phone": "6912345678",
                         "identifiers": {"id_number": "ΑΒ 123456"}}, ["id_number"])
    two = clean_details({"name": "Maria", "email": "maria@EXAMPLE.gr",
                         "phone": "0030 691 234 5678",
                         "identifiers": {"id_number": "ab123456"}}, ["id_number"])
    assert citizen_keys(one) == citizen_keys(two)


def test_citizen_keys_only_of_what_is_present():
    assert citizen_keys({"name": "Μαρία", "email": None, "phone": "+306912345678",
                         "identifiers": {}}) == ["phone:+306912345678"]
    assert citizen_keys({"name": "Μαρία", "email": None, "phone": None,
                         "identifiers": {}}) == []
