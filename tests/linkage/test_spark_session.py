"""The local Spark JVM runs with `GUANLIAN_SPARK_JAVA_OPTIONS` (the throughput collector)."""

from __future__ import annotations

import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest

from linkage.resolve.spark import JAVA_OPTIONS, SparkSettings, get_spark_settings, spark_session

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
