"""The object stand-in of :mod:`sat_backend.core.lazy_import`: nothing is made before
the first attribute read, and only once."""

from __future__ import annotations

from sat_backend.core.lazy_import import lazy_instance


class Made:
    def __init__(self, value: int) -> None:
        self.value = value

    def twice(self) -> int:
        return 2 * self.value


def test_a_lazy_instance_is_made_at_the_first_attribute_read_and_only_once() -> None:
    made: list[Made] = []

    def make() -> Made:
        made.append(Made(21))
        return made[-1]

    stand_in = lazy_instance(make)
    assert made == []
    assert stand_in.twice() == 42
    assert stand_in.value == 21
    assert len(made) == 1

