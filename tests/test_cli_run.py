"""The command line's params, scenarios and run subcommands."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from experiments.cli import main
from model.parameters import PARAMETERS

SMALL = ["--set", "n_residents=200", "--set", "n_nonprofits=8", "--set", "n_funders=2"]


def test_run_writes_its_three_files_and_prints_the_summary(tmp_path, capsys):
    """cisim run writes timeseries.parquet, summary.json and timeseries.png."""
    out = tmp_path / "run"
    code = main(["run", "--scenario", "isolated", "--seed", "3", "--steps", "12", *SMALL,
                 "--out", str(out)])
    assert code == 0
    series = pd.read_parquet(out / "timeseries.parquet")
    assert len(series) == 13
    saved = json.loads((out / "summary.json").read_text())
    assert saved["scenario"] == "isolated" and saved["parameters"]["n_residents"] == 200
    assert (out / "timeseries.png").stat().st_size > 10_000
    printed = json.loads(capsys.readouterr().out)
    assert printed["funds_disbursed"] == pytest.approx(saved["summary"]["funds_disbursed"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "utopia"], "scenario: got 'utopia'"),
        (["--set", "initial_trust=2"], "'initial_trust': got 2.0; allowed: a number from 0 to 1"),
        (["--set", "no_such=1"], "unknown parameter 'no_such'"),
        (["--set", "initial_trust"], "--set expects name=value"),
        (["--steps", "0"], "--steps: got 0"),
        (["--seed", "abc"], "--seed: got 'abc'"),
    ],
)
def test_run_rejects_bad_input_with_exit_2_and_writes_nothing(tmp_path, capsys, args, message):
    """Bad input: one line on stderr, exit code 2, no output folder."""
    out = tmp_path / "nothing"
    assert main(["run", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_run_refuses_an_out_path_that_is_a_file(tmp_path, capsys):
    """--out pointing at a file is refused before running."""
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["run", "--steps", "1", *SMALL, "--out", str(target)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_params_json_lists_every_declared_parameter(capsys):
    """cisim params --format json gives name, unit, default, range or choices, meaning."""
    assert main(["params", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in records] == [p.name for p in PARAMETERS]
    regime = next(r for r in records if r["name"] == "regime")
    assert regime["choices"] == ["isolated", "collective", "hybrid"]
    trust = next(r for r in records if r["name"] == "initial_trust")
    assert (trust["min"], trust["max"], trust["unit"]) == (0.0, 1.0, "trust in [0, 1]")
    assert all(r["description"] for r in records)


def test_params_table_and_scenarios_print(capsys):
    """The human-readable listings name every parameter and every scenario."""
    assert main(["params"]) == 0
    table = capsys.readouterr().out
    assert all(p.name in table for p in PARAMETERS)
    assert main(["scenarios"]) == 0
    text = capsys.readouterr().out
    assert "collective_unfunded_backbone" in text and "backbone=0.0" in text


def test_python_dash_m_experiments_is_the_same_cli():
    """python -m experiments works like cisim and exits 2 on bad input without a traceback."""
    ok = subprocess.run([sys.executable, "-m", "experiments", "scenarios"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "funder_churn" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "experiments", "run", "--out", "x",
                          "--set", "regime=market"], capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
