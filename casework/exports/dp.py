"""Differentially private releases: synthetic microdata in the CTDC layout and noisy tables.

- Synthetic microdata: Microsoft's ``pac-synth`` (the engine of the Synthetic Data Showcase,
  which made CTDC's synthetic global dataset): differentially private marginals up to
  :data:`REPORTING_LENGTH` attributes (Gaussian noise, (epsilon, delta)-DP), from which records
  are sampled. Every value is the code of a released attribute, so derived columns are
  computed from them as for real data, and the rows then go through the k-anonymiser like any
  microdata (post-processing: no privacy cost).
- Tables: OpenDP's discrete Laplace mechanism on every cell of a table whose categories are
  fixed in advance, with the sensitivity of one person (:func:`tables.sensitivity`); margins
  are sums of the noisy cells (post-processing). Pure epsilon-DP (delta 0).

The epsilon and delta of each release are what the dataset's budget is charged (basic
sequential composition: spends add up).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

REPORTING_LENGTH = 3
#: delta of one synthetic release (the Gaussian mechanism's failure probability).
SYNTHETIC_DELTA = 1e-7
#: pac-synth's worker threads (the machine is shared with the web workers).
THREADS = 2
#: Share of a synthetic release's epsilon that protects its number of records (pac-synth's
#: default, 0.5%, makes that noise so large that small datasets fail).
RECORDS_EPSILON_SHARE = 0.05


class SynthesisFailed(RuntimeError):
    """The synthesiser could not make data from this dataset with this epsilon."""


def synthesise(codes: np.ndarray, names: Sequence[str], epsilon: float, delta: float) -> np.ndarray:
    """Synthetic records (codes of the same attributes, ``0`` = missing) from ``codes``.
    Raises SynthesisFailed when the synthesiser gives up (its noise, e.g. on very few cases)."""
    import pacsynth

    pacsynth.set_number_of_threads(THREADS)
    raw = [list(names)]
    raw.extend([("" if v == 0 else str(v)) for v in row] for row in codes.tolist())
    dataset = pacsynth.Dataset(raw)
    parameters = (
        pacsynth.DpAggregateSeededParametersBuilder()
        .reporting_length(min(REPORTING_LENGTH, len(names)))
        .epsilon(float(epsilon))
        .delta(float(delta))
        .number_of_records_epsilon_proportion(RECORDS_EPSILON_SHARE)
        .build()
    )
    synthesiser = pacsynth.DpAggregateSeededSynthesizer(parameters)
    try:
        synthesiser.fit(dataset)
        sampled = synthesiser.sample()
    except BaseException as error:  # noqa: BLE001 - pac-synth panics (pyo3 PanicException) on bad draws
        if type(error).__name__ != "PanicException":
            raise
        raise SynthesisFailed(str(error)) from None
    header = sampled[0]
    order = [header.index(name) for name in names]
    out = np.zeros((len(sampled) - 1, len(names)), dtype=codes.dtype)
    for i, row in enumerate(sampled[1:]):
        out[i] = [int(row[p]) if row[p] else 0 for p in order]
    return out


def noisy_counts(counts: np.ndarray, epsilon: float, sensitivity: int) -> tuple[np.ndarray, float]:
    """The cells of ``counts`` with discrete Laplace noise for ``epsilon`` given a person moves
    the table by at most ``sensitivity`` (L1); returns the noisy counts and the epsilon the
    mechanism guarantees (checked by OpenDP's privacy map)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    measurement = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=sensitivity / epsilon
    )
    spent = float(measurement.map(sensitivity))
    if spent > epsilon * (1 + 1e-9):
        raise RuntimeError("the noise does not meet the epsilon asked")
    flat = [int(v) for v in np.asarray(counts, dtype=np.int64).ravel()]
    noisy = np.asarray(measurement(flat), dtype=np.int64).reshape(np.shape(counts))
    return noisy, spent
