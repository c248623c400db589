"""LiteRT per-op profile through the C API of the libLiteRt.so that the ai-edge-litert wheel ships.

The Python Interpreter has no profiling call, and the Python CompiledModel's Options carry no
profiling switch; the C API has both: a CompiledModel compiled with the runtime option
``enable_profiling = true`` (opaque options ``runtime_options_string``, a TOML payload) owns a
profiler (LiteRtCompiledModelGetProfiler) whose events (LiteRtGetProfilerEvents) carry, per
operator invoke, the op type as the tag, the node index as metadata1 and the elapsed time in
microseconds. CPU settings go the same way (opaque options ``xnnpack``: num_threads, kernel_mode).

Signatures and struct layouts are those of LiteRT's C headers (litert/c/litert_*.h) for the
2.x releases; every call's status is checked and every event field is checked before use, and
any failure raises ProfileUnavailable with the step that failed.
"""

from __future__ import annotations

import ctypes as C
import os
from typing import Any

from .protocol import profiled_runs

# LiteRtProfilerEventType (litert_profiler_event.h)
OPERATOR_INVOKE_EVENT = 1 << 1
DELEGATE_OPERATOR_INVOKE_EVENT = 1 << 2
DELEGATE_PROFILED_OPERATOR_INVOKE_EVENT = 1 << 3
_OP_EVENTS = OPERATOR_INVOKE_EVENT | DELEGATE_OPERATOR_INVOKE_EVENT | DELEGATE_PROFILED_OPERATOR_INVOKE_EVENT
_HW_CPU = 1  # kLiteRtHwAcceleratorCpu
_LOCK_READ, _LOCK_WRITE = 0, 1  # kLiteRtTensorBufferLockMode
_RANKED_TYPE_BYTES = 4 + 68  # LiteRtElementType + LiteRtLayout (static_assert'ed 68 in litert_layout.h)
_MAX_EVENTS = 4_000_000


class ProfileUnavailable(Exception):
    """The C API profile could not be taken; the message says at which step."""


class _MemUsage(C.Structure):
    _fields_ = [("total_allocated_bytes", C.c_size_t), ("in_use_allocated_bytes", C.c_size_t), ("private_footprint_bytes", C.c_size_t)]


class _Event(C.Structure):
    # ProfiledEventData (litert_profiler_event.h)
    _fields_ = [
        ("tag", C.c_char_p),
        ("event_type", C.c_int),
        ("start_timestamp_us", C.c_uint64),
        ("elapsed_time_us", C.c_uint64),
        ("begin_mem_usage", _MemUsage),
        ("end_mem_usage", _MemUsage),
        ("event_metadata1", C.c_uint64),
        ("event_metadata2", C.c_uint64),
        ("event_source", C.c_int),
    ]


_SIGS: dict[str, tuple[Any, list[Any]]] = {
    "LiteRtCreateEnvironment": (C.c_int, [C.c_int, C.c_void_p, C.POINTER(C.c_void_p)]),
    "LiteRtDestroyEnvironment": (None, [C.c_void_p]),
    "LiteRtCreateModelFromFile": (C.c_int, [C.c_void_p, C.c_char_p, C.POINTER(C.c_void_p)]),
    "LiteRtDestroyModel": (None, [C.c_void_p]),
    "LiteRtGetNumModelSignatures": (C.c_int, [C.c_void_p, C.POINTER(C.c_size_t)]),
    "LiteRtGetModelSignature": (C.c_int, [C.c_void_p, C.c_size_t, C.POINTER(C.c_void_p)]),
    "LiteRtGetSignatureKey": (C.c_int, [C.c_void_p, C.POINTER(C.c_char_p)]),
    "LiteRtGetNumSignatureInputs": (C.c_int, [C.c_void_p, C.POINTER(C.c_size_t)]),
    "LiteRtGetNumSignatureOutputs": (C.c_int, [C.c_void_p, C.POINTER(C.c_size_t)]),
    "LiteRtGetSignatureInputName": (C.c_int, [C.c_void_p, C.c_size_t, C.POINTER(C.c_char_p)]),
    "LiteRtGetSignatureInputTensorByIndex": (C.c_int, [C.c_void_p, C.c_size_t, C.POINTER(C.c_void_p)]),
    "LiteRtGetSignatureOutputTensorByIndex": (C.c_int, [C.c_void_p, C.c_size_t, C.POINTER(C.c_void_p)]),
    "LiteRtGetRankedTensorType": (C.c_int, [C.c_void_p, C.c_void_p]),
    "LiteRtCreateOptions": (C.c_int, [C.POINTER(C.c_void_p)]),
    "LiteRtDestroyOptions": (None, [C.c_void_p]),
    "LiteRtSetOptionsHardwareAccelerators": (C.c_int, [C.c_void_p, C.c_int]),
    "LiteRtCreateOpaqueOptions": (C.c_int, [C.c_char_p, C.c_void_p, C.c_void_p, C.POINTER(C.c_void_p)]),
    "LiteRtDestroyOpaqueOptions": (None, [C.c_void_p]),
    "LiteRtAddOpaqueOptions": (C.c_int, [C.c_void_p, C.c_void_p]),
    "LiteRtCreateCompiledModel": (C.c_int, [C.c_void_p, C.c_void_p, C.c_void_p, C.POINTER(C.c_void_p)]),
    "LiteRtDestroyCompiledModel": (None, [C.c_void_p]),
    "LiteRtGetCompiledModelInputBufferRequirements": (C.c_int, [C.c_void_p, C.c_size_t, C.c_size_t, C.POINTER(C.c_void_p)]),
    "LiteRtGetCompiledModelOutputBufferRequirements": (C.c_int, [C.c_void_p, C.c_size_t, C.c_size_t, C.POINTER(C.c_void_p)]),
    "LiteRtCreateManagedTensorBufferFromRequirements": (C.c_int, [C.c_void_p, C.c_void_p, C.c_void_p, C.POINTER(C.c_void_p)]),
    "LiteRtDestroyTensorBuffer": (None, [C.c_void_p]),
    "LiteRtGetTensorBufferSize": (C.c_int, [C.c_void_p, C.POINTER(C.c_size_t)]),
    "LiteRtLockTensorBuffer": (C.c_int, [C.c_void_p, C.POINTER(C.c_void_p), C.c_int]),
    "LiteRtUnlockTensorBuffer": (C.c_int, [C.c_void_p]),
    "LiteRtRunCompiledModel": (C.c_int, [C.c_void_p, C.c_size_t, C.c_size_t, C.c_void_p, C.c_size_t, C.c_void_p]),
    "LiteRtCompiledModelGetProfiler": (C.c_int, [C.c_void_p, C.POINTER(C.c_void_p)]),
    "LiteRtStartProfiler": (C.c_int, [C.c_void_p]),
    "LiteRtStopProfiler": (C.c_int, [C.c_void_p]),
    "LiteRtResetProfiler": (C.c_int, [C.c_void_p]),
    "LiteRtGetNumProfilerEvents": (C.c_int, [C.c_void_p, C.POINTER(C.c_int)]),
    "LiteRtGetProfilerEvents": (C.c_int, [C.c_void_p, C.c_int, C.POINTER(_Event)]),
}


def library_path() -> str:
    import ai_edge_litert

    return os.path.join(os.path.dirname(os.path.abspath(ai_edge_litert.__file__)), "libLiteRt.so")


def _load() -> Any:
    path = library_path()
    if not os.path.isfile(path):
        raise ProfileUnavailable(f"the ai-edge-litert package has no {os.path.basename(path)}")
    try:
        lib = C.CDLL(path)
    except OSError as e:
        raise ProfileUnavailable(f"cannot load {path}: {e}") from e
    missing = [name for name in _SIGS if not hasattr(lib, name)]
    if missing:
        raise ProfileUnavailable(f"{path} does not export {', '.join(missing)}")
    for name, (res, args) in _SIGS.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


def _c_string(text: str) -> int:
    """A malloc'ed copy of text (LiteRT frees an opaque options payload with the deleter given: free)."""
    libc = C.CDLL(None)
    libc.strdup.restype = C.c_void_p
    libc.strdup.argtypes = [C.c_char_p]
    ptr = libc.strdup(text.encode())
    if not ptr:
        raise ProfileUnavailable("strdup failed")
    return int(ptr)


def profile_compiled_model(model_path: str, feeds: list[tuple[str, Any]], threads: int, xnnpack: bool, iterations: int, max_ms: float) -> dict[str, Any]:
    """Compiles model_path as a CompiledModel with profiling on (CPU, `threads` threads, XNNPACK or
    the builtin kernels), feeds `feeds` ((signature input name, numpy array) in signature order,
    dtypes as the model takes them; matched by name, else by position) to its serving_default
    signature (else its first), runs one warm-up and up to `iterations` profiled runs within max_ms, and
    returns per-op rows summed over the runs: {opType, nodeIndex, timeNs, count}."""
    lib = _load()
    libc = C.CDLL(None)
    free_fn = C.cast(libc.free, C.c_void_p)
    handles: list[tuple[str, Any]] = []  # (destroy function, handle), destroyed in reverse

    def check(status: int, step: str) -> None:
        if status != 0:
            raise ProfileUnavailable(f"{step} returned LiteRtStatus {status}")

    try:
        env = C.c_void_p()
        check(lib.LiteRtCreateEnvironment(0, None, C.byref(env)), "LiteRtCreateEnvironment")
        handles.append(("LiteRtDestroyEnvironment", env))
        model = C.c_void_p()
        check(lib.LiteRtCreateModelFromFile(env, model_path.encode(), C.byref(model)), "LiteRtCreateModelFromFile")
        handles.append(("LiteRtDestroyModel", model))
        nsig = C.c_size_t()
        check(lib.LiteRtGetNumModelSignatures(model, C.byref(nsig)), "LiteRtGetNumModelSignatures")
        if nsig.value < 1:
            raise ProfileUnavailable("the model has no signature")
        sig = C.c_void_p()
        sig_index = 0
        for k in range(min(nsig.value, 64)):
            cand, key = C.c_void_p(), C.c_char_p()
            check(lib.LiteRtGetModelSignature(model, k, C.byref(cand)), "LiteRtGetModelSignature")
            check(lib.LiteRtGetSignatureKey(cand, C.byref(key)), "LiteRtGetSignatureKey")
            if key.value == b"serving_default":
                sig_index = k
                break
        check(lib.LiteRtGetModelSignature(model, sig_index, C.byref(sig)), "LiteRtGetModelSignature")
        n_in, n_out = C.c_size_t(), C.c_size_t()
        check(lib.LiteRtGetNumSignatureInputs(sig, C.byref(n_in)), "LiteRtGetNumSignatureInputs")
        check(lib.LiteRtGetNumSignatureOutputs(sig, C.byref(n_out)), "LiteRtGetNumSignatureOutputs")
        if n_in.value != len(feeds):
            raise ProfileUnavailable(f"signature {sig_index} takes {n_in.value} inputs, the job feeds {len(feeds)}")
        c_names = []
        for i in range(n_in.value):
            name = C.c_char_p()
            check(lib.LiteRtGetSignatureInputName(sig, i, C.byref(name)), "LiteRtGetSignatureInputName")
            c_names.append((name.value or b"").decode("utf-8", "replace"))
        by_name = dict(feeds)
        ordered = [by_name[n] for n in c_names] if sorted(c_names) == sorted(by_name) else [a for _, a in feeds]

        options = C.c_void_p()
        check(lib.LiteRtCreateOptions(C.byref(options)), "LiteRtCreateOptions")
        handles.append(("LiteRtDestroyOptions", options))
        check(lib.LiteRtSetOptionsHardwareAccelerators(options, _HW_CPU), "LiteRtSetOptionsHardwareAccelerators")
        cpu = f"num_threads = {int(threads)}\n" + ("" if xnnpack else 'kernel_mode = "builtin"\n')
        for ident, payload in (("runtime_options_string", "enable_profiling = true\n"), ("xnnpack", cpu)):
            opaque = C.c_void_p()
            data = _c_string(payload)
            status = lib.LiteRtCreateOpaqueOptions(ident.encode(), C.c_void_p(data), free_fn, C.byref(opaque))
            if status != 0:
                libc.free(C.c_void_p(data))
                check(status, f"LiteRtCreateOpaqueOptions({ident})")
            status = lib.LiteRtAddOpaqueOptions(options, opaque)  # the options own it from here
            if status != 0:
                lib.LiteRtDestroyOpaqueOptions(opaque)
                check(status, f"LiteRtAddOpaqueOptions({ident})")

        compiled = C.c_void_p()
        check(lib.LiteRtCreateCompiledModel(env, model, options, C.byref(compiled)), "LiteRtCreateCompiledModel")
        handles.append(("LiteRtDestroyCompiledModel", compiled))
        profiler = C.c_void_p()
        check(lib.LiteRtCompiledModelGetProfiler(compiled, C.byref(profiler)), "LiteRtCompiledModelGetProfiler")
        if not profiler.value:
            raise ProfileUnavailable("LiteRtCompiledModelGetProfiler gave no profiler (runtime option enable_profiling not taken)")

        def make_buffers(count: int, get_tensor: Any, get_req: Any, what: str) -> list[C.c_void_p]:
            out = []
            for i in range(count):
                tensor = C.c_void_p()
                check(get_tensor(sig, i, C.byref(tensor)), f"{what} tensor {i}")
                ttype = C.create_string_buffer(_RANKED_TYPE_BYTES + 64)
                check(lib.LiteRtGetRankedTensorType(tensor, ttype), f"LiteRtGetRankedTensorType({what} {i})")
                req = C.c_void_p()
                check(get_req(compiled, sig_index, i, C.byref(req)), f"{what} buffer requirements {i}")
                buf = C.c_void_p()
                check(lib.LiteRtCreateManagedTensorBufferFromRequirements(env, ttype, req, C.byref(buf)), f"LiteRtCreateManagedTensorBufferFromRequirements({what} {i})")
                handles.append(("LiteRtDestroyTensorBuffer", buf))
                out.append(buf)
            return out

        ins = make_buffers(n_in.value, lib.LiteRtGetSignatureInputTensorByIndex, lib.LiteRtGetCompiledModelInputBufferRequirements, "input")
        outs = make_buffers(n_out.value, lib.LiteRtGetSignatureOutputTensorByIndex, lib.LiteRtGetCompiledModelOutputBufferRequirements, "output")
        for i, (buf, arr) in enumerate(zip(ins, ordered)):
            size = C.c_size_t()
            check(lib.LiteRtGetTensorBufferSize(buf, C.byref(size)), f"LiteRtGetTensorBufferSize(input {i})")
            raw = arr.tobytes()  # C order
            if len(raw) > size.value:
                raise ProfileUnavailable(f"input {i}: {len(raw)} bytes of data for a buffer of {size.value}")
            host = C.c_void_p()
            check(lib.LiteRtLockTensorBuffer(buf, C.byref(host), _LOCK_WRITE), f"LiteRtLockTensorBuffer(input {i})")
            C.memmove(host, raw, len(raw))
            check(lib.LiteRtUnlockTensorBuffer(buf), f"LiteRtUnlockTensorBuffer(input {i})")
        in_arr = (C.c_void_p * len(ins))(*[b.value for b in ins])
        out_arr = (C.c_void_p * len(outs))(*[b.value for b in outs])

        def run() -> None:
            check(lib.LiteRtRunCompiledModel(compiled, sig_index, len(ins), in_arr, len(outs), out_arr), "LiteRtRunCompiledModel")

        run()  # warm-up: first-run allocations and XNNPACK setup are no op's time
        check(lib.LiteRtResetProfiler(profiler), "LiteRtResetProfiler")
        check(lib.LiteRtStartProfiler(profiler), "LiteRtStartProfiler")
        done, wall = profiled_runs(run, iterations, max_ms)
        check(lib.LiteRtStopProfiler(profiler), "LiteRtStopProfiler")
        num = C.c_int()
        check(lib.LiteRtGetNumProfilerEvents(profiler, C.byref(num)), "LiteRtGetNumProfilerEvents")
        if not 0 <= num.value <= _MAX_EVENTS:
            raise ProfileUnavailable(f"LiteRtGetNumProfilerEvents gave {num.value} events")
        events = (_Event * max(num.value, 1))()
        if num.value:
            check(lib.LiteRtGetProfilerEvents(profiler, num.value, events), "LiteRtGetProfilerEvents")
        rows: dict[tuple[str, int, int], list[int]] = {}
        kinds: dict[int, int] = {}
        for ev in events[: num.value]:
            kinds[ev.event_type] = kinds.get(ev.event_type, 0) + 1
            if not ev.event_type & _OP_EVENTS:
                continue
            tag = ev.tag.decode("utf-8", "replace") if ev.tag else "?"
            if ev.elapsed_time_us > 60_000_000:  # an unfinished event's garbage, never a real op time
                continue
            key = (tag, int(ev.event_type), int(ev.event_metadata1))
            acc = rows.setdefault(key, [0, 0])
            acc[0] += int(ev.elapsed_time_us) * 1000
            acc[1] += 1
        ops = [
            {"opType": tag, "nodeIndex": node, "delegate": bool(etype & (DELEGATE_OPERATOR_INVOKE_EVENT | DELEGATE_PROFILED_OPERATOR_INVOKE_EVENT)), "timeNs": t, "count": n}
            for (tag, etype, node), (t, n) in rows.items()
        ]
        return {"iterations": done, "wallNs": wall, "ops": ops, "eventTypes": kinds, "events": num.value}
    finally:
        for destroy, handle in reversed(handles):
            getattr(lib, destroy)(handle)
