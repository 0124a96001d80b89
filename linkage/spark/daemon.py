"""PySpark's Python worker daemon with the project's worker-side modules imported once.

Spark starts one daemon per executor (`spark.python.daemon.module`, set by
`linkage.resolve.spark.spark_session`) and forks a Python worker from it for each concurrent
task of a pandas / Arrow UDF; a worker is reused while busy, but one that idles is ended, and
the next stage forks a fresh one. Importing pandas, pyarrow and the linkage code a UDF runs
costs seconds per worker (4-6 s each on a loaded 2-core machine); imported here, before the
daemon starts forking, every worker inherits them. Nothing is printed: the daemon's stdout
carries its port to the JVM.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    import linkage.extract  # noqa: F401
    import linkage.resolve.outputs  # noqa: F401
    import linkage.rowmap  # noqa: F401
    import linkage.spark.ids  # noqa: F401
    import linkage.spark.ingest  # noqa: F401
    import linkage.spark.outputs  # noqa: F401
    import linkage.spark.resolve  # noqa: F401

from pyspark import daemon

if __name__ == "__main__":
    daemon.manager()
