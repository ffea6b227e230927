"""Objectives: scores rolled up from key results and child objectives, and why each status.

An objective's parts are its key results (`progress_from: key_results`), its child
objectives (`children`) or both, each with its own weight. Its status is its worst part's,
so `status_reason` names that part: an objective can be off track while every key result of
its own is on track, because a child objective is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from okr_pipeline.scoring import rules
from okr_pipeline.scoring.windows import positions

STATUS_RANK = {name: rank for rank, name in enumerate(rules.STATUS_ORDER)}
KEYS = ["cycle_id", "objective_id"]


def score_objectives(objectives: pd.DataFrame, krs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """score = weighted mean of its parts' scores (not rounded again: the parts' scores
    already are, and `success` of a committed objective needs the exact mean); expected =
    the weighted mean of the parts' expected; status = the worst part's (STATUS_ORDER);
    success per kind; kr_count = key results directly on the objective. An objective with
    no part has a null score and expected, status no_data, success false.

    `objectives` are those of the cycles in scope; `krs["objective_row"]` is the row of each
    key result's objective among them. Computed from the leaves up, one depth of the
    alignment tree at a time. Returns one array per column, as `krs` holds them."""
    size = len(objectives)
    objectives = {column: objectives[column].to_numpy() for column in objectives.columns}
    owner = krs["objective_row"]
    owned = owner >= 0
    kr_weight = krs["weight"][owned]
    kr_rank = ranks(krs["status"]).astype(np.float64)[owned]

    def per_objective(values: np.ndarray) -> np.ndarray:
        return np.bincount(owner[owned], weights=np.nan_to_num(values), minlength=size)

    from_krs = np.isin(objectives["progress_from"], ["key_results", "both"])
    objectives["kr_count"] = np.bincount(owner[owned], minlength=size).astype(np.float64)
    weighted_score = np.where(from_krs, per_objective(kr_weight * krs["score"][owned]), 0.0)
    weighted_expected = np.where(from_krs, per_objective(kr_weight * krs["expected"][owned]), 0.0)
    total_weight = np.where(from_krs, per_objective(kr_weight), 0.0)
    rank = np.full(size, np.inf)
    np.minimum.at(rank, owner[owned], kr_rank)
    rank = np.where(from_krs, rank, np.inf)

    parent = positions(
        [objectives["cycle_id"], objectives["objective_id"]],
        [objectives["cycle_id"], objectives["parent_id"]],
    )
    depth = np.zeros(size, dtype=np.int64)
    for _ in range(size):
        deeper = np.where(parent >= 0, depth[np.clip(parent, 0, None)] + 1, 0)
        if (deeper == depth).all():
            break
        depth = deeper
    takes_children = np.isin(objectives["progress_from"], ["children", "both"])
    weight = objectives["weight"]
    score = np.full(size, np.nan)
    expected = np.full(size, np.nan)
    for level in range(int(depth.max(initial=0)), -1, -1):
        at = depth == level
        with np.errstate(invalid="ignore", divide="ignore"):
            score[at] = weighted_score[at] / total_weight[at]
            expected[at] = weighted_expected[at] / total_weight[at]
        up = at & (parent >= 0)
        up &= takes_children[np.clip(parent, 0, None)]
        scored = up & ~np.isnan(score)
        np.add.at(weighted_score, parent[scored], weight[scored] * score[scored])
        np.add.at(weighted_expected, parent[scored], weight[scored] * expected[scored])
        np.add.at(total_weight, parent[scored], weight[scored])
        np.minimum.at(
            rank, parent[up], np.where(np.isinf(rank[up]), STATUS_RANK["no_data"], rank[up])
        )

    rank = np.where(np.isinf(rank), STATUS_RANK["no_data"], rank).astype(np.int64)
    objectives["score"] = score
    objectives["expected"] = expected
    objectives["grade_band"] = rules.grade_band(score)
    objectives["status"] = np.asarray(rules.STATUS_ORDER, dtype=object)[rank]
    objectives["success"] = rules.objective_success(objectives["kind"], score)
    objectives["status_reason"] = status_reasons(objectives, krs, parent, from_krs, takes_children)
    return objectives


def _parts(
    objectives: dict[str, np.ndarray],
    krs: dict[str, np.ndarray],
    parent: np.ndarray,
    from_krs: np.ndarray,
    takes_children: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every part of every objective that counts in its roll-up, key results first, then
    child objectives: (owner row, kind, id, status, score, expected)."""
    owner = krs["objective_row"]
    of_kr = np.flatnonzero(owner >= 0)
    of_kr = of_kr[from_krs[owner[of_kr]]]
    child = np.flatnonzero(parent >= 0)
    child = child[takes_children[parent[child]]]

    def both(kr_column: str, objective_column: str) -> np.ndarray:
        return np.concatenate([krs[kr_column][of_kr], objectives[objective_column][child]])

    return {
        "owner": np.concatenate([owner[of_kr], parent[child]]),
        "kind": np.repeat(np.array(["key result", "child objective"], dtype=object),
                          [len(of_kr), len(child)]),
        "id": both("kr_id", "objective_id").astype(object),
        "status": both("status", "status").astype(object),
        "score": both("score", "score").astype(np.float64),
        "expected": both("expected", "expected").astype(np.float64),
    }  # fmt: skip


def status_reasons(
    objectives: dict[str, np.ndarray],
    krs: dict[str, np.ndarray],
    parent: np.ndarray,
    from_krs: np.ndarray,
    takes_children: np.ndarray,
) -> np.ndarray:
    """One line per objective saying why it has its status: the worst part by name (the
    one furthest behind its expected pace among equals), `and N more` like it; for an
    objective on track, its score against its expected. Built column-wise, as every other
    column: a million key results have some 200,000 objectives."""
    parts = _parts(objectives, krs, parent, from_krs, takes_children)
    part_rank = ranks(parts["status"])
    behind = np.nan_to_num(parts["expected"] - parts["score"], nan=-np.inf)
    order = np.lexsort((-behind, part_rank, parts["owner"]))
    owners = parts["owner"][order]
    first = order[np.concatenate([[True], owners[1:] != owners[:-1]])[: len(order)]]
    size = len(objectives["objective_id"])
    worst = np.full(size, -1, dtype=np.int64)
    worst[parts["owner"][first]] = first
    has_part = worst >= 0
    worst_rank = np.full(size, -1, dtype=np.int64)
    worst_rank[has_part] = part_rank[worst[has_part]]
    like_worst = part_rank == worst_rank[parts["owner"]]
    others = np.bincount(parts["owner"][like_worst], minlength=size) - 1

    status, score = objectives["status"], objectives["score"]
    own_pace = np.isin(status, ("on_track", "achieved")) & ~np.isnan(score)
    reasons = status + ": "
    nothing = ~has_part
    reasons[nothing] += "no key results or child objectives to score"
    own = own_pace & has_part
    expected = objectives["expected"]
    reasons[own] += _two(score[own]) + " against " + _two(expected[own]) + " expected"
    by = np.flatnonzero(has_part & ~own_pace)
    part = worst[by]
    reasons[by] += (
        parts["kind"][part] + " " + parts["id"][part].astype(str).astype(object) + " is "
        + parts["status"][part].astype(str).astype(object)
    )  # fmt: skip
    behind = np.isin(status[by], ("at_risk", "off_track", "missed"))
    behind &= ~np.isnan(parts["score"][part])
    numbered = by[behind]
    reasons[numbered] += (
        " (" + _two(parts["score"][part][behind]) + " against "
        + _two(parts["expected"][part][behind]) + " expected)"
    )  # fmt: skip
    more = by[others[by] > 0]
    reasons[more] += " and " + others[more].astype(str).astype(object) + " more"
    return reasons


def _two(values: np.ndarray) -> np.ndarray:
    """Two decimals, rounded half up as scores are (0.465 -> 0.47), as strings; NaN -> 'nan'.
    Formatted once per distinct value: scores take a hundred values or so."""
    rounded = rules.score_from_progress(values)
    distinct_values, of = np.unique(rounded, return_inverse=True)
    texts = np.array([f"{value:.2f}" for value in distinct_values.tolist()], dtype=object)
    return texts[of.reshape(-1)] if len(texts) else np.zeros(0, dtype=object)


def ranks(statuses: np.ndarray) -> np.ndarray:
    """STATUS_RANK of each status, looked up once per distinct status."""
    codes, names = pd.factorize(np.asarray(statuses, dtype=object))
    return np.array([STATUS_RANK[name] for name in names], dtype=np.int64)[codes]
