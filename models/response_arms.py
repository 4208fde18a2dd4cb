"""Response probability per modality (a stratified response learner).

Objective response (mRECIST CR/PR) means different things under different treatments: near
certain after a complete ablation of a small nodule, about 1% without treatment (placebo arms),
and not graded at all after a surgical removal. One pooled classifier on the features plus a
modality one-hot, with shallow trees, lets the common modalities leak into the rare ones (it
predicted 0.12-0.49 for supportive care, whose treated patients responded in 2%). So each
modality gets its own estimate, from its own labelled patients only:

* ``"model"``: a calibrated :class:`~models.ResponseModel` on the modality's labelled patients
  (at least ``min_labels_model`` labels and ``min_class`` of each class);
* ``"rate"``: too few labels or responders for a model, but at least ``min_labels``: the
  modality's smoothed response rate ``(k + 1/2) / (n + 1)`` (Jeffreys prior), the same for
  every patient;
* ``"not_applicable"``: fewer than ``min_labels`` labelled patients (response not assessed,
  e.g. after resection or transplant, where the tumour is removed rather than graded): no
  probability (NaN), never an invented one.

Uncertainty: ``n_bootstrap`` members resample each modality's labelled patients (boosting rounds
and calibration map of the full fit reused, as for the survival members).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

KINDS = ("model", "rate", "not_applicable")
MIN_LABELS = 20
"""Fewest labelled patients of a modality for any response estimate."""
MIN_LABELS_MODEL = 50
"""Fewest labelled patients of a modality for a patient-level response model."""
MIN_CLASS = 8
"""Fewest responders (and non-responders) of a modality for a patient-level response model."""


class ModalityResponse:
    """Fitted per-modality response estimates (see the module docstring).

    Attributes
    ----------
    modalities : list of str
    kinds : list of str
        One of :data:`KINDS` per modality.
    models : dict
        Modality index -> fitted :class:`~models.ResponseModel` (kind ``"model"``).
    rates : dict
        Modality index -> smoothed response rate (kind ``"rate"``).
    members : list of dict
        Per bootstrap member: modality index -> booster (``"model"``) or rate (``"rate"``).
    counts : dict
        Modality -> {"labelled", "responders"} in the training data.
    """

    def __init__(self, modalities, kinds, models, rates, members, counts):
        self.modalities = list(modalities)
        self.kinds = list(kinds)
        self.models = dict(models)
        self.rates = dict(rates)
        self.members = list(members)
        self.counts = dict(counts)

    # ----------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, Xa: np.ndarray, columns: list, codes: np.ndarray, r: np.ndarray, w,
            modalities: list, params: dict, n_bootstrap: int, rng: np.random.Generator,
            random_state: int = 0, min_labels: int = MIN_LABELS,
            min_labels_model: int = MIN_LABELS_MODEL, min_class: int = MIN_CLASS):
        """Fit every modality's estimate on its labelled patients (``r`` NaN = not assessed)."""
        import xgboost as xgb

        from .response import ResponseModel

        kinds, models, rates, counts = [], {}, {}, {}
        labelled = ~np.isnan(r)
        for j, m in enumerate(modalities):
            rows = np.flatnonzero((codes == j) & labelled)
            n, k = len(rows), int(np.nansum(r[rows]))
            counts[m] = {"labelled": int(n), "responders": k}
            if n >= min_labels_model and min(k, n - k) >= min_class:
                p = dict(params)
                p.setdefault("random_state", random_state + j)
                models[j] = ResponseModel(**p).fit(
                    pd.DataFrame(Xa[rows], columns=columns), r[rows],
                    sample_weight=None if w is None else w[rows])
                kinds.append("model")
            elif n >= min_labels:
                rates[j] = (k + 0.5) / (n + 1.0)
                kinds.append("rate")
            else:
                kinds.append("not_applicable")
        members = []
        for b in range(int(n_bootstrap)):
            member = {}
            for j in range(len(modalities)):
                rows = np.flatnonzero((codes == j) & labelled)
                if kinds[j] == "not_applicable":
                    continue
                idx = rng.choice(rows, len(rows))
                if kinds[j] == "rate":
                    member[j] = (float(np.sum(r[idx])) + 0.5) / (len(idx) + 1.0)
                    continue
                xp = models[j]._xgb_params()
                xp["seed"] = random_state + 1000 * (b + 1) + j
                d = xgb.DMatrix(Xa[idx], label=r[idx], weight=None if w is None else w[idx])
                member[j] = xgb.train(xp, d, models[j].n_estimators_)
            members.append(member)
        return cls(modalities, kinds, models, rates, members, counts)

    # -------------------------------------------------------------- predicting
    def applicable(self, j: int) -> bool:
        return self.kinds[j] != "not_applicable"

    def matrix(self, Xa: np.ndarray, js, member: int | None = None) -> np.ndarray:
        """Response probabilities (n, len(js)) of the full fit or of bootstrap ``member``;
        NaN for a not-applicable modality."""
        n = Xa.shape[0]
        out = np.full((n, len(js)), np.nan)
        for c, j in enumerate(js):
            kind = self.kinds[j]
            if kind == "not_applicable":
                continue
            if member is not None:
                est = self.members[member][j]
                if kind == "rate":
                    out[:, c] = est
                else:
                    out[:, c] = self.models[j].calibrate_margin(
                        est.inplace_predict(Xa, predict_type="margin", missing=np.nan))
            elif kind == "rate":
                out[:, c] = self.rates[j]
            else:
                out[:, c] = self.models[j].predict_proba(Xa)[:, 1]
        return out

    @property
    def n_members(self) -> int:
        return len(self.members)

    def boosters(self) -> list:
        """Every xgboost booster (thread control by callers)."""
        found = [m.booster_ for m in self.models.values()]
        for member in self.members:
            found.extend(v for v in member.values() if hasattr(v, "set_param"))
        return found

    def summary(self) -> dict:
        """Modality -> {"kind", "labelled", "responders"} (for reports and bundle settings)."""
        return {m: {"kind": self.kinds[j], **self.counts.get(m, {})}
                for j, m in enumerate(self.modalities)}

    # ------------------------------------------------------------- persistence
    def save(self, root) -> dict:
        """Write the boosters under ``root``; return the JSON metadata that finds them."""
        from .persistence import save_booster

        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        for j, model in self.models.items():
            model.save(root / f"response_arm{j}")
        members = []
        for b, member in enumerate(self.members):
            entry = {}
            for j, v in member.items():
                entry[str(j)] = (float(v) if self.kinds[j] == "rate"
                                 else save_booster(v, root, f"response_member{b}_arm{j}"))
            members.append(entry)
        return {"modalities": self.modalities, "kinds": self.kinds,
                "rates": {str(j): v for j, v in self.rates.items()}, "members": members,
                "counts": self.counts}

    @classmethod
    def load(cls, root, meta: dict, n_jobs: int = 1):
        from .persistence import load_booster
        from .response import ResponseModel

        root = Path(root)
        kinds = list(meta["kinds"])
        models = {j: ResponseModel.load(root / f"response_arm{j}")
                  for j, kind in enumerate(kinds) if kind == "model"}
        rates = {int(j): float(v) for j, v in meta["rates"].items()}
        members = [{int(j): (float(v) if kinds[int(j)] == "rate"
                             else load_booster(root, v, n_jobs)) for j, v in entry.items()}
                   for entry in meta["members"]]
        return cls(meta["modalities"], kinds, models, rates, members, meta.get("counts", {}))
