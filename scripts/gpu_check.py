"""The GPU check (scripts/gpu-check.sh runs it): the PyTorch engine on CUDA on the zoo's small models.

    python3 scripts/gpu_check.py --out DIR [--models a,b,...] [--device cuda] [--iterations N]

Needs only Python with torch (a CUDA build), transformers and onnx, as an NVIDIA machine's image
has them, and this working tree: no Node, no network. For each model it

1. builds the zoo architecture with its seeded weights and writes the PyTorch fp32 **CPU**
   references (benchalign_worker.zoo, the code `benchalign zoo prepare` runs), checking the
   parameter count against the catalog (scripts/gpu-check-zoo.json, `benchalign zoo list --json`);
2. loads it in benchalign's PyTorch engine (benchalign_worker.pytorch_worker.PyTorchEngine, the
   worker `benchalign run` starts) with ``device: cuda`` (fp32 means TF32 off; the engine sets it)
   and again under fp16 autocast;
3. times ``--iterations`` inferences after a warm-up (each one synchronised, as the engine's run
   does) while ``nvidia-smi --query-gpu ... -lms 100`` samples utilisation, memory and power;
4. aligns the CUDA outputs with the CPU references (the rule of docs/alignment.md:
   |a - r| <= atol + rtol * |r| elementwise, plus a cosine floor) with the GPU tolerances below.

It writes DIR/results.json, DIR/nvidia-smi.csv and DIR/gpu-check.log. Exit 0: every model aligned;
1: a model failed alignment or errored; 2: bad arguments; 3: no CUDA device (or no nvidia-smi).
``--device cpu`` runs the same steps without CUDA and without the sampler (a dry run of the
script's own logic on a machine without a GPU; its numbers say nothing about a GPU).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "runner-agents", "python"))

#: the zoo's small models (each builds and runs in seconds)
DEFAULT_MODELS = ["mobilenet_v2", "resnet18", "efficientnet_b0", "bert_tiny", "lstm"]

#: GPU tolerances (docs/gpu.md). fp32 on CUDA with TF32 off differs from the CPU reference only by
#: summation order and cuDNN's algorithm choice (Winograd/FFT convolutions): 10x the CPU fp32
#: default. fp16 autocast runs matmuls and convolutions in half precision: the fp16 default and a
#: cosine floor.
TOLERANCES: dict[str, dict[str, Any]] = {
    "fp32": {"atol": 1e-3, "rtol": 1e-3, "cosineMin": 0.99999, "elementwise": True},
    # random-weight CNNs lose ~1e-2 absolute on logits of std ~0.3 in half precision: the elementwise
    # error is reported, the gate is the cosine
    "fp16": {"atol": 1e-2, "rtol": 1e-2, "cosineMin": 0.999, "elementwise": False},
}


def log(msg: str) -> None:
    print(f"gpu-check: {msg}", flush=True)


def percentile(sorted_ms: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_ms:
        return float("nan")
    pos = (len(sorted_ms) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (pos - lo)


def align(actual: Any, ref: Any, tol: dict[str, float]) -> dict[str, Any]:
    import numpy as np

    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    r = np.asarray(ref, dtype=np.float64).reshape(-1)
    if a.shape != r.shape:
        return {"passed": False, "reason": f"shape {list(np.shape(actual))}, reference {list(np.shape(ref))}"}
    err = np.abs(a - r)
    bad = err > tol["atol"] + tol["rtol"] * np.abs(r)
    na, nr = float(np.linalg.norm(a)), float(np.linalg.norm(r))
    cosine = float(np.dot(a, r) / (na * nr)) if na > 0 and nr > 0 else (1.0 if na == nr else 0.0)
    passed = (not (tol["elementwise"] and bool(bad.any()))) and cosine >= tol["cosineMin"] and not bool(np.isnan(a).any())
    out = {
        "passed": passed,
        "maxAbsError": float(err.max()) if err.size else 0.0,
        "mismatches": int(bad.sum()),
        "count": int(a.size),
        "cosine": cosine,
        "tolerance": tol,
    }
    if not passed:
        out["reason"] = f"{int(bad.sum())} of {a.size} elements outside atol {tol['atol']} rtol {tol['rtol']}, cosine {cosine:.7f} (min {tol['cosineMin']})"
    return out


class SmiSampler:
    """nvidia-smi --query-gpu ... -lms into a CSV file, for the duration of a block."""

    FIELDS = "timestamp,index,utilization.gpu,memory.used,power.draw,temperature.gpu,clocks.sm"

    def __init__(self, path: str, interval_ms: int = 100) -> None:
        self.path = path
        self.interval_ms = interval_ms
        self.proc: subprocess.Popen[bytes] | None = None
        self.file: Any = None

    def start(self, label: str) -> None:
        self.file = open(self.path, "a", encoding="utf-8")
        self.file.write(f"# {label}\n")
        self.file.flush()
        self.proc = subprocess.Popen(
            ["nvidia-smi", f"--query-gpu={self.FIELDS}", "--format=csv,noheader,nounits", "-lms", str(self.interval_ms)],
            stdout=self.file, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )

    def stop(self) -> dict[str, Any]:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.file is not None:
            self.file.close()
        return self.summary()

    def summary(self) -> dict[str, Any]:
        """Samples of the last block: count, mean/max utilisation, max memory (MiB) and power (W)."""
        rows: list[list[str]] = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    rows = []
                    continue
                parts = [p.strip() for p in line.split(",")]
                if len(parts) == 7:
                    rows.append(parts)

        def col(k: int) -> list[float]:
            vals = []
            for r in rows:
                try:
                    vals.append(float(r[k]))
                except ValueError:
                    pass  # "[N/A]" on some boards
            return vals

        util, mem, power = col(2), col(3), col(4)
        return {
            "samples": len(rows),
            "utilizationMeanPct": round(sum(util) / len(util), 1) if util else None,
            "utilizationMaxPct": max(util) if util else None,
            "memoryUsedMaxMiB": max(mem) if mem else None,
            "powerMaxW": max(power) if power else None,
        }


def smi_query(fields: str) -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        return subprocess.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"], capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None


def build(arch: dict[str, Any], work: str) -> dict[str, Any]:
    from benchalign_worker import zoo

    dynamic_in = {i["name"]: {str(d["axis"]): d["name"] for d in i.get("dynamicDims", [])} for i in arch["inputs"]}
    req = {
        "name": arch["name"],
        "out": os.path.join(work, arch["name"]),
        "seed": 0,
        "opset": 17,
        "threads": 1,
        "inputs": [{**i, "dynamic": dynamic_in[i["name"]] or None} for i in arch["inputs"]],
        "outputs": [o["name"] for o in arch["outputs"]],
        "outputDynamic": {
            o["name"]: {str(k): d for k, d in enumerate(o["dims"]) if isinstance(d, str)} for o in arch["outputs"] if any(isinstance(d, str) for d in o["dims"])
        },
    }
    manifest = zoo.prepare(req)
    if manifest["parameters"] != arch["parameters"]:
        raise RuntimeError(
            f"built {manifest['parameters']} parameters, the catalog says {arch['parameters']} "
            f"(transformers {manifest['versions'].get('transformers')} here; requirements-zoo.txt pins the version the catalog was made with)"
        )
    return {**manifest, "dir": req["out"]}


def run_engine(arch: dict[str, Any], built: dict[str, Any], device: str, precision: str, iterations: int, sampler: SmiSampler | None) -> dict[str, Any]:
    import torch

    from benchalign_worker.pytorch_worker import PyTorchEngine

    folder = built["dir"]
    refs = torch.load(os.path.join(folder, "outputs.pt"), map_location="cpu", weights_only=True)
    inputs = torch.load(os.path.join(folder, "inputs.pt"), map_location="cpu", weights_only=True)
    feeds = {k: v.numpy() for k, v in inputs.items()}
    eng = PyTorchEngine()
    eng.load_request = {"pytorch": {"kind": "factory", "path": os.path.join(folder, "zoo_models.py"), "factory": arch["name"]}}
    t0 = time.perf_counter()
    info = eng.load(os.path.join(folder, "model.onnx"), {"device": device, "threads": 0}, precision, {i["name"]: i["shape"] for i in arch["inputs"]})
    load_ms = (time.perf_counter() - t0) * 1e3
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    prepared = eng.prepare_inputs(feeds)
    t0 = time.perf_counter()
    first = eng.to_numpy(eng.run(prepared))
    first_ms = (time.perf_counter() - t0) * 1e3
    alignment = {name: align(first[name], refs[name].numpy(), TOLERANCES[precision]) for name in refs}
    for _ in range(min(50, iterations)):
        eng.run(prepared)  # warm-up (cuDNN autotuning, allocator)
    if sampler is not None:
        sampler.start(f"{arch['name']} {precision}")
    samples: list[float] = []
    wall0 = time.perf_counter()
    try:
        for _ in range(iterations):
            t = time.perf_counter()
            eng.run(prepared)  # synchronises on CUDA before returning
            samples.append((time.perf_counter() - t) * 1e3)
    finally:
        smi = sampler.stop() if sampler is not None else None
    wall_s = time.perf_counter() - wall0
    s = sorted(samples)
    result = {
        "precision": precision,
        "effectivePrecision": info.effective_precision,
        "appliedOptions": info.applied_options,
        "notes": info.notes,
        "loadMs": round(load_ms, 1),
        "firstInferenceMs": round(first_ms, 3),
        "latencyMs": {"p50": percentile(s, 0.5), "p90": percentile(s, 0.9), "p99": percentile(s, 0.99), "min": s[0], "mean": sum(s) / len(s), "n": len(s)},
        "throughputPerSec": len(s) / wall_s if wall_s > 0 else None,
        "alignment": alignment,
        "aligned": all(a["passed"] for a in alignment.values()),
    }
    if device == "cuda":
        result["torchMaxMemoryAllocatedMiB"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if smi is not None:
        result["nvidiaSmi"] = smi
    eng.unload()
    return result


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="benchalign GPU check: the PyTorch engine on CUDA on the zoo's small models")
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--precisions", default="fp32,fp16", help="comma-separated, from fp32,fp16 (fp16: torch.autocast)")
    args = ap.parse_args(argv)
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    if not precisions or any(p not in TOLERANCES for p in precisions):
        print(f"gpu-check: --precisions {args.precisions!r}: expected some of {', '.join(TOLERANCES)}", file=sys.stderr)
        return 2
    if args.iterations < 1:
        print("gpu-check: --iterations must be at least 1", file=sys.stderr)
        return 2
    with open(os.path.join(HERE, "gpu-check-zoo.json"), encoding="utf-8") as f:
        catalog = {a["name"]: a for a in json.load(f)}
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in catalog]
    if unknown or not names:
        print(f"gpu-check: unknown model(s) {unknown or '(none given)'}; the zoo has {', '.join(catalog)}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)

    import torch

    torch.backends.cudnn.benchmark = False  # the same algorithm each run; TF32 is switched off by the engine
    env: dict[str, Any] = {
        "startedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "host": platform.node(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchCuda": torch.version.cuda,
        "device": args.device,
    }
    try:
        import transformers

        env["transformers"] = transformers.__version__
    except ImportError:
        env["transformers"] = None
    sampler = None
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print(f"gpu-check: torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device", file=sys.stderr)
            return 3
        if shutil.which("nvidia-smi") is None:
            print("gpu-check: nvidia-smi is not on PATH (the sampler needs it)", file=sys.stderr)
            return 3
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = {
            "name": props.name,
            "memoryMiB": props.total_memory // 2**20,
            "multiprocessors": props.multi_processor_count,
            "capability": f"{props.major}.{props.minor}",
            "nvidiaSmi": smi_query("name,driver_version,memory.total,power.limit,clocks.max.sm"),
        }
        env["cudnn"] = torch.backends.cudnn.version()
        sampler = SmiSampler(os.path.join(args.out, "nvidia-smi.csv"))
    log(f"{env.get('gpu', {}).get('name', args.device)}; torch {torch.__version__}; models {', '.join(names)}")

    results: dict[str, Any] = {"tool": "benchalign scripts/gpu-check.sh", "environment": env, "tolerances": TOLERANCES, "models": {}}
    status = 0
    work = tempfile.mkdtemp(prefix="benchalign-gpu-check-")
    try:
        for name in names:
            arch = catalog[name]
            entry: dict[str, Any] = {"task": arch["task"], "source": arch["source"], "runs": []}
            results["models"][name] = entry
            try:
                t0 = time.perf_counter()
                built = build(arch, work)
                entry["buildS"] = round(time.perf_counter() - t0, 2)
                entry["parameters"] = built["parameters"]
                for precision in precisions:
                    try:
                        run = run_engine(arch, built, args.device, precision, args.iterations, sampler)
                    except Exception as e:  # noqa: BLE001 - recorded per run, the next precision still runs
                        entry["runs"].append({"precision": precision, "aligned": False, "error": f"{type(e).__name__}: {str(e).strip()[:2000]}"})
                        log(f"{name} {precision}: errored: {type(e).__name__}: {str(e).strip()[:300]}")
                        status = 1
                        continue
                    entry["runs"].append(run)
                    worst = max((a.get("maxAbsError", float("inf")) for a in run["alignment"].values()), default=0.0)
                    log(
                        f"{name} {precision}: p50 {run['latencyMs']['p50']:.3f} ms, p99 {run['latencyMs']['p99']:.3f} ms, "
                        f"{run['throughputPerSec']:.1f}/s, max abs error {worst:.3g}, {'aligned' if run['aligned'] else 'NOT ALIGNED'}"
                    )
                    if not run["aligned"]:
                        status = 1
                entry["status"] = "ok" if all(r["aligned"] for r in entry["runs"]) else "failed"
            except Exception as e:  # noqa: BLE001 - recorded per model, the others still run
                entry["status"] = "errored"
                entry["reason"] = f"{type(e).__name__}: {str(e).strip()[:2000]}"
                entry["traceback"] = traceback.format_exc()[-4000:]
                log(f"{name}: errored: {entry['reason']}")
                status = 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        results["endedAt"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, default=str)
            f.write("\n")
    log(f"wrote {os.path.join(args.out, 'results.json')}; exit {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
