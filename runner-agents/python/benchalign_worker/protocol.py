"""The worker side of the benchalign engine-worker protocol, for engines with Python bindings.

JSON-RPC 2.0, one JSON object per line: requests on stdin, responses on stdout (docs/workers.md).
An engine module subclasses :class:`Engine` and calls :func:`serve`. This module owns the
protocol, the tensor files and the timing loop, so every Python engine is timed the same way:
``time.perf_counter_ns()`` read immediately before and after the engine call.

Engines and their converters print to stdout from C code. Before anything is imported, the
process's file descriptor 1 is moved to stderr and the protocol keeps a private duplicate of
the original stdout, so stdout carries only protocol lines.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

PROTOCOL_VERSION = 1

# JSON-RPC error codes: the worker part of benchalign's one code table (src/rpc/codes.ts, RpcCode;
# test/rpc/python-codes.test.ts holds these equal to it). Engines use these names, never the numbers.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL = -32603
ENGINE = -32000
UNSUPPORTED = -32001
STATE = -32002


class WorkerError(Exception):
    """An error the worker answers with; ``benchalign_code`` is the harness's ErrorCode."""

    def __init__(
        self,
        message: str,
        rpc_code: int = ENGINE,
        benchalign_code: str | None = None,
        expected: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.rpc_code = rpc_code
        self.benchalign_code = benchalign_code
        self.expected = expected
        self.detail = detail


class Unsupported(WorkerError):
    """The request is valid but this engine cannot do it (precision, dtype, device)."""

    def __init__(self, message: str, expected: str | None = None) -> None:
        super().__init__(message, UNSUPPORTED, "E_UNSUPPORTED", expected)


def config_error(message: str, expected: str) -> WorkerError:
    return WorkerError(message, INVALID_PARAMS, "E_CONFIG", expected)


@dataclass
class LoadInfo:
    """What `load` answers. ``inputs``/``outputs`` are TensorMeta dicts: {name, dtype, dims}."""

    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    effective_precision: str
    notes: list[str] = field(default_factory=list)
    applied_options: dict[str, Any] = field(default_factory=dict)
    #: by model output name: {"engineName": "out0", "layout": ["added batch dim"]} (what the
    #: worker did to the engine's output before returning it under the model's name)
    reconciliation: dict[str, dict[str, Any]] = field(default_factory=dict)


class Engine:
    """One engine. Subclasses implement the methods below; the protocol does the rest.

    ``thread_safe``: whether two callers from :meth:`callers` may run at the same time. When
    False, concurrent requests are served one at a time (each latency includes its queue wait).
    """

    name = "engine"
    thread_safe = False
    #: the whole `load` request, set before :meth:`load` (engine-specific fields, e.g. `pytorch`)
    load_request: dict[str, Any] = {}

    def version(self) -> str:
        raise NotImplementedError

    def devices(self) -> list[str]:
        return ["cpu"]

    def load(
        self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None
    ) -> LoadInfo:
        raise NotImplementedError

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        """Turns the input arrays (by input name) into what :meth:`run` takes. Not timed."""
        return feeds

    def run(self, prepared: Any) -> Any:
        """One inference, outputs included (whatever the engine must do to produce them). Timed."""
        raise NotImplementedError

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        """The outputs of :meth:`run` as NumPy arrays by output name. Not timed."""
        return raw

    def measure_single(self, iterations: int, max_ms: float) -> dict[str, Any] | None:
        """An engine's own single-stream timing loop (e.g. CUDA events), or None for the shared one.

        It returns what `measure` answers: samplesNs, wallNs, startedAtNs, and may add phasesNs
        ({"h2d": [...], "compute": [...], "d2h": [...]}, nanoseconds per iteration).
        """
        return None

    def callers(self, prepared: Any, n: int) -> list[Callable[[], Any]]:
        """``n`` callables that each run one inference, for ``n`` concurrent requests."""
        return [lambda: self.run(prepared) for _ in range(n)]

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """The engine's own profiler over ``iterations`` inferences (``run --profile``), after the timed
        loop. Returns what `profile` answers: profiler, iterations, wallNs, layers [{name, opType,
        timeNs, count}] summed over the iterations, notes. Default: unsupported."""
        raise Unsupported(f"{self.name}: no per-layer profiler in this worker", "an engine with a profiler (docs/profile.md)")

    def fused_layers(self) -> list[dict[str, Any]] | None:
        """Engine nodes of the loaded model made of several ONNX nodes: [{name, opType, onnxNodes}],
        or None when the engine does not say (``localize`` reports what the engine fused)."""
        return None

    def unload(self) -> None:
        pass


def timed_loop(
    call: Callable[[], Any], iterations: int, max_ms: float, sample: Callable[[int], int] | None = None
) -> dict[str, Any]:
    """The single-stream timing loop: ``perf_counter_ns`` right before and after each ``call()``.

    Stops after ``iterations`` or once ``max_ms`` have passed. ``sample`` (optional) turns the host
    time of an iteration into the recorded sample, after the clock is read (an engine's own device
    timing, e.g. CUDA events); it is not timed. Returns what ``measure`` answers.
    """
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    started_at = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    first = clock()
    deadline = first + int(max_ms * 1e6)
    end = first
    for _ in range(iterations):
        t0 = clock()
        call()
        end = clock()
        append(end - t0 if sample is None else sample(end - t0))
        if end >= deadline:
            break
    return {"samplesNs": samples, "wallNs": end - first, "startedAtNs": started_at}


def profiled_runs(
    call: Callable[[], Any], iterations: int, max_ms: float, after: Callable[[], None] | None = None
) -> tuple[int, int]:
    """The profile phase's loop: ``call()`` until ``iterations`` or ``max_ms``, with the engine's profiler on.

    ``after`` (optional) reads the profiler after each call, outside the time counted. Returns the
    runs done and the summed wall time of the calls (ns), from which the profile's overhead is told.
    """
    clock = time.perf_counter_ns
    deadline = clock() + int(max_ms * 1e6)
    done = 0
    wall = 0
    while done < iterations:
        t0 = clock()
        call()
        wall += clock() - t0
        done += 1
        if after is not None:
            after()
        if clock() >= deadline:
            break
    return done, wall


def _tensor_meta(name: str, dtype: str, dims: list[Any]) -> dict[str, Any]:
    return {"name": name, "dtype": dtype, "dims": list(dims)}


tensor_meta = _tensor_meta


class _Server:
    def __init__(self, engine: Engine, out) -> None:
        self.engine = engine
        self.out = out
        self.loaded: LoadInfo | None = None
        self.prepared: Any = None
        self.has_inputs = False

    # -- methods -------------------------------------------------------------------------------
    def hello(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "engine": self.engine.name,
            "version": self.engine.version(),
            "pid": os.getpid(),
            "devices": self.engine.devices(),
        }

    def load(self, params: dict[str, Any]) -> dict[str, Any]:
        model_path = params.get("modelPath")
        if not isinstance(model_path, str):
            raise config_error("load: modelPath is missing", "an absolute model path")
        if self.loaded is not None:
            self.unload({})
        options = params.get("options") or {}
        precision = params.get("precision") or "fp32"
        shapes = params.get("shapes")
        self.engine.load_request = params
        t0 = time.perf_counter_ns()
        info = self.engine.load(model_path, options, precision, shapes)
        load_ms = (time.perf_counter_ns() - t0) / 1e6
        self.loaded = info
        self.prepared = None
        self.has_inputs = False
        return {
            "loadMs": load_ms,
            "inputs": info.inputs,
            "outputs": info.outputs,
            "effectivePrecision": info.effective_precision,
            "notes": info.notes,
            "appliedOptions": info.applied_options,
            "reconciliation": info.reconciliation,
        }

    def setInputs(self, params: dict[str, Any]) -> None:  # noqa: N802 (protocol name)
        import numpy as np

        self._require_loaded("setInputs")
        files = params.get("inputs")
        if not isinstance(files, dict):
            raise config_error("setInputs: inputs is missing", "{name: npyPath}")
        feeds: dict[str, Any] = {}
        for name, path in files.items():
            try:
                feeds[name] = np.load(path, allow_pickle=False)
            except Exception as e:  # noqa: BLE001 - reported with the file name
                raise WorkerError(f"cannot read input {name!r} from {path}: {e}", INVALID_PARAMS, "E_IO") from e
        self.prepared = self.engine.prepare_inputs(feeds)
        self.has_inputs = True
        return None

    def infer(self, params: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        self._require_inputs("infer")
        out_dir = params.get("outputDir")
        if not isinstance(out_dir, str):
            raise config_error("infer: outputDir is missing", "a directory path")
        t0 = time.perf_counter_ns()
        raw = self.engine.run(self.prepared)
        t1 = time.perf_counter_ns()
        arrays = self.engine.to_numpy(raw)
        os.makedirs(out_dir, exist_ok=True)
        outputs: dict[str, str] = {}
        for i, (name, arr) in enumerate(arrays.items()):
            path = os.path.join(out_dir, f"{i}.npy")
            np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
            outputs[name] = path
        return {"outputs": outputs, "latencyNs": t1 - t0}

    def measure(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_inputs("measure")
        iterations = params.get("iterations")
        max_ms = params.get("maxDurationMs")
        concurrency = params.get("concurrency") or 1
        if not isinstance(iterations, int) or iterations < 1 or not isinstance(max_ms, (int, float)) or max_ms <= 0:
            raise config_error(f"measure: bad request {params!r}", "iterations >= 1, maxDurationMs > 0")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise config_error(f"measure: concurrency {concurrency!r}", "an integer >= 1")
        if concurrency == 1:
            own = self.engine.measure_single(iterations, max_ms)
            return own if own is not None else self._measure_single(iterations, max_ms)
        return self._measure_concurrent(iterations, max_ms, concurrency)

    def profile(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_inputs("profile")
        iterations = params.get("iterations")
        max_ms = params.get("maxDurationMs")
        work_dir = params.get("workDir")
        if not isinstance(iterations, int) or iterations < 1 or not isinstance(max_ms, (int, float)) or max_ms <= 0 or not isinstance(work_dir, str):
            raise config_error(f"profile: bad request {params!r}", "iterations >= 1, maxDurationMs > 0, workDir")
        return self.engine.profile(self.prepared, iterations, float(max_ms), work_dir)

    def fusedLayers(self, _params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 (protocol name)
        self._require_loaded("fusedLayers")
        layers = self.engine.fused_layers()
        return {"layers": layers} if layers is not None else {}

    def unload(self, _params: dict[str, Any]) -> None:
        if self.loaded is not None:
            self.engine.unload()
        self.loaded = None
        self.prepared = None
        self.has_inputs = False
        return None

    # -- timing loops --------------------------------------------------------------------------
    def _measure_single(self, iterations: int, max_ms: float) -> dict[str, Any]:
        return timed_loop(self.engine.callers(self.prepared, 1)[0], iterations, max_ms)

    def _measure_concurrent(self, iterations: int, max_ms: float, n: int) -> dict[str, Any]:
        callers = self.engine.callers(self.prepared, n)
        clock = time.perf_counter_ns
        samples: list[int] = []
        lock = threading.Lock()
        serial = None if self.engine.thread_safe else threading.Lock()
        state = {"started": 0, "last": 0}
        errors: list[BaseException] = []
        started_at = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        first = clock()
        deadline = first + int(max_ms * 1e6)

        def loop(call: Callable[[], Any]) -> None:
            try:
                while True:
                    with lock:
                        if state["started"] >= iterations or errors or (state["started"] > 0 and clock() >= deadline):
                            return
                        state["started"] += 1
                    t0 = clock()
                    if serial is None:
                        call()
                    else:
                        with serial:
                            call()
                    t1 = clock()
                    with lock:
                        samples.append(t1 - t0)
                        state["last"] = max(state["last"], t1)
            except BaseException as e:  # noqa: BLE001 - re-raised below
                with lock:
                    errors.append(e)

        threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in callers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return {"samplesNs": samples, "wallNs": state["last"] - first, "startedAtNs": started_at}

    # -- plumbing ------------------------------------------------------------------------------
    def _require_loaded(self, method: str) -> None:
        if self.loaded is None:
            raise WorkerError(f"{method} before load", STATE, "E_ENGINE", "load first")

    def _require_inputs(self, method: str) -> None:
        self._require_loaded(method)
        if not self.has_inputs:
            raise WorkerError(f"{method} before setInputs", STATE, "E_ENGINE", "setInputs first")

    def send(self, msg: dict[str, Any]) -> None:
        self.out.write(json.dumps(msg, separators=(",", ":")) + "\n")
        self.out.flush()

    def handle(self, line: str) -> None:
        try:
            req = json.loads(line)
        except ValueError as e:
            self.send({"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": f"parse error: {e}"}})
            return
        if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or not isinstance(req.get("method"), str):
            self.send({"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": "invalid request"}})
            return
        rid = req.get("id")
        method = req["method"]
        params = req.get("params") or {}
        if method == "shutdown":
            self.send({"jsonrpc": "2.0", "id": rid, "result": None})
            raise SystemExit(0)
        fn = getattr(self, method, None) if method in _METHODS else None
        if fn is None:
            self.send({"jsonrpc": "2.0", "id": rid, "error": {"code": METHOD_NOT_FOUND, "message": f"unknown method {method}"}})
            return
        try:
            result = fn(params)
            self.send({"jsonrpc": "2.0", "id": rid, "result": result})
        except WorkerError as e:
            data: dict[str, Any] = {}
            if e.benchalign_code:
                data["benchalignCode"] = e.benchalign_code
            if e.expected:
                data["expected"] = e.expected
            if e.detail:
                data["detail"] = e.detail
            self.send({"jsonrpc": "2.0", "id": rid, "error": {"code": e.rpc_code, "message": str(e), "data": data}})
        except Exception as e:  # noqa: BLE001 - an engine failure is an answer, not a crash
            msg = f"{type(e).__name__}: {e}"
            data = {"benchalignCode": "E_ENGINE", "detail": traceback.format_exc()[-4000:]}
            self.send({"jsonrpc": "2.0", "id": rid, "error": {"code": ENGINE, "message": msg, "data": data}})


_METHODS = {"hello", "load", "setInputs", "infer", "measure", "profile", "fusedLayers", "unload"}


def _protocol_stdout():
    """Keeps the real stdout for protocol lines and points fd 1 (C printf, print) at stderr."""
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(proto_fd, "w", encoding="utf-8", buffering=1)


def serve(make_engine: Callable[[], Engine]) -> None:
    """Serves requests from stdin until it closes or `shutdown` arrives.

    ``make_engine`` imports the engine's bindings. An import failure does not end the worker:
    every request is answered with the reason, so `hello` tells the harness why the engine is
    unavailable.
    """
    out = _protocol_stdout()
    try:
        engine: Engine = make_engine()
    except Exception as e:  # noqa: BLE001 - becomes the unavailability reason
        reason = f"{type(e).__name__}: {e}"
        engine = _Unavailable(reason)
    server = _Server(engine, out)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            server.handle(line)
        except SystemExit:
            break
    out.flush()


class _Unavailable(Engine):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _fail(self) -> Any:
        raise WorkerError(self.reason, ENGINE, "E_ENGINE_MISSING", "the engine's Python package (benchalign engines setup)")

    def version(self) -> str:
        return self._fail()

    def load(self, *_args: Any) -> LoadInfo:
        return self._fail()
