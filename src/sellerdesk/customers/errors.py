from enum import StrEnum


class CustomerError(StrEnum):
    NOT_FOUND = "customer.not_found"
    MERGE_SELF = "customer.merge_self"
    ALREADY_MERGED = "customer.already_merged"
