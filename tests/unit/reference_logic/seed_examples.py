"""The seed document's selector examples (conformance/sources/002_*.txt) for the reference's tests.

The template says "Remove all comments before applying the configuration", so it appears twice: with
its comments (not valid JSON, must be rejected) and with them removed (must be accepted).
"""

from vnode_harness.testapi.fixtures import profile_fixture

# The selector examples: the single copy in fixtures/profiles/, which the conformance tests load too.
TEMPLATE_WITH_COMMENTS = profile_fixture("configuration-template-with-comments")["selectors"]
TEMPLATE = profile_fixture("configuration-template")["selectors"]
EXAMPLE_1 = profile_fixture("example-1-route-specific-pods")["selectors"]
EXAMPLE_2 = profile_fixture("example-2-gpu")["selectors"]
EXAMPLE_3 = profile_fixture("example-3-image-cache")["selectors"]
