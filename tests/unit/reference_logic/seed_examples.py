"""The seed document's examples (conformance/sources/002_*.txt) for the reference implementation's tests.

The template says "Remove all comments before applying the configuration", so it appears twice: with
its comments (not valid JSON, must be rejected) and with them removed (must be accepted).
"""

from vnode_harness.testkit.fixtures import profile_fixture

# The data section of `kubectl get cm -n kube-system eci-profile -o yaml` in the seed document.
SEED_KUBECTL_DATA = {
    "enableClusterIp": "true",
    "enableHybridMode": "false",
    "enableLinuxArm64Node": "false",
    "enableLogController": "false",
    "enablePVCController": "false",
    "enablePrivateZone": "false",
    "enableReuseSSLKey": "false",
    "featureGates": "WaitForFirstConsumer=false",
    "securityGroupId": "sg-2zeeyaaxlkq9sppl****",
    "selectors": "",
    "slsMachineGroup": "",
    "vSwitchIds": "vsw-2ze23nqzig8inprou****,vsw-2ze94pjtfuj9vaymf****",
    "vpcId": "vpc-2zeghwzptn5zii0w7****",
}

# The selector examples: the single copy in fixtures/profiles/, which the conformance tests load too.
TEMPLATE_WITH_COMMENTS = profile_fixture("configuration-template-with-comments")["selectors"]
TEMPLATE = profile_fixture("configuration-template")["selectors"]
EXAMPLE_1 = profile_fixture("example-1-route-specific-pods")["selectors"]
EXAMPLE_2 = profile_fixture("example-2-gpu")["selectors"]
EXAMPLE_3 = profile_fixture("example-3-image-cache")["selectors"]
