from enum import StrEnum


class LiveError(StrEnum):
    BAD_FRAME = "live.bad_frame"  # not a JSON object, or a field of the wrong type
    UNKNOWN_OP = "live.unknown_op"
    NOT_VIEWING = "live.not_viewing"  # typing on a ticket the connection does not view
    TOO_FAST = "live.too_fast"
