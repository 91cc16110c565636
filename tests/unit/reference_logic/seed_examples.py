"""The seed document's examples (conformance/sources/002_*.txt), verbatim except for the template's comments.

The template says "Remove all comments before applying the configuration", so it appears twice: with
its comments (not valid JSON, must be rejected) and with them removed (must be accepted).
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

TEMPLATE_WITH_COMMENTS = """\
[
  {
    "name": "selector-demo1",            # Required. Unique selector name.
    "namespaceSelector": {               # Optional. Matches by namespace labels.
      "matchLabels": {                   # AND logic across multiple labels.
        "eci": "true"
      }
    },
    "objectSelector": {                  # Optional. Matches by pod labels.
      "matchLabels": {                   # AND logic across multiple labels.
        "eci": "true"
      }
    },
    "effect": {                          # Optional. Annotations and labels to inject.
      "annotations": {
        "k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge"
      },
      "labels": {
        "created-by-eci": "true"
      }
    }
  },
  {
    "name": "selector-demo2",
    "objectSelector": {
      "matchLabels": {
        "eci": "test"
      }
    }
  }
]
"""

TEMPLATE = """\
[
  {
    "name": "selector-demo1",
    "namespaceSelector": {
      "matchLabels": {
        "eci": "true"
      }
    },
    "objectSelector": {
      "matchLabels": {
        "eci": "true"
      }
    },
    "effect": {
      "annotations": {
        "k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge"
      },
      "labels": {
        "created-by-eci": "true"
      }
    }
  },
  {
    "name": "selector-demo2",
    "objectSelector": {
      "matchLabels": {
        "eci": "test"
      }
    }
  }
]
"""

EXAMPLE_1 = """\
[
  {
    "name":"eci-selector",
    "namespaceSelector":{
      "matchLabels":{
        "type":"eci"
      }
    },
    "objectSelector":{
      "matchLabels":{
        "created-by-eci":"true"
      }
    }
  }
]
"""

EXAMPLE_2 = """\
[
  {
    "name":"gpu-namespace-selector",
    "namespaceSelector":{
      "matchLabels":{
        "gpu":"true"
      }
    },
    "effect": {
      "annotations": {
        "k8s.aliyun.com/eci-use-specs":"ecs.gn6v-c8g1.2xlarge"
      },
      "labels":{
        "gpu":"test"
      }
    }
  }
]
"""

EXAMPLE_3 = """\
[
  {
    "name":"autoimc-object-selector",
    "objectSelector":{
      "matchLabels":{
        "imc":"auto"
      }
    },
    "effect": {
      "annotations": {
        "k8s.aliyun.com/eci-auto-imc": "true"
      }
    }
  }
]
"""
