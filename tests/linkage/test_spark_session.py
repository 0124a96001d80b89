"""The local Spark JVM runs with `GUANLIAN_SPARK_JAVA_OPTIONS` (the throughput collector), and
Guanlian's UDF jar is built once into `GUANLIAN_SPARK_UDF_DIR`."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest

from linkage.resolve.spark import (
    JAVA_OPTIONS,
    JAVA_UDF_CLASS,
    SparkSettings,
    get_spark_settings,
    spark_session,
    udf_jar,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_the_local_jvm_gets_the_java_options_and_the_throughput_collector() -> None:
    spark = spark_session(2)
    jvm = spark._jvm.java.lang.management.ManagementFactory
    arguments = list(jvm.getRuntimeMXBean().getInputArguments())
    options = get_spark_settings().java_options.split()
    assert options, "the default keeps the options"
    for option in options:
        assert option in arguments
    # the collector really is the throughput one (its beans are "PS Scavenge", "PS MarkSweep")
    collectors = [bean.getName() for bean in jvm.getGarbageCollectorMXBeans()]
    assert any(name.startswith("PS ") for name in collectors), collectors
    assert not any(name.startswith("G1 ") for name in collectors), collectors


def test_the_java_options_can_be_emptied_for_the_jvm_defaults(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert SparkSettings().java_options == JAVA_OPTIONS
    monkeypatch.setenv("GUANLIAN_SPARK_JAVA_OPTIONS", "")
    assert SparkSettings().java_options == ""



def _fresh_udf_dir(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """`udf_jar` builds into `folder` (its cache and the settings' cache cleared)."""
    monkeypatch.setenv("GUANLIAN_SPARK_UDF_DIR", str(folder))
    get_spark_settings.cache_clear()
    udf_jar.cache_clear()


@pytest.fixture(autouse=True)
def _clear_caches() -> Iterator[None]:
    yield
    get_spark_settings.cache_clear()
    udf_jar.cache_clear()


def test_the_udf_jar_is_built_once_into_its_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fresh_udf_dir(monkeypatch, tmp_path)
    jar = udf_jar()
    assert jar is not None and Path(jar).parent == tmp_path
    assert JAVA_UDF_CLASS.replace(".", "/") + ".class" in zipfile.ZipFile(jar).namelist()
    assert [p.name for p in tmp_path.iterdir()] == [Path(jar).name]  # no work folder left
    stamp = os.stat(jar).st_mtime_ns
    udf_jar.cache_clear()
    assert udf_jar() == jar and os.stat(jar).st_mtime_ns == stamp  # reused, not rebuilt


def test_without_javac_there_is_no_jar_and_a_warning(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _fresh_udf_dir(monkeypatch, tmp_path)
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with caplog.at_level("WARNING", logger="linkage.resolve.spark"):
        assert udf_jar() is None
    assert "no javac" in caplog.text
    assert not list(tmp_path.iterdir())
