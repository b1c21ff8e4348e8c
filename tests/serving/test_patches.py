"""The patch table: every patch is written against the installed upstream, and a changed one is left out safely."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from serving import PATCHES
from serving.patches import Patch, fingerprint, format_table, install_patches


@pytest.mark.parametrize("patch", PATCHES, ids=[patch.name for patch in PATCHES])
def test_the_upstream_code_under_each_patch_is_the_code_it_was_written_against(patch: Patch) -> None:
    # A lock refresh that changes what a patch depends on fails here, by the patch's name.
    assert patch.changed_sources() == [], f"patch {patch.name}: upstream changed ({patch.written_against}); re-check it"


def test_the_table_names_each_patch_once_with_its_target_figure_and_measurement() -> None:
    names = [patch.name for patch in PATCHES]
    assert len(names) == len(set(names))
    for patch in PATCHES:
        assert patch.target
        assert patch.attaches
        assert patch.written_against
        assert patch.buys
        assert patch.measured_in.startswith(("bench/results/", "docs/"))
    assert "socket-fast-path" not in names  # sockets go through the middleware, like every request


def _recording_patch(name: str, applied: list[str], sources: tuple[tuple[Any, str], ...]) -> Patch:
    return Patch(name, "t", "a", "upstream 1.0", "b", "docs/performance.md", lambda _: applied.append(name), sources)


def test_a_patch_whose_upstream_changed_is_not_installed_and_is_logged_once_by_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    applied: list[str] = []

    def upstream() -> int:
        return 1

    good = _recording_patch("kept-patch", applied, ((upstream, fingerprint(upstream) or ""),))
    changed = _recording_patch("changed-patch-under-test", applied, ((upstream, "0" * 16),))
    with caplog.at_level(logging.WARNING, logger="serving.patches"):
        first = install_patches((good, changed), {})
        second = install_patches((good, changed), {})
    assert applied == ["kept-patch", "kept-patch"]
    assert [(state.patch.name, state.installed) for state in first] == [
        ("kept-patch", True),
        ("changed-patch-under-test", False),
    ]
    assert second == first
    assert caplog.text.count("patch changed-patch-under-test not installed") == 1
    assert "NOT installed (upstream changed or unreadable)" in format_table(first)


def test_a_source_that_cannot_be_read_leaves_the_patch_out_without_a_crash() -> None:
    # As in a frozen app: no source file behind the code.
    namespace: dict[str, Any] = {}
    exec(compile("def frozen():\n    return 1\n", "<frozen app>", "exec"), namespace)
    assert fingerprint(namespace["frozen"]) is None
    assert fingerprint(len) is None
    applied: list[str] = []
    (state,) = install_patches((_recording_patch("frozen-patch", applied, ((namespace["frozen"], "0" * 16),)),), {})
    assert not state.installed
    assert applied == []


def test_tuning_off_installs_no_patch() -> None:
    applied: list[str] = []
    states = install_patches((_recording_patch("any", applied, ()),), {}, enabled=False)
    assert [(state.installed, state.why) for state in states] == [(False, "SERVER_TUNING=off")]
    assert applied == []


def test_a_skipped_patch_alone_is_left_out() -> None:
    applied: list[str] = []
    patches = (_recording_patch("kept", applied, ()), _recording_patch("skipped", applied, ()))
    states = install_patches(patches, {}, skip=("skipped",))
    assert [(state.patch.name, state.installed, state.why) for state in states] == [
        ("kept", True, ""),
        ("skipped", False, "SERVER_TUNING_SKIP"),
    ]
    assert applied == ["kept"]


def test_skipping_a_patch_that_does_not_exist_is_refused_with_the_names_there_are() -> None:
    applied: list[str] = []
    with pytest.raises(ValueError, match=r"SERVER_TUNING_SKIP names no patch: nope; the patches are only\.") as caught:
        install_patches((_recording_patch("only", applied, ()),), {}, skip=("nope",))
    assert "nope" in str(caught.value)
    assert applied == []


def test_a_real_patch_with_a_changed_fingerprint_leaves_the_app_on_upstreams_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nicegui.client
    import nicegui.outbox

    monkeypatch.setattr("nicegui.client.Outbox", nicegui.outbox.Outbox)
    outbox = next(patch for patch in PATCHES if patch.name == "lean-outbox")
    function, _ = outbox.sources[0]
    changed = dataclasses.replace(outbox, sources=((function, "f" * 16),))
    (state,) = install_patches((changed,), {})
    assert not state.installed
    assert vars(nicegui.client)["Outbox"] is nicegui.outbox.Outbox
