"""Sweep configurations and designs: validation before any work, run counts, seeds."""

import tomllib

import numpy as np
import pytest

from experiments.cli import main
from experiments.engine.seeds import run_seeds, seed_int
from experiments.sweep import ConfigError, SweepConfig, build_design, load_config

CONFIGS = "experiments/configs"

BASE = """
[sweep]
design = "{design}"
replications = {reps}
steps = 4
master_seed = 7
outputs = ["improvement_pct"]
{design_table}
[parameters]
{parameters}
[fixed]
n_residents = 150
"""

THREE = """backbone_funding = { bounds = [0.0, 0.2] }
initial_trust = { bounds = [0.1, 0.9] }
communication_frequency = { bounds = [0.0, 8.0] }"""


def config_text(design="sobol", reps=2, design_table="[design]\nn = 8", parameters=THREE):
    return BASE.format(design=design, reps=reps, design_table=design_table,
                       parameters=parameters)


def parse(text):
    return SweepConfig.from_dict(tomllib.loads(text), source="test.toml")


@pytest.mark.parametrize(("design", "table", "points"), [
    ("sobol", "[design]\nn = 8", 8 * (2 * 3 + 2)),
    ("sobol", "[design]\nn = 8\nsecond_order = false", 8 * (3 + 2)),
    ("morris", "[design]\nn = 5", 5 * (3 + 1)),
    ("lhs", "[design]\nn = 11", 11),
])
def test_sampled_designs_have_the_expected_run_counts(design, table, points):
    """Each SALib design yields its documented number of points, times replications."""
    d = build_design(parse(config_text(design, 3, table)))
    assert d.n_samples == points
    assert d.n_runs == 3 * points
    runs = d.runs()
    assert list(runs["run_id"]) == list(range(3 * points))
    assert (runs["sample"] == runs["run_id"] // 3).all()


def test_grid_is_full_factorial():
    """A grid holds every combination of levels exactly once."""
    params = """backbone_funding = { levels = [0.0, 0.05, 0.1] }
communication_frequency = { bounds = [0.0, 8.0], num = 5 }
regime = { levels = ["isolated", "collective"] }"""
    d = build_design(parse(config_text("grid", 2, "", params)))
    assert d.n_samples == 3 * 5 * 2 and d.n_runs == 60
    assert not d.values.duplicated().any()
    assert sorted(d.values["communication_frequency"].unique()) == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_shipped_example_configs_are_valid_and_cover_the_card_parameters():
    """The four example files parse, use four designs and vary the three card parameters."""
    seen = set()
    for name in ("card_sobol", "card_morris", "card_lhs", "card_grid"):
        config = load_config(f"{CONFIGS}/{name}.toml")
        seen.add(config.design)
        assert set(config.names) == {"backbone_funding", "initial_trust",
                                     "communication_frequency"}
    assert seen == {"sobol", "morris", "lhs", "grid"}
    sobol = load_config(f"{CONFIGS}/card_sobol.toml")
    assert sobol.options["n"] == 64 and sobol.replications == 3


def test_run_seeds_follow_the_seed_policy():
    """independent: run i gets child i of SeedSequence(master); common: replication r's child."""
    children = [seed_int(c) for c in np.random.SeedSequence(99).spawn(6)]
    assert run_seeds(99, 3, 2, "independent").tolist() == children
    assert run_seeds(99, 3, 2, "common").tolist() == children[:2] * 3


def test_design_is_reproducible_from_the_master_seed():
    """The same config samples the same points; another master seed samples others."""
    a = build_design(parse(config_text("lhs", 1, "[design]\nn = 9"))).values
    b = build_design(parse(config_text("lhs", 1, "[design]\nn = 9"))).values
    c = build_design(parse(config_text("lhs", 1, "[design]\nn = 9").replace(
        "master_seed = 7", "master_seed = 8"))).values
    assert a.equals(b) and not a.equals(c)


def test_integer_parameters_are_rounded_inside_their_bounds():
    """Sampled integer parameters reach the runs as integers within bounds."""
    params = """n_domains = { bounds = [2, 6] }
initial_trust = { bounds = [0.1, 0.9] }"""
    d = build_design(parse(config_text("lhs", 1, "[design]\nn = 40", params)))
    values = d.values["n_domains"]
    assert values.dtype == np.int64 and values.between(2, 6).all()


@pytest.mark.parametrize(("change", "words"), [
    (("backbone_funding = {", "backbone_fundng = {"), "unknown parameter 'backbone_fundng'"),
    (("[0.0, 0.2]", "[0.0, 0.7]"), "0.7 is outside the declared range of backbone_funding"),
    (("[0.1, 0.9]", "[0.9, 0.1]"), "inverted"),
    (("[0.1, 0.9]", "[0.5, 0.5]"), "low equals high"),
    (("[0.1, 0.9]", "[0.1]"), "two numbers"),
    (("n = 8", "n = 12"), "power of 2"),
    (("replications = 2", "replications = 0"), "sweep.replications"),
    (('["improvement_pct"]', '["improvment_pct"]'), "unknown output 'improvment_pct'"),
    (("steps = 4", "stesp = 4"), "unknown key 'stesp'"),
    (('design = "sobol"', 'design = "factorial"'), "sweep.design"),
    (("n_residents = 150", "n_residents = -3"), "n_residents"),
    (("n_residents = 150", "initial_trust = 0.5"), "both varied and in [fixed]"),
    (("n_residents = 150", "seed = 4"), "master_seed"),
])
def test_bad_configs_are_refused_with_one_clear_line(change, words):
    """Unknown names, bounds outside declared ranges, inverted bounds... are refused by name."""
    text = config_text().replace(*change)
    assert text != config_text()
    with pytest.raises(ConfigError) as err:
        parse(text)
    message = str(err.value)
    assert words in message and "\n" not in message and message.startswith("config test.toml")


def test_levels_are_refused_in_sampled_designs():
    """A sampled design cannot take a list of levels (and choices cannot take bounds)."""
    with pytest.raises(ConfigError, match="levels are for grid designs"):
        parse(config_text(parameters=THREE.replace("{ bounds = [0.1, 0.9] }",
                                                   "{ levels = [0.1, 0.9] }")))
    with pytest.raises(ConfigError, match="regime takes one of"):
        parse(config_text(parameters=THREE + '\nregime = { bounds = [0, 1] }'))


def test_cli_refuses_a_bad_config_before_any_work(tmp_path, capsys):
    """cisim sweep exits 2 with one line and creates no output folder for a bad config."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text(config_text().replace("[0.1, 0.9]", "[0.1, 1.5]"))
    out = tmp_path / "out"
    assert main(["sweep", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "initial_trust" in err and "1.5" in err
    assert not out.exists()


def test_cli_refuses_missing_or_broken_files(tmp_path, capsys):
    """A missing file and a TOML syntax error are each one line, exit 2."""
    assert main(["sweep", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "broken.toml"
    bad.write_text("[sweep\ndesign = 1")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err

