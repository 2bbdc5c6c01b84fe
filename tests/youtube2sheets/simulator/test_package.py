"""The package's public surface stays exact."""

from __future__ import annotations

import types

from youtube2sheets import simulator


def test_the_public_surface_is_exact() -> None:
    public = {
        name
        for name, value in vars(simulator).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert (
        public == set(simulator.__all__) == {"Catalogue", "Channel", "SimulatorConfig", "Video", "create_app"}
    )
    assert simulator.__all__ == sorted(simulator.__all__)
