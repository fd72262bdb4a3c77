"""The one thing pyproject.toml cannot say: the optional C fast path of the codec (pmip6.wire.accelerator).

``optional=True``: without a C compiler the build goes on and pmip6 runs in pure Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pmip6.wire._speedups", ["src/pmip6/wire/_speedups.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"])])
