package kind

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// file is one entry of an image layer: a file copied from the machine
// (Source), a file with Data, a symlink (Link) or a directory (Dir).
type file struct {
	Source string
	Data   []byte
	Link   string
	Dir    bool
	Mode   int64
}

// epoch keeps layers' digests a function of their content alone.
var epoch = time.Unix(0, 0)

// imageOf is a single-layer linux/amd64 image of files (by path in the image)
// with cfg as its runtime configuration: the images of the node's control
// plane, Knative's components, Traefik and the test app, made in Go without
// a Dockerfile.
func imageOf(files map[string]file, cfg v1.Config) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	written := map[string]bool{}
	var writeDirs func(dir string) error
	writeDirs = func(dir string) error {
		if dir == "." || dir == "/" || written[dir] {
			return nil
		}
		if err := writeDirs(path.Dir(dir)); err != nil {
			return err
		}
		written[dir] = true
		return tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch})
	}
	for _, p := range paths {
		f := files[p]
		name := path.Clean(p)[1:] // image paths are absolute
		if err := writeDirs(path.Dir(name)); err != nil {
			return nil, err
		}
		switch {
		case f.Dir:
			mode := f.Mode
			if mode == 0 {
				mode = 0o755
			}
			written[name] = true
			if err := tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: mode, ModTime: epoch}); err != nil {
				return nil, err
			}
		case f.Link != "":
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: f.Link, Mode: 0o777, ModTime: epoch}); err != nil {
				return nil, err
			}
		default:
			data := f.Data
			mode := f.Mode
			if f.Source != "" {
				var err error
				if data, err = os.ReadFile(f.Source); err != nil {
					return nil, err
				}
				if mode == 0 {
					info, err := os.Stat(f.Source)
					if err != nil {
						return nil, err
					}
					mode = int64(info.Mode().Perm())
				}
			}
			if mode == 0 {
				mode = 0o644
			}
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
				return nil, err
			}
			if _, err := tw.Write(data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
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

// writeDockerArchive writes images under their tags as one `docker save`
// archive, which `ctr images import` and `docker load` read.
func writeDockerArchive(path string, images map[string]v1.Image) error {
	refs := map[name.Tag]v1.Image{}
	for ref, img := range images {
		tag, err := name.NewTag(ref)
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		refs[tag] = img
	}
	return tarball.MultiWriteToFile(path, refs)
}
