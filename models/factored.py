"""Scoring an S-learner under every modality without re-evaluating the trees that ignore it.

An S-learner booster sees the modality as one-hot columns. Scoring a patient under k modalities
the plain way evaluates every tree on k copies of the row, yet most trees never split on a
modality column (measured on the default model: 189 of 426 trees split on none, most of the rest
on one) and give the same value for every copy. Trees add up, so with ``X0`` the rows with every
modality column 0 and ``X0 + e_m`` the rows under modality ``m``::

    margin(X, m) = F(X0) + D_m(X0 + e_m) - D_m(X0)

where ``F`` is the whole booster and ``D_m`` the booster of the trees that split on modality
``m``'s column (a tree that does not split on it gives the same value on ``X0`` and ``X0 + e_m``).
The same identity holds for path-dependent TreeSHAP contributions (per-tree additive; the bias
term cancels in the difference). One whole-booster pass plus k small ones replace k whole passes:
on the default model about 4x fewer tree evaluations, 2.7x faster margins for 2,000 patients x
10 modalities. Results equal the stacked scoring up to float32 rounding of the tree sums
(< 1e-6 on the margin). :class:`~models.arms.ArmSet` uses it only for batches of at
least ``FACTORED_MIN_ROWS`` patients (below that, per-call overhead wins), and
:meth:`~models.ModalityOutcomeModel.enable_factored_scoring` only for the bootstrap members and
SHAP values: the full fit's margins (point estimates, rankings) stay bit-identical whether a
patient is scored alone or in a batch.

Sub-boosters are rebuilt from the booster's own JSON at load time (nothing more is stored).
"""

from __future__ import annotations

import json

import numpy as np

FACTORED_MIN_ROWS = 256
"""Patients per call from which factored scoring is used (below: one stacked call)."""


def _sub_booster(raw: dict, ids: list[int], nthread: int):
    """A booster of the trees ``ids`` of the parsed JSON model ``raw`` (same base score)."""
    import xgboost as xgb

    model = raw["learner"]["gradient_booster"]["model"]
    sub = dict(model, trees=[dict(model["trees"][i], id=k) for k, i in enumerate(ids)],
               tree_info=[model["tree_info"][i] for i in ids],
               iteration_indptr=list(range(len(ids) + 1)),
               gbtree_model_param=dict(model["gbtree_model_param"], num_trees=str(len(ids))))
    learner = dict(raw["learner"], gradient_booster=dict(raw["learner"]["gradient_booster"],
                                                         model=sub))
    booster = xgb.Booster(params={"nthread": nthread})
    booster.load_model(bytearray(json.dumps(dict(raw, learner=learner)).encode()))
    return booster


class ModalityFactoring:
    """The per-modality sub-boosters ``D_m`` of an S-learner booster (see the module docstring).

    Parameters
    ----------
    booster : xgboost.Booster
        The S-learner's booster (one tree per round, no multi-output).
    columns : sequence of int
        Design column of each modality's one-hot indicator, in modality-code order.
    nthread : int
        Threads of the sub-boosters (change with :meth:`boosters` + ``set_param``).
    """

    def __init__(self, booster, columns, nthread: int = 1):
        raw = json.loads(booster.save_raw("json"))
        model = raw["learner"]["gradient_booster"]["model"]
        if int(model["gbtree_model_param"].get("num_parallel_tree", 1)) != 1 or \
                len(model["iteration_indptr"]) != len(model["trees"]) + 1:
            raise ValueError("ModalityFactoring: expected a booster with one tree per round, "
                             f"got {model['gbtree_model_param']}")
        self.booster, self.columns = booster, [int(c) for c in columns]
        split_on = [{i for i, child in zip(t["split_indices"], t["left_children"], strict=True)
                     if child != -1} for t in model["trees"]]
        self.parts = []
        for c in self.columns:
            ids = [t for t, used in enumerate(split_on) if c in used]
            self.parts.append(_sub_booster(raw, ids, nthread) if ids else None)

    def boosters(self) -> list:
        """The sub-boosters (for thread settings)."""
        return [b for b in self.parts if b is not None]

    def _pairs(self, X0: np.ndarray, js, fn) -> list:
        """``fn(D_j, [X0 + e_j; X0])`` split into (under j, at X0) for each j (None: no trees)."""
        n, out = X0.shape[0], []
        Z = np.vstack([X0, X0])
        for j in js:
            part = self.parts[j]
            if part is None:
                out.append(None)
                continue
            c = self.columns[j]
            Z[:n, c] = 1.0
            both = fn(part, Z)
            Z[:n, c] = X0[:, c]
            out.append((both[:n], both[n:]))
        return out

    def margins(self, X0: np.ndarray, js) -> np.ndarray:
        """Margins (n, len(js)) under modality codes ``js``; ``X0`` with modality columns 0."""
        def margin(b, Z):
            return np.asarray(b.inplace_predict(Z, predict_type="margin", missing=np.nan),
                              dtype=float)

        base = margin(self.booster, X0)
        out = np.repeat(base[:, None], len(js), axis=1)
        for c, pair in enumerate(self._pairs(X0, js, margin)):
            if pair is not None:
                out[:, c] += pair[0] - pair[1]
        return out

    def contribs(self, X0: np.ndarray, js) -> np.ndarray:
        """TreeSHAP contributions (len(js) * n, features + 1), modality-major as a stacked call
        ``booster.predict(DMatrix(vstack(X0 + e_j for j in js)), pred_contribs=True)``."""
        import xgboost as xgb

        def contrib(b, Z):
            dm = xgb.DMatrix(Z, missing=np.nan, nthread=-1)
            return np.asarray(b.predict(dm, pred_contribs=True), dtype=float)

        base = contrib(self.booster, X0)
        out = np.tile(base, (len(js), 1))
        n = X0.shape[0]
        for c, pair in enumerate(self._pairs(X0, js, contrib)):
            if pair is not None:
                out[c * n:(c + 1) * n] += pair[0] - pair[1]
        return out
