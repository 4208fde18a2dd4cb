import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_models_resolves_inside_repo_and_imports_light():
    code = ("import sys, models; print(models.__file__); "
            "print(any(m in sys.modules for m in ('xgboost', 'shap', 'sksurv', 'lifelines')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert Path(out[0]).resolve().is_relative_to(ROOT / "models")
    assert out[1] == "False"


def test_models_does_not_import_upper_layers():
    for path in (ROOT / "models").glob("*.py"):
        text = path.read_text()
        for pkg in ("features", "guidelines", "pipeline"):
            assert f"import {pkg}" not in text and f"from {pkg}" not in text, path
