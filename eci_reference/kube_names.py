"""Kubernetes name syntax (apimachinery/pkg/util/validation), as the profile's selectors need it.

A selector's name becomes a ``vk-webhook`` entry name, and its labels and annotations are written
onto pods: a name the API server would refuse must be reported in the profile, not at admission.
"""

from __future__ import annotations

import re
from typing import Final

NAME_MAX: Final = 63
SUBDOMAIN_MAX: Final = 253
DNS1123_RULE: Final = (
    "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters) because it becomes a vk-webhook entry name"
)
LABEL_KEY_RULE: Final = (
    "(an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending alphanumeric)"
)
LABEL_VALUE_RULE: Final = (
    "is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending "
    "alphanumeric)"
)
DNS1123_LABEL_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS1123_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME_PART: Final = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE: Final = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def is_qualified_name(text: str) -> bool:
    """A label or annotation key: an optional DNS-1123 subdomain prefix and '/', then a name part."""
    prefix, slash, name = text.rpartition("/")
    if slash and not (
        0 < len(prefix) <= SUBDOMAIN_MAX and _DNS1123_SUBDOMAIN.fullmatch(prefix) and "/" not in prefix
    ):
        return False
    return 0 < len(name) <= NAME_MAX and _QUALIFIED_NAME_PART.fullmatch(name) is not None


def is_label_value(text: str) -> bool:
    """A label value: empty, or at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends."""
    return len(text) <= NAME_MAX and _LABEL_VALUE.fullmatch(text) is not None
