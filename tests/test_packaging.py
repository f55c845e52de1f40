"""The wheel carries resources/: MNIST loads from an installed copy, not from the source tree."""

import subprocess
import sys
import zipfile

SCRIPT = """
import gdplayground, sys
from gdplayground.data.mnist import bundled_mnist_dir, load_bundled_mnist
x_train, y_train, x_test, y_test = load_bundled_mnist()
print(gdplayground.__file__)
print(bundled_mnist_dir())
print(len(x_train), len(x_test))
"""


def test_installed_wheel_loads_mnist_from_its_own_copy(tmp_path):
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(tmp_path / "dist"), str(root)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("gdplayground-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "gdplayground/resources/mnist/train-images-idx3-ubyte.gz" in names
    assert "gdplayground/resources/mnist/README.md" in names  # provenance and licence travel too
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(site), "PATH": ""})
    package, mnist_dir, counts = result.stdout.splitlines()
    assert package.startswith(str(site)) and mnist_dir.startswith(str(site))
    assert counts == "60000 10000"
