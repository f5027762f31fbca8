#!/usr/bin/env bash
# Create one virtualenv per peer scanner (and one "gen" venv with the real ML libraries) under
# .bench/venvs/. Each peer gets its own venv because their dependency sets conflict:
#   - modelaudit cannot parse SavedModels when real TensorFlow sits beside it, so it never shares
#     a venv with TensorFlow (we do not install TensorFlow at all);
#   - modelscan crashes on .npy under numpy 2, so its venv pins numpy<2.
# Re-running is cheap: an existing venv is reused and pip only checks what is installed.
# Versions of everything installed land in .bench/versions.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS="$ROOT/.bench/venvs"
PY="${PYTHON:-python3.11}"
mkdir -p "$VENVS"

make_venv() {  # name, then pip requirement specs
  local name="$1"; shift
  local dir="$VENVS/$name"
  if [[ ! -x "$dir/bin/python" ]]; then
    "$PY" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade pip
  fi
  echo "== $name: pip install $*"
  "$dir/bin/python" -m pip install -q "$@"
}

# modelscan needs TensorFlow to look inside SavedModels and H5 files at all.
make_venv modelscan  "modelscan[tensorflow]" "numpy<2" h5py
# Without py7zr, picklescan aborts a whole scan on the first 7z file.
make_venv picklescan "picklescan[7z]"
make_venv modelaudit modelaudit
# fickling 0.1.12 imports typing_extensions without declaring it.
make_venv fickling   fickling typing_extensions
# The CPU torch wheel lies on local disk (pip's find-links); a plain pin picks it up.
make_venv gen numpy scikit-learn joblib "torch==2.13.0" safetensors onnx h5py py7zr gguf

"$PY" - "$VENVS" > "$ROOT/.bench/versions.json" <<'PYEOF'
import json, subprocess, sys
from pathlib import Path

venvs = Path(sys.argv[1])
wanted = {
    "modelscan": ["modelscan", "numpy", "h5py", "tensorflow"],
    "picklescan": ["picklescan", "py7zr"],
    "modelaudit": ["modelaudit", "numpy"],
    "fickling": ["fickling"],
    "gen": ["numpy", "scikit-learn", "joblib", "torch", "safetensors", "onnx", "h5py", "py7zr", "gguf"],
}
out = {}
for venv, names in wanted.items():
    py = venvs / venv / "bin" / "python"
    code = (
        "import importlib.metadata as m, json, sys\n"
        "r = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: r[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: r[n] = None\n"
        "print(json.dumps(r))\n"
    )
    res = subprocess.run([str(py), "-c", code, *names], capture_output=True, text=True, check=True)
    out[venv] = json.loads(res.stdout)
print(json.dumps(out, indent=2))
PYEOF
cat "$ROOT/.bench/versions.json"
