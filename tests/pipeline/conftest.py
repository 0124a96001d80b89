"""Shared fixtures of the pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.synth import generate
from pipeline.run import Neo4jTarget
from tests.conftest import Neo4jSettings


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated tiny agency data set's sources.yaml."""
    return generate("tiny", 7, tmp_path_factory.mktemp("data")) / "sources.yaml"


@pytest.fixture
def neo4j_target(neo4j_settings: Neo4jSettings) -> Neo4jTarget:
    """The test server as a pipeline's publishing target."""
    return Neo4jTarget(uri=neo4j_settings.uri, user=neo4j_settings.user,
                       password=neo4j_settings.password)
