// Package ociimage makes container images in Go, from files, with
// go-containerregistry: no Docker, no Dockerfile.
package ociimage

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

// File is one entry of an image layer: a file copied from the machine
// (Source), a file with Data, a symlink (Link) or a directory (Dir).
type File struct {
	Source string
	Data   []byte
	Link   string
	Dir    bool
	Mode   int64
}

// epoch keeps layers' digests a function of their content alone.
var epoch = time.Unix(0, 0)

// Of is a single-layer linux/<arch> image of files (by path in the image)
// with cfg as its runtime configuration, made in Go without a Dockerfile:
// the Crossplane packages' runtime images, and the kind cluster's images.
func Of(files map[string]File, arch string, cfg v1.Config) (v1.Image, error) {
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
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}

// WriteDockerArchive writes images under their tags as one `docker save`
// archive, which `ctr images import` and `docker load` read.
func WriteDockerArchive(path string, images map[string]v1.Image) error {
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
