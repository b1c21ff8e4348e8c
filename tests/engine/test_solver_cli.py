"""Tests of ``python -m engine.solver``, run as a real subprocess from the repository root."""

from __future__ import annotations

import selectors
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def run(stdin: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.solver", *flags],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=TIMEOUT,
    )


def test_default_prints_position_and_score() -> None:
    result = run("4453\n2252576253462244111563365343671351441\n")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["4453 -2", "2252576253462244111563365343671351441 -1"]
    assert result.stderr == ""


def test_empty_line_is_the_start_position() -> None:
    result = run("\n")
    assert result.stdout == " 1\n"


def test_analyze_prints_seven_scores_and_minus_1000_for_a_full_column() -> None:
    result = run("4453\n444444\n", "-a")
    lines = result.stdout.splitlines()
    assert lines[0] == "4453 -5 -5 -2 -3 -4 -2 -2"
    position, *scores = lines[1].split()
    assert position == "444444"
    assert len(scores) == 7
    assert scores[3] == "-1000"
    assert all(-21 <= int(s) <= 21 for i, s in enumerate(scores) if i != 3)


def test_best_prints_the_column_from_1_to_7() -> None:
    result = run("4453\n\n", "-b")
    # In "4453" columns 3, 6 and 7 all score -2: the tie goes to the centre, column 3.
    assert result.stdout.splitlines() == ["4453 3", " 4"]


def test_weak_prints_only_the_sign() -> None:
    result = run("4453\n", "-w")
    assert result.stdout == "4453 -1\n"


def test_each_answer_is_flushed_before_the_next_line_is_read() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "engine.solver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        for moves, score in [("4453", "-2"), ("44", "1")]:
            proc.stdin.write(moves + "\n")
            proc.stdin.flush()
            # stdin stays open: the answer must come now, not at end of input.
            assert selector.select(TIMEOUT), f"no answer to {moves!r} while stdin is open"
            assert proc.stdout.readline() == f"{moves} {score}\n"
        proc.stdin.close()
        assert proc.wait(TIMEOUT) == 0


def test_invalid_lines_are_reported_by_number_and_the_rest_answered() -> None:
    stdin = "4453\n44x5\n4444444\n1212121\n44\n"
    result = run(stdin)
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["4453 -2", "44 1"]
    errors = result.stderr.splitlines()
    assert len(errors) == 3
    assert errors[0].startswith("Line 2: invalid position '44x5': ")
    assert "'x'" in errors[0]
    assert errors[1].startswith("Line 3: invalid position '4444444': ")
    assert "full" in errors[1]
    assert errors[2].startswith("Line 4: invalid position '1212121': ")
    assert "connects four" in errors[2]


def test_full_board_gets_a_score_but_no_best_move() -> None:
    full = "736536436212766145172111622455574775343234"
    assert run(full + "\n").stdout == f"{full} 0\n"
    result = run(full + "\n44\n", "-b")
    assert result.returncode == 0
    assert result.stdout == "44 4\n"
    assert result.stderr.startswith("Line 1: ")
