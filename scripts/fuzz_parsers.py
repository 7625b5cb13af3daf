"""make fuzz-parsers: each harvest parser target of
tests/harvesters/fuzz_targets.py for FUZZ_EXAMPLES random inputs, each
target in its own subprocess under resource limits (address space
FUZZ_MEMORY_MB, CPU seconds FUZZ_CPU_SECONDS), printing the inputs tried
and every failure (an exception the target may not raise, an input over
the time budget, or the subprocess killed by a limit). The time budget
counts CPU time: it bounds the work an input makes a worker do, and on a
shared machine an input's wall time includes waits for a core (those are
printed as WAIT, not counted as failures).

    .venv/bin/python scripts/fuzz_parsers.py [TARGET ...]
"""
from __future__ import annotations

import gc
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100000"))
MEMORY_MB = int(os.environ.get("FUZZ_MEMORY_MB", "2048"))
CPU_SECONDS = int(os.environ.get("FUZZ_CPU_SECONDS", "36000"))
#: hypothesis runs of this many examples each, one after the other: hypothesis
#: keeps every input of a run in memory (1.2 GB after 66,000 OGC API inputs)
CHUNK = int(os.environ.get("FUZZ_CHUNK", "10000"))


def run_target(name: str) -> int:
    """In the subprocess: limits first, then hypothesis, in runs of CHUNK
    examples (each with a new random seed) until EXAMPLES; every input is
    counted, every failure printed with its input (and hypothesis goes on
    looking: a failure does not end the run)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_MB << 20, MEMORY_MB << 20))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    sys.path.insert(0, str(ROOT))
    from hypothesis import HealthCheck, given, settings

    from tests.harvesters.fuzz_targets import SECONDS, TARGETS

    target = TARGETS[name]
    tried = failures = waits = 0
    slowest = slowest_cpu = 0.0
    slowest_input = ""
    seen: set[str] = set()
    started = time.monotonic()
    collecting = [0.0, 0.0]  # garbage collection: seconds in all, start of the current one

    def on_gc(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            collecting[1] = time.monotonic()
        else:
            collecting[0] += time.monotonic() - collecting[1]
    gc.callbacks.append(on_gc)
    slowest_gc = 0.0

    def check(data: object) -> None:
        nonlocal tried, failures, waits, slowest, slowest_cpu, slowest_gc, slowest_input
        tried += 1
        begun, begun_cpu, begun_gc = time.monotonic(), time.process_time(), collecting[0]
        try:
            target.run(data)
        except target.allowed:
            pass
        except Exception as error:  # noqa: BLE001 - what the fuzzer looks for
            failures += 1
            kind = f"{type(error).__name__}: {error!s:.200}"
            if kind not in seen:  # hypothesis shrinks: each failure once, its first input
                seen.add(kind)
                print(f"FAIL {name}: {kind} for input {data!r:.1500}", flush=True)
        elapsed, cpu = time.monotonic() - begun, time.process_time() - begun_cpu
        collected = collecting[0] - begun_gc  # of the harness's memory as much as the parser's
        if cpu > slowest_cpu:
            slowest, slowest_cpu, slowest_gc = elapsed, cpu, collected
            slowest_input = f"{data!r:.300}"
        if cpu > SECONDS:
            failures += 1
            print(f"SLOW {name}: {cpu:.1f} s CPU ({elapsed:.1f} s wall, {collected:.1f} s garbage "
                  f"collection) for input {data!r:.2000}", flush=True)
        elif elapsed > SECONDS:
            waits += 1
            print(f"WAIT {name}: {elapsed:.1f} s wall but {cpu:.2f} s CPU (waiting for a core, "
                  f"not counted) for input {data!r:.300}", flush=True)
        if tried % 1000 == 0:
            print(f"  {name}: {tried} inputs, {failures} failures, "
                  f"{time.monotonic() - started:.0f} s", flush=True)

    while tried < EXAMPLES:
        before = tried
        settings(max_examples=min(CHUNK, EXAMPLES - tried), database=None, deadline=None,
                 derandomize=False, suppress_health_check=list(HealthCheck),
                 report_multiple_bugs=True)(given(target.strategy)(check))()
        if tried == before:  # nothing left to generate
            break
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(f"{name}: {tried} inputs tried, {failures} failures, slowest {slowest_cpu:.2f} s CPU "
          f"({slowest:.2f} s wall, {slowest_gc:.2f} s garbage collection), {waits} waits, "
          f"{time.monotonic() - started:.0f} s in all, "
          f"peak {peak} MB", flush=True)
    print(f"{name}: slowest input {slowest_input}", flush=True)
    return 1 if failures else 0


def main(names: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.harvesters.fuzz_targets import TARGETS

    status = 0
    for name in names or sorted(TARGETS):
        print(f"== {name}: {EXAMPLES} examples, {MEMORY_MB} MB, {CPU_SECONDS} s CPU", flush=True)
        child = subprocess.run([sys.executable, __file__, "--target", name], check=False)
        if child.returncode:
            why = (f"killed by signal {-child.returncode} (a resource limit?)"
                   if child.returncode < 0 else f"exit {child.returncode}")
            print(f"== {name}: FAILED ({why})", flush=True)
            status = 1
    return status


if __name__ == "__main__":
    if sys.argv[1:2] == ["--target"]:
        sys.exit(run_target(sys.argv[2]))
    sys.exit(main(sys.argv[1:]))
