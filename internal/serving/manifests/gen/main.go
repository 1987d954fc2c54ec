// Command gen copies the Knative Serving and networking layer release
// manifests this provider supports out of the knative.dev/operator module, which ships them in
// cmd/operator/kodata. Run through go generate in the manifests package.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// operatorModule ships the release YAMLs; it is not a dependency of the provider.
const operatorModule = "knative.dev/operator@v0.50.1"

// versions: the newest patch of each supported minor. The provider upgrades one
// minor at a time, so every minor between the oldest and newest must be here.
var versions = []string{"1.20.3", "1.21.3", "1.22.1", "1.23.0"}

// layers: the networking layers' release files, per ingress name.
var layers = map[string]string{
	"kourier":     "kourier.yaml",
	"istio":       "net-istio.yaml",
	"contour":     "net-contour.yaml",
	"gateway-api": "net-gateway-api.yaml",
}

func main() {
	cmd := exec.Command("go", "mod", "download", "-json", operatorModule)
	cmd.Env = append(os.Environ(), "GONOSUMDB=knative.dev", "GOFLAGS=-mod=mod")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("downloading %s: %v", operatorModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		log.Fatal(err)
	}
	kodata := filepath.Join(mod.Dir, "cmd", "operator", "kodata")

	if err := os.RemoveAll("data"); err != nil {
		log.Fatal(err)
	}
	copyFile(filepath.Join(mod.Dir, "LICENSE"), filepath.Join("data", "LICENSE"), "")
	for _, v := range versions {
		minor := v[:strings.LastIndex(v, ".")]
		header := fmt.Sprintf("# Copied from %s cmd/operator/kodata by internal/serving/manifests/gen; do not edit.\n", operatorModule)
		// The core file holds the CRDs too, so 1-serving-crds.yaml is not needed.
		copyFile(filepath.Join(kodata, "knative-serving", v, "2-serving-core.yaml"), filepath.Join("data", v, "serving-core.yaml"), header)
		for layer, file := range layers {
			copyFile(filepath.Join(kodata, "ingress", minor, layer, file), filepath.Join("data", v, layer+".yaml"), header)
		}
	}
}

func copyFile(from, to, header string) {
	data, err := os.ReadFile(from)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(to, append([]byte(header), bytes.TrimLeft(data, "\n")...), 0o644); err != nil {
		log.Fatal(err)
	}
}
