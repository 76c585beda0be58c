"""Fake identities: names from pools matching the citizenship's region (some in their own
script), dates of birth consistent with the age, phone numbers, e-mail addresses, documents."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np

from casework.synthetic.parameters import SyntheticParameters
from casework.synthetic.world import CALLING_CODES, OTHER_REGION, REGION_OF, STREETS, gendered, name_pool


def identities(
    rng: np.random.Generator,
    citizenship: np.ndarray,
    gender: np.ndarray,
    age: np.ndarray,
    opened_on: np.ndarray,
    params: SyntheticParameters,
) -> dict[str, object]:
    n = len(citizenship)
    female = (gender == "female") | ((gender != "male") & (rng.random(n) < 0.5))
    native = rng.random(n) < params.native_script_share
    u = rng.random((n, 6))  # given, family, second family, alias, city, street
    has = rng.random((n, 8))  # place of birth, phone, email, address, languages, document, alias, dob
    digits = rng.integers(0, 10**9, size=(n, 3))
    given: list[str] = []
    family: list[str] = []
    aliases: list[str | None] = []
    place: list[str | None] = []
    phone: list[str | None] = []
    email: list[str | None] = []
    address: list[str | None] = []
    languages: list[str | None] = []
    doc_type: list[str | None] = []
    doc_number: list[str | None] = []
    doc_country: list[str | None] = []
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    rows = zip(
        citizenship.tolist(),
        female.tolist(),
        native.tolist(),
        age.tolist(),
        u.tolist(),
        has.tolist(),
        digits.tolist(),
        strict=True,
    )
    for cc, is_female, in_native_script, years, row, flags, number in rows:
        region = REGION_OF.get(cc, OTHER_REGION)
        first_pool = name_pool(region.pool, "female" if is_female else "male")
        family_pool = name_pool(region.pool, "family")
        g_latin, g_native = first_pool[int(row[0] * len(first_pool))]
        f_latin, f_native = family_pool[int(row[1] * len(family_pool))]
        f_latin = gendered(f_latin, is_female)
        f_native = gendered(f_native, is_female) if f_native else None
        use_native = in_native_script and g_native is not None and f_native is not None
        g = g_native if use_native else g_latin
        f = f_native if use_native else f_latin
        if region.pool == "latin_america" and row[2] < 0.5:  # two family names
            second = family_pool[int(row[2] * 2 * len(family_pool))][0]
            if second != f:
                f = f"{f} {second}"
        given.append(str(g))
        family.append(str(f))
        alias = first_pool[int(row[3] * len(first_pool))][0]
        aliases.append(alias if flags[6] < 0.1 and alias != g_latin else None)
        city = region.cities[int(row[4] * len(region.cities))]
        place.append(city if flags[0] < 0.5 else None)
        calling = CALLING_CODES.get(cc, region.calling_code)
        phone.append(f"+{calling} {number[0] % 1000:03d} {number[1] % 10000000:07d}" if flags[1] < 0.55 else None)
        email.append(
            f"{_ascii(g_latin)}.{_ascii(f_latin)}{number[2] % 100}@example.{('org', 'net', 'com')[number[2] % 3]}"
            if flags[2] < 0.15 and years >= 14
            else None
        )
        address.append(
            f"{number[0] % 200 + 1} {STREETS[int(row[5] * len(STREETS))]} Street, {city}" if flags[3] < 0.3 else None
        )
        languages.append(", ".join(region.languages[: 1 + int(row[5] * 2)]) if flags[4] < 0.7 else None)
        if flags[5] < 0.6:
            kind = (
                "passport"
                if years >= 16 and flags[5] < 0.36
                else ("national_id" if years >= 14 else "birth_certificate")
            )
            doc_type.append(kind)
            prefix = letters[number[0] % len(letters)] + letters[number[1] % len(letters)]
            doc_number.append(f"{prefix}{number[2] % 10000000:07d}" if kind == "passport" else f"{number[2]:09d}")
            doc_country.append(cc or None)
        else:
            doc_type.append(None)
            doc_number.append(None)
            doc_country.append(None)
    return {
        "given_name": given,
        "family_name": family,
        "aliases": aliases,
        "date_of_birth": _dates_of_birth(rng, age, opened_on, params),
        "place_of_birth": place,
        "phone": phone,
        "email": email,
        "address": address,
        "languages": languages,
        "document_type": doc_type,
        "document_number": doc_number,
        "document_country": doc_country,
    }


@lru_cache(maxsize=4096)
def _ascii(name: str) -> str:
    from casework.crypto.blind_index import fold

    return "".join(ch for ch in fold(name) if ch.isascii() and ch.isalnum()) or "person"


def _dates_of_birth(
    rng: np.random.Generator, age: np.ndarray, opened_on: np.ndarray, params: SyntheticParameters
) -> np.ndarray:
    """A date of birth that makes the person exactly ``age`` on the day the case was opened."""
    n = len(age)
    since_birthday = rng.integers(0, 365, n)
    missing = (age < 0) | (rng.random(n) < params.date_of_birth_missing_share)
    result = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    last_birthdays = (opened_on - since_birthday.astype("timedelta64[D]")).tolist()
    for i in np.flatnonzero(~missing).tolist():
        birthday: date = last_birthdays[i]
        year = birthday.year - int(age[i])
        try:
            dob = birthday.replace(year=year)
        except ValueError:  # 29 February in a non-leap year
            dob = birthday.replace(year=year, day=28)
        result[i] = dob
    return result
