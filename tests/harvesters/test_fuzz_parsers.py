"""The harvest parsers under hypothesis (issue 12): each entry point of
fuzz_targets.py answers every input with a result or one of its allowed
errors, within fuzz_targets.SECONDS of CPU time (the work an input costs;
a loaded CI machine's waits for a core are not the parser's). ``make test`` runs
PARSER_FUZZ_EXAMPLES (default 40) derandomized examples of each target;
``make fuzz-parsers`` runs many more under resource limits
(scripts/fuzz_parsers.py). Every failure found becomes a regression test
next to its reader's tests."""
from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings

from .fuzz_targets import SECONDS, TARGETS

EXAMPLES = int(os.environ.get("PARSER_FUZZ_EXAMPLES", "40"))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_parser_answers_every_input_with_a_result_or_a_clear_error(name):
    target = TARGETS[name]

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(target.strategy)
    def check(data):
        started = time.process_time()
        try:
            target.run(data)
        except target.allowed:
            pass
        assert time.process_time() - started < SECONDS, "over the time budget"

    check()
