"""Benchmark: agreement statistics on 100 000 units × 200 codes of synthetic presence data.

Times, on the same two boolean (units × codes) presence matrices:

1. qualcode, all statistics (percent, κ, α, AC1, BP, specific agreement; per
   code, pooled sum and pooled mean), no intervals;
2. the same with 95% cluster-bootstrap intervals (1000 replicates over
   respondents) for every statistic and both pooled rows;
3. the ``krippendorff`` package computing α alone, one code at a time
   (it takes one reliability-data matrix per variable).

and reports each of ours as a ratio to (3). It also checks that our α equals
the package's α for every code. Then, with ``--coders`` (default 5) coders
who each rate a unit with probability ``--rated`` (the others are missing),
the same for the many-coder statistics (Fleiss' κ, Krippendorff's α with
missing values, Gwet's AC1, Brennan–Prediger, Light's κ and the pairwise κ;
per code, pooled sum and mean), without and with intervals (cluster
bootstrap, Gwet's variance, the test of κ = 0), against the ``krippendorff``
package computing α alone, one code at a time. With ``--pipeline`` it then times the whole
``compute_agreement`` path on a synthetic project (SQLite, units, span
coverage) at paragraph, respondent and character level. Run:

    python bench/bench_agree.py            # full size
    python bench/bench_agree.py --units 2000 --codes 10   # quick
    python bench/bench_agree.py --coders 0                # two coders only
"""

from __future__ import annotations

import argparse
import platform
import time
from importlib.metadata import version


def synthetic_presence(n_units: int, n_codes: int, n_clusters: int, seed: int):
    """Coder A's presence with per-code prevalence 1–30%, coder B agreeing on most units."""
    import numpy as np

    rng = np.random.default_rng(seed)
    prevalence = rng.uniform(0.01, 0.30, size=n_codes)
    present_a = rng.random((n_units, n_codes)) < prevalence
    flip = rng.random((n_units, n_codes)) < rng.uniform(0.01, 0.15, size=n_codes)
    present_b = present_a ^ flip
    clusters = np.sort(rng.integers(0, n_clusters, size=n_units))  # units grouped by respondent
    return present_a, present_b, clusters


def best_of(repeat: int, function):
    timings, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--codes", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=120, help="respondents (bootstrap clusters)")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs for our timings")
    parser.add_argument("--coders", type=int, default=5, help="coders for the many-coder part (0: skip it)")
    parser.add_argument("--rated", type=float, default=0.8, help="chance that a coder rates a unit (many coders)")
    parser.add_argument("--pipeline", action="store_true", help="also time compute_agreement on a synthetic project")
    parser.add_argument("--documents", type=int, default=60, help="--pipeline: documents (one respondent each)")
    parser.add_argument("--paragraphs", type=int, default=100, help="--pipeline: respondent paragraphs per document")
    args = parser.parse_args()

    import krippendorff
    import numpy as np

    from qualcode.agreement import compare_tables, tables_from_presence

    present_a, present_b, clusters = synthetic_presence(args.units, args.codes, args.clusters, args.seed)

    def ours_without_ci():
        tables = tables_from_presence(present_a, present_b)
        return compare_tables(tables)

    def ours_with_ci():
        cluster_tables = tables_from_presence(present_a, present_b, clusters)
        return compare_tables(cluster_tables.sum(axis=0), cluster_tables, ci=True, n_boot=args.n_boot, seed=args.seed)

    def krippendorff_alpha_alone():
        alphas = np.empty(args.codes)
        for code in range(args.codes):
            data = np.vstack([present_a[:, code], present_b[:, code]]).astype(float)
            alphas[code] = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                              value_domain=[0.0, 1.0])
        return alphas

    time_plain, plain = best_of(args.repeat, ours_without_ci)
    time_ci, with_ci = best_of(args.repeat, ours_with_ci)
    time_reference, reference = best_of(1, krippendorff_alpha_alone)

    assert np.allclose(plain["stats"]["alpha"], reference, atol=1e-9), "alpha differs from the krippendorff package"
    assert np.allclose(with_ci["stats"]["kappa"], plain["stats"]["kappa"])

    print(f"qualcode agreement benchmark: {args.units:,} units × {args.codes} codes, "
          f"{args.clusters} clusters, {args.n_boot} bootstrap replicates")
    print(f"python {platform.python_version()}, numpy {np.__version__}, krippendorff {version('krippendorff')}, "
          f"{platform.machine()}")
    rows = [
        ("qualcode: all statistics, no CIs", time_plain),
        (f"qualcode: all statistics + {args.n_boot}-replicate cluster-bootstrap CIs", time_ci),
        ("krippendorff package: alpha alone (one call per code)", time_reference),
    ]
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds:9.3f} s   ratio to krippendorff α: {seconds / time_reference:8.4f}")
    print(f"  α agrees with the krippendorff package for all {args.codes} codes (|Δ| < 1e-9)")
    if args.coders:
        many_coders(args, clusters)
    if args.pipeline:
        pipeline(args)


def synthetic_team(n_coders: int, n_units: int, n_codes: int, rated_share: float, seed: int):
    """Presence (C, U, K) of ``n_coders`` who each depart from a shared truth on 1–15% of units per code,
    and who each rate a unit with probability ``rated_share`` (at least two coders rate every unit)."""
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    prevalence = rng.uniform(0.01, 0.30, size=n_codes)
    truth = rng.random((n_units, n_codes)) < prevalence
    present = np.stack([truth ^ (rng.random((n_units, n_codes)) < rng.uniform(0.01, 0.15, size=n_codes))
                        for _ in range(n_coders)])
    rated = rng.random((n_coders, n_units)) < rated_share
    rated[:2, rated.sum(axis=0) < 2] = True
    return present & rated[:, :, None], rated


def many_coders(args, clusters) -> None:
    """The many-coder statistics on synthetic data, against the krippendorff package's α alone."""
    import krippendorff
    import numpy as np

    from qualcode.agreement.intervals import bootstrap_draws
    from qualcode.agreement.team_blocks import _binary_block

    present, rated = synthetic_team(args.coders, args.units, args.codes, args.rated, args.seed)
    n_clusters = int(clusters.max()) + 1

    def ours_without_ci():
        return _binary_block(present, rated, clusters, n_clusters, None, 0.95)

    def ours_with_ci():
        draws = bootstrap_draws(n_clusters, n_boot=args.n_boot, seed=args.seed)
        return _binary_block(present, rated, clusters, n_clusters, draws, 0.95)

    def krippendorff_alpha_alone():
        alphas = np.empty(args.codes)
        for code in range(args.codes):
            data = np.where(rated, present[:, :, code], np.nan).astype(float)
            alphas[code] = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                              value_domain=[0.0, 1.0])
        return alphas

    time_plain, plain = best_of(args.repeat, ours_without_ci)
    time_ci, with_ci = best_of(args.repeat, ours_with_ci)
    time_reference, reference = best_of(1, krippendorff_alpha_alone)
    assert np.allclose(plain["stats"]["alpha"], reference, atol=1e-9), "alpha differs from the krippendorff package"
    assert np.allclose(with_ci["stats"]["fleiss_kappa"], plain["stats"]["fleiss_kappa"])
    print(f"many coders: {args.coders} coders, each rating a unit with probability {args.rated:g} "
          f"({int(rated.sum()):,} unit ratings per code), {args.units:,} units × {args.codes} codes")
    rows = [
        ("qualcode: all many-coder statistics, no CIs", time_plain),
        (f"qualcode: all + {args.n_boot}-replicate bootstrap, Gwet and H0 intervals", time_ci),
        ("krippendorff package: alpha alone (one call per code)", time_reference),
    ]
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds:9.3f} s   ratio to krippendorff α: {seconds / time_reference:8.4f}")
    print(f"  α agrees with the krippendorff package for all {args.codes} codes (|Δ| < 1e-9)")


def pipeline(args) -> None:
    """compute_agreement end to end on a throw-away project with synthetic paragraphs and codings."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from qualcode import codebook, codings, documents, store
    from qualcode.agreement import compute_agreement
    from qualcode.project import Project

    rng = np.random.default_rng(args.seed)
    n_codes = args.codes
    paragraph_length = 300
    with tempfile.TemporaryDirectory() as folder:
        project = Project.create(Path(folder) / "bench", name="bench")
        with project.transaction() as conn:
            nodes = [{"key": f"theme{t}", "label": f"Theme {t}"} for t in range(10)]
            nodes += [{"key": f"code{k}", "label": f"Code {k}", "parent": f"theme{k % 10}"} for k in range(n_codes)]
            code_ids = codebook.store_nodes(conn, nodes)
            coder_a = store.get_or_create_coder(conn, "A")
            coder_b = store.get_or_create_coder(conn, "B")
            coder_c = store.get_or_create_coder(conn, "C")
            rows = []
            for index in range(args.documents):
                respondent = f"R{index + 1}"
                text = ("x" * paragraph_length + "\n\n") * args.paragraphs
                units = [{"start": p * (paragraph_length + 2), "end": p * (paragraph_length + 2) + paragraph_length,
                          "role": "respondent", "respondent_id": respondent, "speaker": respondent}
                         for p in range(args.paragraphs)]
                document_id = documents.add_document(conn, name=f"{respondent}.txt", text=text, source_format="txt",
                                                     units=units, respondent_id=respondent)
                prevalence = rng.uniform(0.01, 0.1, size=n_codes)
                present = rng.random((args.paragraphs, n_codes)) < prevalence
                for paragraph, code in zip(*np.nonzero(present)):
                    start = units[paragraph]["start"] + int(rng.integers(0, 100))
                    end = start + int(rng.integers(20, 200))
                    for coder, jitter in ((coder_a, 0), (coder_b, int(rng.integers(-15, 15))),
                                          (coder_c, int(rng.integers(-15, 15)))):
                        if coder != coder_a and rng.random() < 0.1:
                            continue  # B and C miss some
                        rows.append({"coder_id": coder, "code_id": code_ids[f"code{code}"], "document_id": document_id,
                                     "start": max(units[paragraph]["start"], start + jitter),
                                     "end": min(units[paragraph]["end"], end + jitter), "origin": "manual"})
            codings.add_codings(conn, rows)
        conn = project.connect()
        print(f"pipeline: {args.documents} documents × {args.paragraphs} paragraphs, {n_codes} codes, "
              f"{len(rows):,} codings")
        for unit, ci in (("paragraph", False), ("paragraph", True), ("respondent", False), ("char", False)):
            seconds, result = best_of(1, lambda: compute_agreement(conn, "A", "B", unit=unit, ci=ci, n_boot=args.n_boot))
            label = f"compute_agreement unit={unit}{' --ci' if ci else ''}"
            print(f"  {label:<50} {seconds:8.3f} s   ({result.compared['count']:,} units compared)")
        from qualcode.agreement import compute_team_agreement

        for unit, ci in (("paragraph", False), ("paragraph", True), ("respondent", False)):
            seconds, result = best_of(1, lambda: compute_team_agreement(conn, ["A", "B", "C"], unit=unit, ci=ci,
                                                                        n_boot=args.n_boot))
            label = f"compute_team_agreement A B C unit={unit}{' --ci' if ci else ''}"
            print(f"  {label:<50} {seconds:8.3f} s   ({result.compared['count']:,} units compared)")
        project.close()


if __name__ == "__main__":
    main()
