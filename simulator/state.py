"""Put a simulated device (or the site model) into a given state from plain data.

The snapshot tests keep each device's state in a JSON fixture (tests/fixtures/*.json);
`load_state` assigns it to the simulator objects, which then serve it over Modbus TCP as
usual. Only attributes the object already has can be set (a typo in a fixture fails
instead of being ignored), and a value must fit the attribute's current value:

- bool, int and str as they are; a float attribute also takes a JSON integer;
- a list for a list (each item like the first current item) or for a tuple of the same
  length (item by item);
- an object for a dict; for a dict whose current keys are ints the keys are parsed as
  integers ("0x80" works), otherwise they stay strings;
- any JSON scalar for an attribute that is None now (an unset override or time);
- an object for any other attribute (e.g. ``car``, ``car.config``): loaded into it.
"""

from collections.abc import Mapping
from typing import Any

_SCALARS = (bool, int, float, str)


def load_state(target: object, state: Mapping[str, Any]) -> None:
    """Assign ``state`` (attribute name → value) to ``target``, converted as described above."""
    for name, value in state.items():
        where = f"{type(target).__name__}.{name}"
        if name.startswith("_") or not hasattr(target, name):
            raise ValueError(f"{where}: no such attribute")
        current = getattr(target, name)
        if _is_object(current):
            if not isinstance(value, Mapping):
                raise TypeError(f"{where}: expected an object, got {value!r}")
            load_state(current, value)
        else:
            setattr(target, name, _convert(current, value, where))


def _is_object(value: object) -> bool:
    return value is not None and not isinstance(value, (*_SCALARS, list, tuple, dict))


def _convert(current: object, value: object, where: str) -> object:
    """``value`` converted to the type of ``current`` (TypeError if it does not fit)."""
    if current is None and (value is None or isinstance(value, _SCALARS)):
        return value
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(current, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(current, str):
        if isinstance(value, str):
            return value
    elif isinstance(current, tuple):
        if isinstance(value, list) and len(value) == len(current):
            return tuple(
                _convert(c, v, f"{where}[{i}]")
                for i, (c, v) in enumerate(zip(current, value, strict=True))
            )
    elif isinstance(current, list):
        if isinstance(value, list):
            if not current:
                return list(value)
            return [_convert(current[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    elif isinstance(current, dict) and isinstance(value, Mapping):
        int_keys = bool(current) and all(isinstance(k, int) for k in current)
        return {int(k, 0) if int_keys else k: v for k, v in value.items()}
    raise TypeError(f"{where}: {value!r} does not fit {type(current).__name__} {current!r}")
