"""The demos' logic, shared by ``demos/*.py`` and ``tinygrad-lstm demo NAME``."""

DEMOS = ("tour", "vanishing", "exploding", "adding", "variants", "charlm", "rtrl")
