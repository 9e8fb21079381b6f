"""sevDesk's loosely typed values → Python values. The helpers live in sevbridge.common.normalize,
because the pull domain maps sevDesk's wire shape itself and the domain may not import adapters."""

from sevbridge.common.normalize import to_bool, to_decimal, to_id, to_int, to_str

__all__ = ["to_bool", "to_decimal", "to_id", "to_int", "to_str"]
