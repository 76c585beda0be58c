"""The CTDC mapping table, column by column, and the CSV writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework import vocab
from casework.exports import ctdc
from casework.exports.anonymise import MISSING_CODE, anonymise
from tests.exports.checks import assert_k_anonymous, pycanon_k, read_csv

HEADER_FILE = Path(__file__).resolve().parents[3] / "shared/ctdc/ctdc_global_header.csv"
CONTRACT_HEADER = HEADER_FILE.read_bytes().splitlines()[0].decode("utf-8")


def raw_case(**values) -> dict:
    """One raw database row, NULL everywhere unless given (the reader's conventions)."""
    row = {
        "year_of_registration": 2024,
        "data_source": "case_management",
        "gender": "",
        "age_at_registration": -1,
        "citizenship": "",
        "country_of_exploitation": "",
        "age_at_exploitation_start": -1,
        "age_at_recruitment": -1,
        "means_of_control": -1,
        "exploitation_types": -1,
        "labour_sectors": -1,
        "sexual_exploitation_types": -1,
        "recruiter_relationships": -1,
        "abducted": -1,
    }
    row.update(values)
    return row


def to_chunk(rows: list[dict]) -> dict[str, np.ndarray]:
    chunk = {}
    for name, (_table, _column, kind) in ctdc.RAW_COLUMNS.items():
        values = [row[name] for row in rows]
        chunk[name] = np.asarray(values, dtype=str) if kind == "code" else np.asarray(values, dtype=np.int64)
    return chunk


def released(rows: list[dict]) -> list[dict[str, str]]:
    texts = ctdc.decode(ctdc.encode(to_chunk(rows)))
    return [dict(zip(ctdc.HEADER, values, strict=True)) for values in zip(*texts, strict=True)]


def expected_row(row: dict) -> dict[str, str]:
    """The contract's mapping, written out again from vocab (independently of ctdc.py)."""

    def flags(prefix: str, code_list: vocab.CodeList, mask: int) -> dict[str, str]:
        if mask < 0:
            return {f"{prefix}{c.ctdc}": "-99" for c in code_list}
        return {f"{prefix}{c.ctdc}": "1" if mask >> i & 1 else "0" for i, c in enumerate(code_list)}

    def joined(code_list: vocab.CodeList, mask: int) -> str:
        if mask < 0:
            return "-99"
        labels = [c.ctdc_label for i, c in enumerate(code_list) if mask >> i & 1 and c.ctdc_label]
        return ";".join(labels) or "-99"

    age = row["age_at_registration"]
    exploit = row["exploitation_types"]
    out = {
        "yearOfRegistration": str(row["year_of_registration"]),
        "Datasource": {"case_management": "Case Management", "hotline": "Hotline"}[row["data_source"]],
        "gender": vocab.GENDERS.get(row["gender"]).ctdc if row["gender"] else "-99",
        "ageBroad": vocab.age_band(age if age >= 0 else None),
        "majorityStatus": vocab.majority(age if age >= 0 else None),
        "majorityStatusAtExploit": vocab.majority(
            row["age_at_exploitation_start"] if row["age_at_exploitation_start"] >= 0 else None
        ),
        "majorityEntry": vocab.majority(row["age_at_recruitment"] if row["age_at_recruitment"] >= 0 else None),
        "citizenship": row["citizenship"] if row["citizenship"] in vocab.COUNTRIES else "-99",
        "CountryOfExploitation": (
            row["country_of_exploitation"] if row["country_of_exploitation"] in vocab.COUNTRIES else "-99"
        ),
        "isAbduction": {-1: "-99", 0: "0", 1: "1"}[row["abducted"]],
    }
    out |= flags("meansOfControl", vocab.MEANS_OF_CONTROL, row["means_of_control"])
    out["meansOfControlConcatenated"] = joined(vocab.MEANS_OF_CONTROL, row["means_of_control"])
    out |= flags("is", vocab.EXPLOITATION_TYPES, exploit)
    other = sum(1 << vocab.EXPLOITATION_TYPES.index(c) for c in ("other_exploitation", "forced_marriage",
                "forced_military", "organ_removal", "slavery_and_practices"))  # fmt: skip
    if exploit >= 0:
        out["isOtherExploit"] = "1" if exploit & other else "0"
        fl = exploit & 1 << vocab.EXPLOITATION_TYPES.index("forced_labour")
        se = exploit & 1 << vocab.EXPLOITATION_TYPES.index("sexual_exploitation")
        out["isSexAndLabour"] = "1" if fl and se else "0"
        labels = [lab for flag, lab in ((fl, "Forced labour and/or services"), (se, "Sexual exploitation"),
                                        (exploit & other, "Other")) if flag]  # fmt: skip
        out["typeOfExploitConcatenated"] = ";".join(labels) or "-99"
    else:
        out["isSexAndLabour"] = out["typeOfExploitConcatenated"] = "-99"
    out |= flags("typeOfLabour", vocab.LABOUR_SECTORS, row["labour_sectors"])
    out["typeOfLabourConcatenated"] = joined(vocab.LABOUR_SECTORS, row["labour_sectors"])
    out |= flags("typeOfSex", vocab.SEXUAL_EXPLOITATION_TYPES, row["sexual_exploitation_types"])
    out["typeOfSexConcatenated"] = joined(vocab.SEXUAL_EXPLOITATION_TYPES, row["sexual_exploitation_types"])
    out |= flags("recruiterRelation", vocab.RECRUITER_RELATIONSHIPS, row["recruiter_relationships"])
    out["RecruiterRelationship"] = joined(vocab.RECRUITER_RELATIONSHIPS, row["recruiter_relationships"])
    return out


def mask(code_list: vocab.CodeList, *codes: str) -> int:
    return code_list.mask_of(codes) or 0


CASES = {
    "nothing known": raw_case(),
    "everything asked, nothing found": raw_case(
        gender="unknown", age_at_registration=30, citizenship="00", country_of_exploitation="00",
        means_of_control=0, exploitation_types=0, labour_sectors=0, sexual_exploitation_types=0,
        recruiter_relationships=0, abducted=0,
    ),
    "a typical case": raw_case(
        data_source="hotline", gender="female", age_at_registration=17, citizenship="NG",
        country_of_exploitation="IT", age_at_exploitation_start=16, age_at_recruitment=15,
        means_of_control=mask(vocab.MEANS_OF_CONTROL, "debt_bondage", "withholds_documents", "not_specified"),
        exploitation_types=mask(vocab.EXPLOITATION_TYPES, "forced_labour", "sexual_exploitation"),
        labour_sectors=mask(vocab.LABOUR_SECTORS, "mining_or_drilling", "domestic_work"),
        sexual_exploitation_types=mask(vocab.SEXUAL_EXPLOITATION_TYPES, "prostitution", "private_sexual_services"),
        recruiter_relationships=mask(vocab.RECRUITER_RELATIONSHIPS, "intimate_partner", "unknown"), abducted=1,
    ),
    "forced marriage only": raw_case(
        gender="transgender_nonconforming", age_at_registration=8, citizenship="UA", country_of_exploitation="PL",
        exploitation_types=mask(vocab.EXPLOITATION_TYPES, "forced_marriage"),
    ),
    "age bounds": raw_case(age_at_registration=48, age_at_exploitation_start=18, age_at_recruitment=17),
    "unknown country code": raw_case(citizenship="QQ", country_of_exploitation="ZZ", gender="male"),
}  # fmt: skip


def test_header_is_byte_equal_to_the_contract() -> None:
    assert ctdc.header_line() == CONTRACT_HEADER + "\n"
    assert len(ctdc.HEADER) == 63 == len(set(ctdc.HEADER))
    text = "".join(chunk for chunk, _rows in ctdc.csv_chunks(np.zeros((0, len(ctdc.ATTRIBUTES)), dtype=np.uint8)))
    assert text.encode("utf-8") == (CONTRACT_HEADER + "\n").encode("utf-8")


@pytest.mark.parametrize("name", list(CASES))
def test_every_column_maps_as_the_contract_says(name: str) -> None:
    row = CASES[name]
    got = released([row])[0]
    want = expected_row(row)
    assert set(want) == set(ctdc.HEADER)
    for column in ctdc.HEADER:
        assert got[column] == want[column], f"{column}: {got[column]!r} != {want[column]!r}"


def test_codes_and_labels_are_consistent() -> None:
    assert len(ctdc.ATTRIBUTES) == 56
    for column in ctdc.COLUMNS:
        if column.is_released:
            assert column.labels[MISSING_CODE] == "-99"
            assert len(column.labels) == column.attribute().cardinality
        else:
            assert column.derived_from and set(column.derived_from) <= set(ctdc.ATTRIBUTE_NAMES)


def test_derived_columns_never_reveal_a_suppressed_flag() -> None:
    row = CASES["a typical case"]
    codes = ctdc.encode(to_chunk([row]))
    names = list(ctdc.ATTRIBUTE_NAMES)
    for column in ("meansOfControlDebtBondage", "isForcedLabour", "typeOfLabourMiningOrDrilling",
                   "typeOfSexProstitution", "recruiterRelationIntimatePartner"):  # fmt: skip
        codes[0, names.index(column)] = MISSING_CODE
    codes[0, names.index("ageBroad")] = ctdc.AGE_MINOR_ONLY
    got = dict(zip(ctdc.HEADER, (c[0] for c in ctdc.decode(codes)), strict=True))
    assert "Debt bondage" not in got["meansOfControlConcatenated"]
    assert got["meansOfControlConcatenated"] == "Withholds/Destroys Important Documents;Not Specified"
    assert got["isSexAndLabour"] == "-99"  # forced labour suppressed, sexual exploitation 1
    assert got["typeOfExploitConcatenated"] == "Sexual exploitation"
    assert got["typeOfLabourConcatenated"] == "Domestic Work"
    assert got["typeOfSexConcatenated"] == "Private sexual services"
    assert got["RecruiterRelationship"] == "Not Specified"
    assert (got["ageBroad"], got["majorityStatus"]) == ("-99", "Minor")


def test_labels_with_commas_are_quoted() -> None:
    codes = ctdc.encode(to_chunk([CASES["a typical case"]] * 2))
    text = "".join(chunk for chunk, _rows in ctdc.csv_chunks(codes))
    header, rows = read_csv(text)
    assert header == list(ctdc.HEADER)
    labour = rows[0][header.index("typeOfLabourConcatenated")]
    assert labour == "Domestic Work;Mining, Quarrying, Oil/Gas Extraction"
    assert all(len(r) == 63 for r in rows)


def test_attributes_behind_columns() -> None:
    assert ctdc.attributes_for(["majorityStatus"]) == ("ageBroad",)
    assert set(ctdc.attributes_for(["isSexAndLabour"])) == {"isForcedLabour", "isSexualExploit"}
    assert len(ctdc.attributes_for(["meansOfControlConcatenated"])) == 18
    with pytest.raises(ValueError):
        ctdc.attributes_for(["caseId"])


countries = st.sampled_from(["", "00", "NG", "UA", "RO", "VN", "QQ"])
masks = st.integers(-1, 255)


@st.composite
def raw_rows(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(0, 60))
    rows = []
    for _ in range(n):
        rows.append(
            raw_case(
                year_of_registration=draw(st.integers(2015, 2018)),
                data_source=draw(st.sampled_from(["case_management", "hotline"])),
                gender=draw(st.sampled_from(["", "female", "male", "unknown"])),
                age_at_registration=draw(st.integers(-1, 60)),
                citizenship=draw(countries),
                country_of_exploitation=draw(countries),
                age_at_exploitation_start=draw(st.integers(-1, 40)),
                means_of_control=draw(masks),
                exploitation_types=draw(st.integers(-1, 127)),
                labour_sectors=draw(masks),
                sexual_exploitation_types=draw(st.integers(-1, 15)),
                recruiter_relationships=draw(st.integers(-1, 31)),
                abducted=draw(st.integers(-1, 1)),
            )
        )
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw_rows(), st.integers(2, 6))
def test_the_whole_chain_is_k_anonymous_over_all_63_columns(rows, k) -> None:
    codes = ctdc.encode(to_chunk(rows)) if rows else np.zeros((0, 56), dtype=np.uint8)
    if 0 < len(rows) < k:
        return
    result = anonymise(codes, ctdc.ATTRIBUTES, k, seed=0)
    text = "".join(chunk for chunk, _rows in ctdc.csv_chunks(result.codes))
    header, out = read_csv(text)
    assert header == list(ctdc.HEADER)
    assert len(out) == len(rows)
    assert_k_anonymous(out, k)
    if out:
        assert pycanon_k(out, header, header) >= k
