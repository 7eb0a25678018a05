"""`python -m training.train`: bad arguments stop before any work, with a message."""

from __future__ import annotations

import pytest

from training.train import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--recipe", '{"pretrained": "nope"}'], "no pretrained weights 'nope' (have: msd)"),
        (["--recipe", '{"bogus": 1}'], "unexpected keyword argument 'bogus'"),
        (["--recipe", '{"head": "svm"}'], "unknown head 'svm' (lda or logistic)"),
        (["--features", '{"n_mel": 96}'], "unexpected keyword argument 'n_mel'"),
    ],
)
def test_bad_settings_are_usage_errors(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_dataset_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["--data", str(tmp_path / "no-4q"), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "no 4Q dataset at" in capsys.readouterr().err
