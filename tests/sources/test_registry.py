"""Every `kind` the config accepts has exactly one connector in the registry."""

import typing

from okr_pipeline.config.models import Source
from okr_pipeline.sources import CONNECTORS


def test_every_configured_kind_has_a_connector():
    models = typing.get_args(typing.get_args(Source)[0])
    kinds = {typing.get_args(model.model_fields["kind"].annotation)[0] for model in models}
    assert kinds == {"sql", "csv", "rest", "prometheus", "github", "jira", "targetprocess"}
    assert set(CONNECTORS) == kinds
