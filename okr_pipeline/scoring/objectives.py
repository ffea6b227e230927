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
from okr_pipeline.scoring.frames import OkrFrames

STATUS_RANK = {name: rank for rank, name in enumerate(rules.STATUS_ORDER)}
KEYS = ["cycle_id", "objective_id"]


def score_objectives(frames: OkrFrames, cycles: pd.DataFrame, krs: pd.DataFrame) -> pd.DataFrame:
    """score = weighted mean of its parts' scores (not rounded again: the parts' scores
    already are, and `success` of a committed objective needs the exact mean); expected =
    the weighted mean of the parts' expected; status = the worst part's (STATUS_ORDER);
    success per kind; kr_count = key results directly on the objective. An objective with
    no part has a null score and expected, status no_data, success false.

    Computed from the leaves up, one depth of the alignment tree at a time."""
    objectives = frames.objectives.merge(cycles[["cycle_id"]], on="cycle_id").reset_index(drop=True)
    keys = pd.MultiIndex.from_frame(objectives[KEYS])
    kr_part = krs.assign(
        weighted_score=krs["weight"] * krs["score"],
        weighted_expected=krs["weight"] * krs["expected"],
        rank=krs["status"].map(STATUS_RANK).astype(np.float64),
    )
    kr_part = kr_part.groupby(KEYS).agg(
        weighted_score=("weighted_score", "sum"),
        weighted_expected=("weighted_expected", "sum"),
        weight=("weight", "sum"),
        rank=("rank", "min"),
        kr_count=("kr_id", "count"),
    )
    kr_part = kr_part.reindex(keys)
    objectives["kr_count"] = kr_part["kr_count"].fillna(0).to_numpy()
    from_krs = objectives["progress_from"].isin(["key_results", "both"]).to_numpy()
    weighted_score = np.where(from_krs, kr_part["weighted_score"].fillna(0).to_numpy(), 0.0)
    weighted_expected = np.where(from_krs, kr_part["weighted_expected"].fillna(0).to_numpy(), 0.0)
    total_weight = np.where(from_krs, kr_part["weight"].fillna(0).to_numpy(), 0.0)
    rank = np.where(from_krs, kr_part["rank"].fillna(np.inf).to_numpy(), np.inf)

    parent = keys.get_indexer(
        pd.MultiIndex.from_frame(
            objectives[["cycle_id", "parent_id"]].rename(columns={"parent_id": "objective_id"})
        )
    )
    depth = np.zeros(len(objectives), dtype=np.int64)
    for _ in range(len(objectives)):
        deeper = np.where(parent >= 0, depth[np.clip(parent, 0, None)] + 1, 0)
        if (deeper == depth).all():
            break
        depth = deeper
    takes_children = objectives["progress_from"].isin(["children", "both"]).to_numpy()
    weight = objectives["weight"].to_numpy()
    score = np.full(len(objectives), np.nan)
    expected = np.full(len(objectives), np.nan)
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
    objectives["success"] = rules.objective_success(
        objectives["kind"].to_numpy(dtype=object), score
    )
    objectives["status_reason"] = status_reasons(objectives, krs, from_krs, takes_children)
    return objectives


def _parts(
    objectives: pd.DataFrame, krs: pd.DataFrame, from_krs: np.ndarray, takes_children: np.ndarray
) -> pd.DataFrame:
    """Every part of every objective that counts in its roll-up: (owner objective, kind,
    id, status, score, expected)."""
    columns = [*KEYS, "kind", "part_id", "status", "score", "expected"]
    counted = objectives.loc[from_krs, KEYS]
    kr_parts = krs.merge(counted, on=KEYS).assign(kind="key result", part_id=lambda f: f["kr_id"])
    parents = objectives.loc[takes_children, KEYS].rename(columns={"objective_id": "parent_id"})
    children = objectives.merge(parents, on=["cycle_id", "parent_id"])
    child_parts = children.assign(
        kind="child objective", part_id=children["objective_id"], objective_id=children["parent_id"]
    )
    return pd.concat([kr_parts[columns], child_parts[columns]], ignore_index=True)


def status_reasons(
    objectives: pd.DataFrame, krs: pd.DataFrame, from_krs: np.ndarray, takes_children: np.ndarray
) -> np.ndarray:
    """One line per objective saying why it has its status: the worst part by name (the
    one furthest behind its expected pace among equals), `and N more` like it; for an
    objective on track, its score against its expected."""
    parts = _parts(objectives, krs, from_krs, takes_children)
    parts["rank"] = parts["status"].map(STATUS_RANK)
    parts["behind"] = (parts["expected"] - parts["score"]).fillna(-np.inf)
    parts = parts.sort_values([*KEYS, "rank", "behind"], ascending=[True, True, True, False])
    worst = parts.groupby(KEYS, sort=False).first()
    alike = parts.merge(worst[["rank"]].reset_index(), on=[*KEYS, "rank"]).groupby(KEYS).size()
    worst = worst.assign(alike=alike).reindex(pd.MultiIndex.from_frame(objectives[KEYS]))
    reasons = [
        _reason(objective, part)
        for objective, part in zip(
            objectives.itertuples(index=False), worst.itertuples(index=False), strict=True
        )
    ]
    return np.array(reasons, dtype=object)


def _reason(objective, part) -> str:
    """The reason of one objective from its worst part (one per objective: a loop over
    objectives, never over key results or days)."""
    status = objective.status
    if pd.isna(part.status):
        return f"{status}: no key results or child objectives to score"
    if status in ("on_track", "achieved") and not pd.isna(objective.score):
        return f"{status}: {_two(objective.score)} against {_two(objective.expected)} expected"
    others = int(part.alike) - 1
    more = f" and {others} more" if others else ""
    numbers = ""
    if status in ("at_risk", "off_track", "missed") and not pd.isna(part.score):
        numbers = f" ({_two(part.score)} against {_two(part.expected)} expected)"
    return f"{status}: {part.kind} {part.part_id} is {part.status}{numbers}{more}"


def _two(value: float) -> str:
    """Two decimals, rounded half up as scores are (0.465 -> 0.47)."""
    return f"{float(rules.score_from_progress(value)):.2f}"
