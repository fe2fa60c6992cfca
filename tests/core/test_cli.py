"""The command-line tools shared by every capability."""


def test_demo_seed_prints_links(runner):
    result = runner.invoke(args=["demo", "seed", "--base-url", "http://127.0.0.1:5999"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5999/" in result.output


def test_translate_group_is_available(runner):
    result = runner.invoke(args=["translate", "--help"])
    assert result.exit_code == 0
    for command in ("extract", "update", "compile", "init", "fill"):
        assert command in result.output
