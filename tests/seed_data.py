"""The seed document's eci-profile as `kubectl get` shows it (conformance/sources/002_*.txt).

Test data shared by the reference's unit tests and the fuzz oracles, so neither suite reaches into the
other's package for it.
"""

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
