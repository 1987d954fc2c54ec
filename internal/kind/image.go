package kind

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/ociimage"
)

type file = ociimage.File

func imageOf(files map[string]file, cfg v1.Config) (v1.Image, error) {
	return ociimage.Of(files, "amd64", cfg)
}

// nonroot is the user Knative's images run as (ko's default, as numbers:
// Knative's pods set runAsNonRoot, which a user name cannot prove).
const nonroot = "65532:65532"

// baseFiles are what a static Go program needs around it: a passwd and group
// naming root and nonroot, nsswitch, and a world-writable /tmp.
func baseFiles() map[string]file {
	return map[string]file{
		"/etc/passwd":        {Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		"/etc/group":         {Data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		"/etc/nsswitch.conf": {Data: []byte("hosts: files dns\n")},
		"/tmp":               {Dir: true, Mode: 0o1777},
		"/home/nonroot":      {Dir: true},
	}
}

// programImage is an image of one static program at /ko-app/<name>, run as
// nonroot, as ko lays out Knative's release images.
func programImage(binary, programName string, args ...string) (v1.Image, error) {
	files := baseFiles()
	files["/ko-app/"+programName] = file{Source: binary, Mode: 0o755}
	return imageOf(files, v1.Config{
		Entrypoint: append([]string{"/ko-app/" + programName}, args...),
		User:       nonroot,
		Env:        []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin", "HOME=/home/nonroot"},
	})
}

var writeDockerArchive = ociimage.WriteDockerArchive
