// Command kindconfig-check validates kind cluster configuration files with kind's own code, without Docker.
//
// For each file it does what `kind create cluster --config FILE --image IMAGE --name NAME` does before it
// touches a container:
//
//  1. strict decoding into kind's published v1alpha4 types (go.yaml.in/yaml/v3 with KnownFields, the
//     decoder kind itself uses), so an unknown or misspelt field is an error;
//  2. kind's own defaulting, conversion and validation (an internal package of kind, reachable only
//     through its public create API): the create path runs against a stand-in `docker` (this same binary,
//     called through a symlink named docker) that answers `info`, `ps` and `inspect` like an empty
//     Docker Engine and refuses everything else. kind logs "Creating cluster" only after validation
//     succeeded, and the first refused command is the network set-up that follows it.
//
// Output: one JSON object per file on stdout ({file, validated, error, stoppedAt, cluster}); exit status 1
// when any file is invalid, 2 on usage errors.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/log"
)

const (
	stubName       = "docker"
	refusalMarker  = "kindconfig-check: stand-in docker refused"
	refusedLogEnv  = "KINDCONFIG_CHECK_REFUSED_LOG"
	createdMessage = "Creating cluster"
)

type result struct {
	File      string            `json:"file"`
	Validated bool              `json:"validated"`
	Error     string            `json:"error,omitempty"`
	StoppedAt string            `json:"stoppedAt,omitempty"`
	Cluster   *v1alpha4.Cluster `json:"cluster,omitempty"`
}

func main() {
	if filepath.Base(os.Args[0]) == stubName {
		os.Exit(standInDocker(os.Args[1:]))
	}
	os.Exit(run()) // not inside run: deferred clean-up must happen before the exit
}

func run() int {
	image := flag.String("image", "", "node image, as passed to kind create cluster --image (required)")
	name := flag.String("name", "vnode-config-check", "cluster name, as passed to kind create cluster --name")
	flag.Parse()
	if *image == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: kindconfig-check --image IMAGE [--name NAME] CONFIG.yaml...")
		return 2
	}
	stubDir, err := installStandInDocker()
	if stubDir != "" {
		defer os.RemoveAll(stubDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	failed := false
	encoder := json.NewEncoder(os.Stdout)
	for _, path := range flag.Args() {
		r := check(path, *image, *name, stubDir)
		failed = failed || !r.Validated
		if err := encoder.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	if failed {
		return 1
	}
	return 0
}

func check(path, image, name, stubDir string) result {
	r := result{File: path}
	raw, err := os.ReadFile(path)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	decoded, err := strictDecode(raw)
	if err != nil {
		r.Error = "strict decoding: " + err.Error()
		return r
	}
	v1alpha4.SetDefaultsCluster(decoded)
	for i := range decoded.Nodes {
		decoded.Nodes[i].Image = image // what --image does to every node
	}
	r.Cluster = decoded

	refusedLog := filepath.Join(stubDir, "refused-"+filepath.Base(path)+".log")
	if err := os.Setenv(refusedLogEnv, refusedLog); err != nil {
		r.Error = err.Error()
		return r
	}

	logger := &recordingLogger{}
	provider := cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(logger))
	err = provider.Create(
		name,
		cluster.CreateWithConfigFile(path),
		cluster.CreateWithNodeImage(image),
		cluster.CreateWithKubeconfigPath(filepath.Join(stubDir, "kubeconfig")),
		cluster.CreateWithRetain(true),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	switch {
	case err == nil:
		r.Error = "kind created a cluster against the stand-in docker: the check is broken"
	case logger.saw(createdMessage) && refused(refusedLog) != "":
		r.Validated = true
		r.StoppedAt = refused(refusedLog)
	default:
		r.Error = "kind validation: " + err.Error()
	}
	return r
}

// strictDecode mirrors kind's encoding.Parse for kind.x-k8s.io/v1alpha4 (pkg/internal/apis/config/encoding).
func strictDecode(raw []byte) (*v1alpha4.Cluster, error) {
	meta := v1alpha4.TypeMeta{}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("could not determine kind / apiVersion: %w", err)
	}
	if meta.APIVersion != "kind.x-k8s.io/v1alpha4" || meta.Kind != "Cluster" {
		return nil, fmt.Errorf("want apiVersion kind.x-k8s.io/v1alpha4 and kind Cluster, got %q %q", meta.APIVersion, meta.Kind)
	}
	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	decoder.KnownFields(true)
	cfg := &v1alpha4.Cluster{}
	if err := decoder.Decode(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func installStandInDocker() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "kindconfig-check-")
	if err != nil {
		return "", err
	}
	if err := os.Symlink(self, filepath.Join(dir, stubName)); err != nil {
		return dir, err
	}
	// Only the stand-in: a real Docker Engine on this machine must never be touched by a check.
	return dir, os.Setenv("PATH", dir)
}

// standInDocker answers like an empty, healthy cgroup v2 Docker Engine until kind asks it to change anything.
func standInDocker(args []string) int {
	verb := ""
	if len(args) > 0 {
		verb = args[0]
	}
	switch verb {
	case "info":
		fmt.Println(`{"CgroupDriver":"systemd","CgroupVersion":"2","MemoryLimit":true,"PidsLimit":true,"CPUShares":true,"SecurityOptions":["name=seccomp,profile=builtin","name=cgroupns"]}`)
		return 0
	case "ps":
		return 0 // no containers: no cluster of that name exists yet
	case "inspect":
		return 0 // the node image is "present", so nothing is pulled
	}
	command := "docker " + strings.Join(args, " ")
	fmt.Fprintf(os.Stderr, "%s %s\n", refusalMarker, command)
	if log := os.Getenv(refusedLogEnv); log != "" {
		if f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintln(f, command)
			f.Close()
		}
	}
	return 1
}

// refused is the first command the stand-in docker refused, or "" when it refused none.
func refused(log string) string {
	data, err := os.ReadFile(log)
	if err != nil {
		return ""
	}
	return firstLine(strings.TrimSpace(string(data)))
}

type recordingLogger struct {
	mu       sync.Mutex
	messages []string
}

func (l *recordingLogger) record(message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.messages = append(l.messages, message)
}

func (l *recordingLogger) saw(fragment string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, message := range l.messages {
		if strings.Contains(message, fragment) {
			return true
		}
	}
	return false
}

func (l *recordingLogger) Warn(message string) { l.record(message) }
func (l *recordingLogger) Warnf(format string, args ...interface{}) {
	l.record(fmt.Sprintf(format, args...))
}
func (l *recordingLogger) Error(message string) { l.record(message) }
func (l *recordingLogger) Errorf(format string, args ...interface{}) {
	l.record(fmt.Sprintf(format, args...))
}
func (l *recordingLogger) V(log.Level) log.InfoLogger { return infoLogger{l} }

type infoLogger struct{ parent *recordingLogger }

func (i infoLogger) Info(message string) { i.parent.record(message) }
func (i infoLogger) Infof(format string, args ...interface{}) {
	i.parent.record(fmt.Sprintf(format, args...))
}
func (i infoLogger) Enabled() bool { return true }

func firstLine(text string) string {
	return strings.SplitN(text, "\n", 2)[0]
}
