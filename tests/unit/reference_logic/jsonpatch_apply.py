"""A tiny RFC 6902 applier for the ``add`` operations the webhook emits (enough to test idempotence).

It is strict on purpose: the parent of every path must exist, as the API server requires.
"""

import copy
from typing import Any


def unescape_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_patch(document: Any, ops: Any) -> Any:
    result = copy.deepcopy(document)
    for op in ops:
        assert op["op"] == "add", op
        path = op["path"]
        assert path.startswith("/"), path
        *parents, last = [unescape_token(token) for token in path[1:].split("/")]
        target = result
        for token in parents:
            target = target[int(token)] if isinstance(target, list) else target[token]
        value = copy.deepcopy(op["value"])
        if isinstance(target, list):
            if last == "-":
                target.append(value)
            else:
                index = int(last)
                assert 0 <= index <= len(target)
                target.insert(index, value)
        else:
            assert isinstance(target, dict), (path, target)
            target[last] = value
    return result
