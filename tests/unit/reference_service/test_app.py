"""The command line: both modes, every usage error and its message; options; log lines."""

import json
import logging
import tempfile
from pathlib import Path

import pytest

from eci_reference.app import default_profile_data
from eci_reference.certs import ServingNames
from eci_reference.cloud import load_cloud_config
from eci_reference.logs import JsonLineFormatter
from eci_reference.options import Options, parse_args, parse_listen
from eci_reference.profile import DEFAULT_PROFILE_DATA, parse_profile
from eci_reference.webhook_config import ServiceEndpoint, UrlEndpoint

HOST_ARGS = ["--kubeconfig", "kc.yaml", "--listen", "127.0.0.1:18443", "--workdir", "work"]
CLUSTER_ARGS = [
    "--in-cluster",
    "--listen",
    "0.0.0.0:8443",
    "--service-name",
    "eci-reference",
    "--service-namespace",
    "kube-system",
]


def usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as caught:
        parse_args(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err


def url_of(options: Options) -> str:
    """The webhook URL of a host-process endpoint."""
    endpoint = options.endpoint()
    assert isinstance(endpoint, UrlEndpoint), endpoint
    return endpoint.url


def test_host_process_mode():
    options = parse_args(HOST_ARGS)
    assert options == Options(
        listen_host="127.0.0.1", listen_port=18443, workdir=Path("work"), kubeconfig=Path("kc.yaml")
    )
    assert not options.in_cluster
    assert options.endpoint() == UrlEndpoint(host="127.0.0.1", port=18443)
    assert url_of(options) == "https://127.0.0.1:18443/mutate"
    assert options.serving_names() == ServingNames.for_host("127.0.0.1")


def test_in_cluster_mode():
    options = parse_args([*CLUSTER_ARGS, "--log-level", "DEBUG", "--cloud-config", "c.yaml"])
    assert options.in_cluster
    assert options.kubeconfig is None
    assert options.listen_host == "0.0.0.0"
    assert options.endpoint() == ServiceEndpoint(namespace="kube-system", name="eci-reference", port=443)
    assert options.serving_names() == ServingNames.for_service("eci-reference", "kube-system")
    assert options.workdir == Path(tempfile.gettempdir()) / "eci-reference"
    assert options.log_level == "debug"
    assert options.cloud_config == Path("c.yaml")


def test_in_cluster_service_port():
    assert parse_args([*CLUSTER_ARGS, "--service-port", "9443"]).endpoint().port == 9443


def test_wildcard_listen_in_host_mode_is_dialled_on_loopback():
    options = parse_args([*HOST_ARGS[:2], "--listen", "0.0.0.0:9000", "--workdir", "w"])
    assert url_of(options) == "https://127.0.0.1:9000/mutate"
    options = parse_args([*HOST_ARGS[:2], "--listen", "[::]:9000", "--workdir", "w"])
    assert url_of(options) == "https://[::1]:9000/mutate"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8443", ("127.0.0.1", 8443)),
        ("localhost:1", ("localhost", 1)),
        ("[::1]:65535", ("::1", 65535)),
        ("0.0.0.0:8443", ("0.0.0.0", 8443)),
    ],
)
def test_listen_forms(text, expected):
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8443", "expected HOST:PORT"),
        (":8443", "expected HOST:PORT"),
        ("host:", "port must be a number from 1 to 65535"),
        ("host:0", "port must be a number from 1 to 65535"),
        ("host:65536", "port must be a number from 1 to 65535"),
        ("host:https", "port must be a number"),
        ("::1:8443", "needs brackets"),
        ("[nope]:8443", "is not an IPv6 address"),
    ],
)
def test_listen_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_listen(text)


def test_listen_error_is_a_usage_error(capsys):
    assert "--listen: expected HOST:PORT" in usage_error(
        [*HOST_ARGS[:2], "--listen", "8443", "--workdir", "w"], capsys
    )


def test_a_mode_is_required(capsys):
    assert "one of the arguments --kubeconfig --in-cluster is required" in usage_error(
        ["--listen", "127.0.0.1:1"], capsys
    )


def test_modes_exclude_each_other(capsys):
    assert "not allowed with argument" in usage_error([*HOST_ARGS, "--in-cluster"], capsys)


def test_listen_is_required(capsys):
    assert "--listen" in usage_error(["--kubeconfig", "kc"], capsys)


def test_in_cluster_needs_the_service(capsys):
    message = usage_error(["--in-cluster", "--listen", "0.0.0.0:8443"], capsys)
    assert "--in-cluster needs --service-name and --service-namespace" in message
    message = usage_error(["--in-cluster", "--listen", "0.0.0.0:8443", "--service-name", "x"], capsys)
    assert "--in-cluster needs --service-namespace" in message


def test_in_cluster_service_port_range(capsys):
    assert "--service-port must be from 1 to 65535" in usage_error(
        [*CLUSTER_ARGS, "--service-port", "0"], capsys
    )


def test_service_flags_only_in_cluster(capsys):
    message = usage_error([*HOST_ARGS, "--service-name", "x"], capsys)
    assert "--service-name only apply with --in-cluster" in message


def test_host_mode_needs_a_workdir(capsys):
    message = usage_error(["--kubeconfig", "kc", "--listen", "127.0.0.1:1"], capsys)
    assert "--workdir is required with --kubeconfig" in message


def test_log_level_choices(capsys):
    assert "invalid choice: 'loud'" in usage_error([*HOST_ARGS, "--log-level", "loud"], capsys)


def test_default_profile_uses_the_clouds_vswitches():
    data = default_profile_data(load_cloud_config())
    assert data["vSwitchIds"] == "vsw-hz-i,vsw-hz-j"
    assert {key: value for key, value in data.items() if key != "vSwitchIds"} == {
        key: value for key, value in DEFAULT_PROFILE_DATA.items() if key != "vSwitchIds"
    }
    parse_profile(data)  # valid


def record(message, *args, exc_info=None):
    return logging.LogRecord("eci_reference.test", logging.INFO, __file__, 1, message, args, exc_info)


def test_log_lines_are_one_json_object_each():
    line = JsonLineFormatter().format(record("hello %s\nworld", "there"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "hello there\nworld"
    assert entry["level"] == "info"
    assert entry["logger"] == "eci_reference.test"
    assert entry["ts"].endswith("+00:00")


def test_json_messages_are_embedded_as_fields():
    entry = json.loads(JsonLineFormatter().format(record("%s", json.dumps({"eci": True, "ops": 3}))))
    assert entry["fields"] == {"eci": True, "ops": 3}
    assert "msg" not in entry
    assert json.loads(JsonLineFormatter().format(record("{not json}")))["msg"] == "{not json}"


def test_exceptions_stay_on_the_line():
    error = RuntimeError("boom")
    line = JsonLineFormatter().format(record("failed", exc_info=(RuntimeError, error, None)))
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exc"]
