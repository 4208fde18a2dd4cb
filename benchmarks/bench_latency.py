"""Latency of ``recommend()`` for one patient, in a fresh process.

Modes: SHAP factors for every modality + bootstrap RMST interval (the default call), no SHAP,
no SHAP and no interval, SHAP without interval. After ``warmup`` calls per mode, ``timed`` calls
per mode on different simulated patients, the modes interleaved patient by patient so that a
change of machine load affects every mode alike. Durations are wall-clock
(:func:`time.perf_counter`), in milliseconds.
"""

from __future__ import annotations

import time

from benchmarks.bench_common import child_main, environment, latency_stats, profile_top, rss_mib

MODES = {
    "shap": {"explain": True, "intervals": True},
    "no_shap": {"explain": False, "intervals": True},
    "no_shap_no_intervals": {"explain": False, "intervals": False},
    "shap_no_intervals": {"explain": True, "intervals": False},
}


def measure(config: dict) -> dict:
    """Child: load the bundle, warm up, time every mode; optional cProfile of the SHAP call."""
    from benchmarks.bench_common import patient_records
    from pipeline.recommender.api import Recommender, recommend

    warmup, timed = int(config["warmup"]), int(config["timed"])
    started = time.perf_counter()
    rec = Recommender.from_bundle(config["bundle"])
    load_s = time.perf_counter() - started
    patients = patient_records(warmup + timed, int(config["seed"]))
    for patient in patients[:warmup]:
        for kwargs in MODES.values():
            recommend(patient, recommender=rec, **kwargs)
    durations = {mode: [] for mode in MODES}
    names = list(MODES)
    for i, patient in enumerate(patients[warmup:]):
        for k in range(len(names)):  # rotate the order of the modes per patient
            mode = names[(i + k) % len(names)]
            t0 = time.perf_counter()
            recommend(patient, recommender=rec, **MODES[mode])
            durations[mode].append(time.perf_counter() - t0)
    out = {
        "env": environment(),
        "bundle": config["bundle"],
        "n_train": rec.bundle.settings.get("n_train"),
        "n_bootstrap": len(getattr(rec.bundle.model, "members_", ())),
        "load_seconds": round(load_s, 3),
        "rss_after_mib": rss_mib(),
        "warmup_calls_per_mode": warmup,
        "modes": {mode: dict(MODES[mode], **latency_stats(durations[mode])) for mode in MODES},
    }
    if config.get("profile"):
        sample = patients[warmup:warmup + 50]
        out["profile_shap_50_calls"] = profile_top(
            lambda: [recommend(p, recommender=rec) for p in sample])
    return out


if __name__ == "__main__":
    child_main(measure)
