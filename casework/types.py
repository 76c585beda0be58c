"""Column types for coded values from ``casework.vocab``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Dialect, String, TypeDecorator

from casework.vocab import CodeList


class CodeSet(TypeDecorator[frozenset[str]]):
    """A set of codes from one append-only code list, stored as an integer bitmask.

    NULL means "not asked / not known" (CTDC ``-99``); an empty set means "asked: none". The
    integer form keeps SQL reporting (``mask & bit``) and vectorised exports cheap.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, code_list: CodeList, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.code_list = code_list

    def process_bind_param(self, value: Iterable[str] | None, dialect: Dialect) -> int | None:
        return self.code_list.mask_of(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> frozenset[str] | None:
        return self.code_list.codes_of(value)

    def __repr__(self) -> str:
        return "BigInteger()"


class CodeTuple(TypeDecorator[tuple[str, ...]]):
    """An ordered list of short codes (e.g. ISO country codes) stored as comma-separated text."""

    impl = String(400)
    cache_ok = True

    def __init__(self, code_list: CodeList, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.code_list = code_list

    def process_bind_param(self, value: Iterable[str] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        codes = list(value)
        unknown = [c for c in codes if c not in self.code_list]
        if unknown:
            raise ValueError(f"unknown {self.code_list.name} codes: {unknown}")
        return ",".join(codes)

    def process_result_value(self, value: str | None, dialect: Dialect) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(c for c in value.split(",") if c)

    def __repr__(self) -> str:
        return "String(length=400)"
