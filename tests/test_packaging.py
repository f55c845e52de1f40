"""The wheel carries resources/: MNIST loads from an installed copy, not from the source tree."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import gdplayground, sys
from gdplayground.data.mnist import bundled_mnist_dir, load_bundled_mnist
x_train, y_train, x_test, y_test = load_bundled_mnist()
print(gdplayground.__file__)
print(bundled_mnist_dir())
print(len(x_train), len(x_test))
"""


def test_installed_wheel_loads_mnist_from_its_own_copy(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("gdplayground-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "gdplayground/resources/mnist/train-images-idx3-ubyte.gz" in names
    assert "gdplayground/resources/mnist/README.md" in names  # provenance and licence travel too
    for shipped in ("tables/penguins.csv", "tables/auto-mpg.csv", "tables/README.md",
                    "lessons/your-own-table.toml", "lessons/your-own-table.md"):
        assert f"gdplayground/resources/{shipped}" in names
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(site), "PATH": ""})
    package, mnist_dir, counts = result.stdout.splitlines()
    assert package.startswith(str(site)) and mnist_dir.startswith(str(site))
    assert counts == "60000 10000"


def readme_commands() -> list[str]:
    """The commands of the README's first code block, without their comments."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_installs_into_a_virtual_environment_and_ci_runs_its_test_command():
    """Debian's and Ubuntu's system Python refuses a bare `pip install` (PEP 668): both commands
    make a virtual environment and run everything from it."""
    launch, test = readme_commands()
    for command in (launch, test):
        first, *rest = command.split(" && ")
        assert first == "python3 -m venv .venv"
        assert all(step.startswith(".venv/bin/") for step in rest), command
    assert launch.endswith(" && .venv/bin/gdplayground")
    assert ".venv/bin/python -m pip install \".[test]\"" in test
    assert test.endswith(" && .venv/bin/python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci  # CI runs exactly the README's test command
