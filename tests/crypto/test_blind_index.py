from casework.crypto import blind_index

KEY = b"k" * 32


def test_name_normalisation_folds_case_accents_spaces_order_and_punctuation():
    variants = ["María-José  GARCÍA", "garcia maria jose", "Garcia, Maria José", "MARIA JOSE GARCIA"]
    values = {blind_index.name_index(v, None, key=KEY) for v in variants}
    assert len(values) == 1


def test_given_and_family_split_does_not_matter():
    assert blind_index.name_index("Ánh", "Nguyễn Thị", key=KEY) == blind_index.name_index("nguyen thi", "anh", key=KEY)


def test_different_names_differ_and_purposes_are_separated():
    assert blind_index.name_index("Ana", "Lima", key=KEY) != blind_index.name_index("Ana", "Lina", key=KEY)
    assert blind_index.compute("name", "x", KEY) != blind_index.compute("document", "x", KEY)


def test_document_numbers_ignore_spaces_and_dashes():
    assert blind_index.document_index("ab 12-345", key=KEY) == blind_index.document_index("AB12345", key=KEY)


def test_empty_values_have_no_index():
    assert blind_index.name_index("  ", None, key=KEY) is None
    assert blind_index.document_index("--", key=KEY) is None
    assert blind_index.name_dob_index("Ana", "Lima", None, key=KEY) is None


def test_index_depends_on_the_key_and_is_truncated_hex():
    one = blind_index.name_index("Ana", "Lima", key=KEY)
    two = blind_index.name_index("Ana", "Lima", key=b"j" * 32)
    assert one != two
    assert len(one) == 32 and int(one, 16) >= 0


def test_cyrillic_and_arabic_names_are_indexed():
    assert blind_index.name_index("Ольга", "Иванова", key=KEY) == blind_index.name_index("ОЛЬГА", "ИВАНОВА", key=KEY)
    assert blind_index.name_index("فاطمة", None, key=KEY) is not None
