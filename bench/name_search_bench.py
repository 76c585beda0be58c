"""False positives and recall of the tolerant name search over synthetic names (not a test).

Builds, for ``--people`` synthetic people (given names from a fixed list of names common in the
regions casework serves, family names from that list plus generated syllable names), the same
blind indexes ``casework.cases.names`` stores (whole tokens, prefixes of 3..5 letters, Soundex
keys: HMAC under one random key) and runs the same matching rule (every typed token must match
a token, prefix or sound-alike of the person) for queries typed the way caseworkers type:

- the full name; the given name alone; the first four letters of each name; the full name with
  one letter dropped from the family name (a typo); the full name with one letter doubled.

For each kind of query: recall (the person searched for is among the results) and the
false-positive rate (the share of results whose given and family names differ from the
person's), and the mean number of results. Figures depend on the name distribution: a real
organisation's names (many shared family names) give more results per query.

Run: ``.venv/bin/python bench/name_search_bench.py [--people 20000] [--queries 2000]``
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casework.cases import names  # noqa: E402

GIVEN = (
    "Amara Amina Aisha Blessing Chioma Chinedu Esther Faith Grace Joy Mercy Ngozi Precious Ruth Tunde Emeka "
    "Olena Oksana Iryna Natalia Svetlana Elena Mihai Ion Andrei Bogdan Ana Maria Elodie Sofia Lucia Carmen "
    "Mai Linh Hoa Thi Anh Minh Siti Nur Dewi Rina Maricel Jocelyn Rosa Juana Luz Gloria Fatima Khadija "
    "Mohammed Ahmed Omar Yusuf Ali Hassan Ibrahim Samira Leila Nadia Priya Anjali Sunita Ravi Arjun Kamal"
).split()
FAMILY = (
    "Okafor Okonkwo Adeyemi Obi Eze Nwosu Bello Ibrahim Mensah Owusu Diallo Traore Kone Coulibaly Ba Diop "
    "Shevchenko Kovalenko Bondarenko Popescu Ionescu Popa Petrov Ivanova Nguyen Tran Le Pham Hoang Santos "
    "Reyes Cruz Garcia Rodriguez Martinez Lopez Hernandez Dupont Martin Bernard Rossi Russo Khan Hussain "
    "Ahmed Rahman Begum Singh Kumar Sharma Patel Das Wang Li Zhang Chen Liu Kim Park Lee Tesfaye Bekele"
).split()
SYLLABLES = (
    "ba be bi bo da de di do ka ke ki ko la le li lo ma me mi mo na ne ni no ra re ri ro sa se si so ta te ti to "
    "wa we ya yo"
).split()


def synthetic_people(n: int, rng: random.Random) -> list[tuple[str, str]]:
    generated = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title() for _ in range(3000)})
    families = list(FAMILY) * 20 + generated  # common family names are common
    return [(rng.choice(GIVEN), rng.choice(families)) for _ in range(n)]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word))
    return word[:i] + word[i + 1 :]


def double(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[: i + 1] + word[i] + word[i + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    key = os.urandom(32)
    people = synthetic_people(args.people, rng)
    index: dict[str, set[int]] = defaultdict(set)
    for person, (given, family) in enumerate(people):
        for token in names.tokens(given, family):
            for values in names.keys_of(token, key).values():
                for value in values:
                    index[value].add(person)

    def search(text: str) -> set[int]:
        count, wanted = names.query_values(text, key)
        per_token: dict[int, set[int]] = defaultdict(set)
        for value, (number, _weight) in wanted.items():
            per_token[number] |= index.get(value, set())
        found = [per_token[n] for n in range(count)]
        return set.intersection(*found) if found else set()

    kinds: dict[str, Callable[[str, str], str]] = {
        "full name": lambda g, f: f"{g} {f}",
        "given name alone": lambda g, f: g,
        "4-letter prefixes": lambda g, f: f"{g[:4]} {f[:4]}",
        "typo (letter dropped)": lambda g, f: f"{g} {typo(f, rng)}",
        "letter doubled": lambda g, f: f"{g} {double(f, rng)}",
    }
    targets = rng.sample(range(len(people)), min(args.queries, len(people)))
    print(f"{len(people):,} synthetic people, {len(index):,} distinct index values, {len(targets):,} queries per kind")
    print(f"{'query':<24}{'recall':>8}{'false positives':>17}{'mean results':>14}")
    for label, make in kinds.items():
        recalls, rates, sizes = [], [], []
        for target in targets:
            given, family = people[target]
            found = search(make(given, family))
            recalls.append(target in found)
            wrong = sum(1 for p in found if people[p] != people[target])
            rates.append(wrong / len(found) if found else 0.0)
            sizes.append(len(found))
        recall, rate, mean = statistics.mean(recalls), statistics.mean(rates), statistics.mean(sizes)
        print(f"{label:<24}{recall:>8.1%}{rate:>17.1%}{mean:>14.1f}")
        print(f"RESULT|name search {label}: recall / false-positive share|{recall:.1%} / {rate:.1%}|-|-")


if __name__ == "__main__":
    main()
