"""Curve lab: edit parsing and application, lint on edits, rerank against the scheduler, HOCON round trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scheduling_fixtures import GIB, seed_config, seed_fleet
from tui.core.costs import CostFunction
from tui.core.curves import Constant, Curve, HardSoft, Invalid, Linear, Piecewise, Unavailable
from tui.core.diagnostics import Severity
from tui.core.fleet import Fleet, FleetHost
from tui.core.model import HardwareProfile, VmConfig
from tui.core.scheduling import CostEngine, FleetState, Request
from tui.core.whatif import CurveLab, Edit, EditError, apply_edits, cost_functions_text, parse_edits, rerank
from tui.services.scenarios import check_cost_functions_text

REQ = Request.of(2, 4 * GIB)


@pytest.mark.parametrize(
    ("text", "cf", "term", "branch", "param", "value"),
    [
        ("pool1.vcpus.soft=10", "pool1", "vcpus", (), "soft", 10.0),
        ("pool1.memory.hard=48 GiB", "pool1", "memory", (), "hard", 48.0 * GIB),
        ("pool2.offset=0", "pool2", "", (), "offset", 0.0),
        ("nvidia-gpu.devices.nvidia-gpu.max=none", "nvidia-gpu", "devices.nvidia-gpu", (), "max", None),
        ("nvidia-gpu.devices.nvidia-gpu=none", "nvidia-gpu", "devices.nvidia-gpu", (), "curve", None),
        ("pool1.vms=none", "pool1", "vms", (), "curve", None),
        ("pool1.memory.high.low.slope=9", "pool1", "memory", ("high", "low"), "slope", 9.0),
        ("pool1.vcpus.curve=linear", "pool1", "vcpus", (), "curve", "linear"),
    ],
)
def test_parse(text: str, cf: str, term: str, branch: tuple[str, ...], param: str, value: object) -> None:
    edit = Edit.parse(text)
    assert (edit.cost_function, edit.term, edit.branch, edit.param, edit.value) == (
        cf,
        term,
        branch,
        param,
        value,
    )


@pytest.mark.parametrize("text", ["pool1", "pool1.vcpus.soft", "=3", "pool1.vcpus.soft=12 parsecs"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(EditError):
        Edit.parse(text)


def test_edit_changes_only_the_target_and_keeps_the_base() -> None:
    config = seed_config()
    result = apply_edits(config, parse_edits(["pool1.vcpus.soft=10"]))
    assert result.ok
    assert result.edited == ("pool1",)
    assert result.config.cost_functions["pool1"].vcpus == HardSoft(soft=10, hard=16, soft_amt=4, hard_amt=32)
    assert config.cost_functions["pool1"].vcpus == HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32)
    assert result.config.cost_functions["pool2"] is config.cost_functions["pool2"]


def test_refusals_name_the_key_path_and_skip_only_that_edit() -> None:
    result = apply_edits(
        seed_config(), parse_edits(["nope.vms.slope=1", "pool1.vcpus.slope=2", "pool2.offset=5"])
    )
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert [f.path[3] for f in errors] == ["nope", "pool1"]
    assert "hard-soft curve has no parameter 'slope'" in errors[1].message
    assert result.config.cost_functions["pool2"].offset == 5
    assert not result.ok


def test_lint_runs_on_edited_curves() -> None:
    result = apply_edits(seed_config(), parse_edits(["pool1.vcpus.soft=20"]))
    soft = [f for f in result.findings if f.path[-1] == "soft"]
    assert soft
    assert soft[0].severity is Severity.ERROR
    assert "must be below hard" in soft[0].message


def test_nested_piecewise_branch_edit() -> None:
    config = seed_config()
    result = apply_edits(
        config,
        parse_edits(
            ["pool1.memory.curve=piecewise", "pool1.memory.high.curve=linear", "pool1.memory.high.slope=2"]
        ),
    )
    memory = result.config.cost_functions["pool1"].memory
    assert isinstance(memory, Piecewise)
    assert memory.cutoff == 32 * GIB  # the old curve's finite limit
    assert memory.low == config.cost_functions["pool1"].memory
    assert memory.high == Linear(slope=2.0, base=0.0)
    bad = apply_edits(config, parse_edits(["pool1.vcpus.low.slope=1"]))
    assert "addresses a piecewise branch" in bad.findings[0].message


def test_edit_with_no_change_leaves_every_cost_identical() -> None:
    config = seed_config()
    fleet = seed_fleet()
    lab = CurveLab(config, fleet, REQ)
    result, ranked = lab.try_edits(parse_edits(["pool1.vcpus.soft=8", "pool2.offset=1000"]))
    assert result.edited == ()
    assert ranked.changed_costs == 0
    assert all(
        h.old_cost == h.new_cost or (math.isinf(h.old_cost) and math.isinf(h.new_cost)) for h in ranked.hosts
    )


def test_rerank_first_rank_is_the_scheduler_choice() -> None:
    config = seed_config()
    fleet = seed_fleet()
    result = apply_edits(config, parse_edits(["pool2.offset=0", "pool1.vms.slope=5"]))
    ranked = rerank(config, result.config, fleet, REQ)
    for side, cfg in (("old", config), ("new", result.config)):
        state = FleetState(cfg, fleet)
        i, cost = CostEngine(state).decide(REQ)
        choice = ranked.old_choice if side == "old" else ranked.new_choice
        assert choice == state.names[i]
        host = next(h for h in ranked.hosts if h.host == choice)
        assert (host.old_cost if side == "old" else host.new_cost) == cost
    assert ranked.old_choice != ranked.new_choice  # pool 2 no longer costs 1000 more
    assert ranked.changed_ranks > 0


# --- HOCON round trip ---------------------------------------------------------------------------------
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e12, allow_nan=False, allow_infinity=False)
sizes = st.integers(min_value=1, max_value=64).map(lambda g: float(g * GIB))


def _leaf(memory: bool) -> st.SearchStrategy[Curve]:
    common = {
        "scale": st.one_of(st.just(1.0), positive),
        "max": st.one_of(st.none(), sizes if memory else positive),
    }
    hard_soft = st.tuples(sizes if memory else positive, positive).map(lambda t: (t[0], t[0] + t[1]))
    return st.one_of(
        st.builds(Constant, value=finite, **common),
        st.builds(Linear, slope=finite, base=finite, **common),
        hard_soft.flatmap(
            lambda sh: st.builds(
                HardSoft, soft=st.just(sh[0]), hard=st.just(sh[1]), soft_amt=finite, hard_amt=finite, **common
            )
        ),
        st.builds(Invalid, **common),
        st.builds(Unavailable, **common),
    )


def _curve(memory: bool) -> st.SearchStrategy[Curve]:
    return st.recursive(
        _leaf(memory),
        lambda inner: st.builds(Piecewise, cutoff=sizes if memory else positive, low=inner, high=inner),
        max_leaves=4,
    )


@st.composite
def cost_functions(draw: st.DrawFn) -> CostFunction:
    return CostFunction(
        draw(st.sampled_from(["pool1", "gpu-node", "x_1"])),
        name=draw(st.sampled_from(["", 'Pool "1"', "Ünïcode"])),
        description=draw(st.sampled_from(["", "a\nb"])),
        vms=draw(st.one_of(st.none(), _curve(False))),
        vcpus=draw(st.one_of(st.none(), _curve(False))),
        memory=draw(st.one_of(st.none(), _curve(True))),
        devices=draw(st.dictionaries(st.sampled_from(["nvidia-gpu", "fpga"]), _curve(False), max_size=2)),
        scale=draw(st.one_of(st.just(1.0), positive)),
        offset=draw(st.one_of(st.just(0.0), finite)),
    )


@settings(max_examples=40, deadline=None)
@given(cost_functions())
def test_hocon_text_reparses_with_the_loader_to_the_same_cost_function(cf: CostFunction) -> None:
    config = VmConfig({cf.id: cf}, {"p": HardwareProfile("p", 8, 32 * GIB, cf.id)}, {})
    text = cost_functions_text(config)
    parsed, diagnostics = check_cost_functions_text(text)
    assert not [d for d in diagnostics if d.severity is Severity.ERROR and "curve" not in d.path], text
    assert parsed.get(cf.id) == cf, text


def test_seed_config_round_trips_and_bad_text_is_located() -> None:
    config = seed_config()
    parsed, _ = check_cost_functions_text(cost_functions_text(config))
    assert parsed == dict(config.cost_functions)
    _, diagnostics = check_cost_functions_text(
        "ticrypt.vm.cost-functions {\n  x {\n    vms: { curve: linar }\n  }\n}\n"
    )
    assert [(d.line, d.severity) for d in diagnostics] == [(3, Severity.ERROR)]
    assert "did you mean 'linear'" in diagnostics[0].message


def test_infinite_values_are_not_exported() -> None:
    from tui.core.whatif import ExportError

    cf = CostFunction("c", vms=Constant(value=math.inf))
    with pytest.raises(ExportError):
        cost_functions_text(VmConfig({"c": cf}, {}, {}))


def test_fleet_fixture_has_pool_hosts() -> None:
    # Guard for the tests above: they assume the seed fleet has pool1 and pool2 hosts.
    fleet: Fleet = seed_fleet()
    assert {h.profile for h in fleet.hosts} >= {"pool1", "pool2"}
    assert all(isinstance(h, FleetHost) for h in fleet.hosts)
