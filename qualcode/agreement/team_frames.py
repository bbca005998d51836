"""DataFrames of a many-coder result: per column, pooled, pairwise and per exclusive group."""

from __future__ import annotations

from qualcode.agreement import many
from qualcode.agreement.team_blocks import ANALYTIC, COUNT_COLUMNS, TEAM_STATISTICS, _block

POOLED_SUM = "(pooled: sum of tables)"
POOLED_MEAN = "(pooled: mean of codes)"


def _interval_columns(data: dict, block: dict, *, index=None, ci_key="ci", analytic_key="analytic",
                      null_key="null") -> None:
    """Add the bootstrap, Gwet and Fleiss–Nee–Landis columns of ``block`` to ``data`` (``index`` picks one row)."""
    def pick(value):
        return value if index is None else value[index]

    for name in TEAM_STATISTICS:
        low, high = block[ci_key][name]
        data[f"{name}_lo"], data[f"{name}_hi"] = pick(low), pick(high)
    for name in ANALYTIC:
        se, low, high = block[analytic_key][name]
        data[f"{name}_se"], data[f"{name}_gwet_lo"], data[f"{name}_gwet_hi"] = pick(se), pick(low), pick(high)
    null = block[null_key]
    data["fleiss_kappa_se0"], data["fleiss_kappa_z"], data["fleiss_kappa_p"] = (
        pick(null["se0"]), pick(null["z"]), pick(null["p"]))


def column_frame(columns, block: dict, *, ci: bool):
    """One row per code (or theme) column."""
    import pandas as pd

    data: dict = {"code": [c.key for c in columns], "label": [c.label for c in columns],
                  "level": [c.level for c in columns]}
    for name in COUNT_COLUMNS:
        data[name] = block["counts"][name].astype("int64")
    for name in TEAM_STATISTICS:
        data[name] = block["stats"][name]
    for name in TEAM_STATISTICS:
        data[f"{name}_reason"] = block["reasons"][name]
    if ci:
        _interval_columns(data, block)
    return pd.DataFrame(data)


def pooled_frame(block: dict, n_codes: int, *, ci: bool):
    """The pooled (sum) row — every (unit, code) one item — and the pooled (mean) row, the mean over codes."""
    import numpy as np
    import pandas as pd

    total = {"code": POOLED_SUM, "label": f"the codes' tables summed over {n_codes} codes", "level": "pooled"}
    total.update({name: int(block["pooled_counts"][name]) for name in COUNT_COLUMNS})
    total.update({name: float(block["pooled_sum"][name]) for name in TEAM_STATISTICS})
    total.update({f"{name}_reason": str(block["pooled_sum_reasons"][name]) for name in TEAM_STATISTICS})
    mean = {"code": POOLED_MEAN, "label": f"mean of the per-code values over {n_codes} codes", "level": "pooled"}
    mean.update({name: None for name in COUNT_COLUMNS})
    mean.update({name: float(block["pooled_mean"][name]) for name in TEAM_STATISTICS})
    for name in TEAM_STATISTICS:
        defined = block["defined_counts"][name]
        mean[f"{name}_reason"] = ("no code has a defined value" if defined == 0
                                  else f"mean over the {defined} of {n_codes} codes where defined")
    if ci:
        _interval_columns(total, block, ci_key="ci_pooled_sum", analytic_key="analytic_pooled_sum",
                          null_key="null_pooled_sum")
        for name in TEAM_STATISTICS:
            low, high = block["ci_pooled_mean"][name]
            mean[f"{name}_lo"], mean[f"{name}_hi"] = float(low), float(high)
        for name in ANALYTIC:  # no analytic interval for a mean over codes
            mean[f"{name}_se"] = mean[f"{name}_gwet_lo"] = mean[f"{name}_gwet_hi"] = np.nan
        mean["fleiss_kappa_se0"] = mean["fleiss_kappa_z"] = mean["fleiss_kappa_p"] = np.nan
    rows = [{k: (float(v) if isinstance(v, np.ndarray) else v) for k, v in row.items()} for row in (total, mean)]
    frame = pd.DataFrame(rows)
    for name in COUNT_COLUMNS:  # the mean row has no counts: Python ints and None, not floats
        frame[name] = pd.Series([row[name] for row in rows], dtype=object)
    return frame


def pairwise_frame(coders: list[str], code_columns, block: dict):
    """Cohen's κ of every pair of coders, per code and pooled (one table summed over codes)."""
    import pandas as pd

    from qualcode.agreement.tables import kappa_2x2, percent_agreement_2x2, undefined_reasons

    tables = block["pair_tables"]  # (pairs, K, 4)
    rows = []
    for pair_index, (first, second) in enumerate(many.coder_pairs(len(coders))):
        pair = tables[pair_index]
        summed = pair.sum(axis=0)
        entries = [(c.key, c.label, "code", pair[i]) for i, c in enumerate(code_columns)]
        entries.append((POOLED_SUM, f"one 2×2 table summed over {len(code_columns)} codes", "pooled", summed))
        for key, label, level, cells in entries:
            a, b, c, d = (int(x) for x in cells)
            rows.append({"coder_a": coders[first], "coder_b": coders[second], "code": key, "label": label,
                         "level": level, "a": a, "b": b, "c": c, "d": d, "n": a + b + c + d,
                         "percent": float(100.0 * percent_agreement_2x2(a, b, c, d)),
                         "kappa": float(kappa_2x2(a, b, c, d)),
                         "kappa_reason": str(undefined_reasons(a, b, c, d)["kappa"])})
    return pd.DataFrame(rows, columns=["coder_a", "coder_b", "code", "label", "level", "a", "b", "c", "d", "n",
                                       "percent", "kappa", "kappa_reason"])


def pairwise_matrix(pairwise, coders: list[str], code: str = POOLED_SUM):
    """A coders × coders matrix of Cohen's κ for one code (default: pooled), 1 on the diagonal."""
    import numpy as np
    import pandas as pd

    matrix = pd.DataFrame(np.eye(len(coders)), index=coders, columns=coders)
    for row in pairwise[pairwise["code"] == code].itertuples():
        matrix.loc[row.coder_a, row.coder_b] = matrix.loc[row.coder_b, row.coder_a] = row.kappa
    return matrix


# --------------------------------------------------------------------------
# Exclusive code groups
# --------------------------------------------------------------------------

def _group_pair_tables(values, q: int, clusters=None, n_clusters: int = 0):
    """q × q tables of every coder pair over the units both rated, (pairs, q, q) or (R, pairs, q, q)."""
    import numpy as np

    out = []
    for first, second in many.coder_pairs(values.shape[0]):
        both = (values[first] >= 0) & (values[second] >= 0)
        cell = values[first][both] * q + values[second][both]
        if clusters is None:
            out.append(np.bincount(cell, minlength=q * q).reshape(q, q))
        else:
            flat = np.bincount(clusters[both] * q * q + cell, minlength=n_clusters * q * q)
            out.append(flat.reshape(n_clusters, q, q))
    return np.stack(out, axis=0 if clusters is None else 1).astype(float)


def group_frames(data, draws, ci_level: float, *, ci: bool):
    """(groups, group_categories, group_coincidences, group_tables, problems) DataFrames for the exclusive
    groups; ``group_tables`` holds each pair of coders' category × category table over the units both rated."""
    import pandas as pd

    group_rows, category_rows, coincidence_rows, table_rows, problems = [], [], [], [], []
    for group in data.groups:
        row, categories, coincidences = _one_group(group, data, draws, ci_level, ci=ci)
        group_rows.append(row)
        category_rows.extend(categories)
        coincidence_rows.extend(coincidences)
        table_rows.extend(_pair_table_rows(group, data.coders))
        problems.extend(group.problems)
    problem_columns = ["group", "coder", "document", "unit", "codes"]
    return (pd.DataFrame(group_rows), pd.DataFrame(category_rows), pd.DataFrame(coincidence_rows),
            pd.DataFrame(table_rows), pd.DataFrame(sorted(problems, key=lambda p: (p["group"], str(p["document"]), p["unit"], p["coder"])),
                         columns=problem_columns))


def _pair_table_rows(group, coders: list[str]) -> list[dict]:
    """Long rows of every pair's q × q table: coder_a's category, coder_b's category, units."""
    tables = _group_pair_tables(group.pair_values, len(group.categories))
    keys = [key for key, _ in group.categories]
    return [{"group": group.key, "coder_a": coders[first], "coder_b": coders[second], "category_a": keys[r],
             "category_b": keys[c], "units": int(tables[index, r, c])}
            for index, (first, second) in enumerate(many.coder_pairs(len(coders)))
            for r in range(len(keys)) for c in range(len(keys))]


def _one_group(group, data, draws, ci_level: float, *, ci: bool):
    """The group row (the group as one nominal variable), its per-category rows and its coincidence matrix."""
    import numpy as np

    q = len(group.categories)
    profiles, weights = many.profiles_from_counts(group.counts)
    cluster_weights = cluster_pairs = None
    if draws is not None:
        _, cluster_weights = many.profiles_from_counts(group.counts, data.clusters)
        cluster_weights = cluster_weights[:, None, :]
        cluster_pairs = _group_pair_tables(group.pair_values, q, data.clusters, data.n_clusters)[:, :, None]
    pair_tables = _group_pair_tables(group.pair_values, q)[:, None]
    block = _block(profiles, weights[None], cluster_weights, pair_tables, cluster_pairs, draws, ci_level,
                   binary=False)
    raters = profiles.sum(axis=1)
    row = {"group": group.key, "label": group.label, "categories": ", ".join(k for k, _ in group.categories),
           "units": int(weights @ (raters >= 1)), "pairable_units": int(weights @ (raters >= 2)),
           "ratings": int(weights @ raters), "problems": len(group.problems)}
    row.update({name: float(block["stats"][name][0]) for name in TEAM_STATISTICS})
    row.update({f"{name}_reason": str(block["reasons"][name][0]) for name in TEAM_STATISTICS})
    if ci:
        _interval_columns(row, block, index=0)
        row = {k: (float(v) if isinstance(v, np.ndarray) else v) for k, v in row.items()}
    coincidences = many.coincidence_matrix(profiles, weights)
    replicate = np.tensordot(draws, cluster_weights[:, 0], axes=(1, 0)) if draws is not None else None
    categories = []
    for k, (key, label) in enumerate(group.categories):
        binary = np.stack([profiles[:, k], raters - profiles[:, k]], axis=1)
        stats = many.many_statistics(binary, weights)
        category = {"group": group.key, "category": key, "label": label,
                    "coincidences": float(coincidences[k].sum()), "share": float(stats["pi"][0])}
        category.update({name: float(stats[name]) for name in many.MANY_STATISTICS})
        if replicate is not None:
            replicated = many.many_statistics(binary, replicate)
            for name in many.MANY_STATISTICS:
                low, high = percentile_interval_scalar(replicated[name], ci_level)
                category[f"{name}_lo"], category[f"{name}_hi"] = low, high
        categories.append(category)
    cells = [{"group": group.key, "category": group.categories[r][0], "with_category": group.categories[c][0],
              "coincidences": float(coincidences[r, c])} for r in range(q) for c in range(q)]
    return row, categories, cells


def percentile_interval_scalar(replicates, level: float):
    from qualcode.agreement.tables import percentile_interval

    low, high = percentile_interval(replicates, level)
    return float(low), float(high)


