package serving

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// UpgradeRefusal explains why going from one version to another is not
// allowed, or returns "".
func UpgradeRefusal(from, to string) string {
	f, errF := semver.StrictNewVersion(from)
	t, errT := semver.StrictNewVersion(to)
	if errF != nil || errT != nil {
		return ""
	}
	switch {
	case t.LessThan(f):
		return fmt.Sprintf("Knative Serving %s is installed; downgrading to %s is not supported (Knative does not support downgrades: "+
			"stored objects may use fields the older version does not know). Keep version = %q or uninstall first.", from, to, from)
	case t.Major() != f.Major() || t.Minor() > f.Minor()+1:
		next := fmt.Sprintf("%d.%d", f.Major(), f.Minor()+1)
		return fmt.Sprintf("Knative Serving upgrades one minor version at a time: from %s the next step is %s.x, not %s. "+
			"Apply version = %q first.", from, next, to, latestPatch(next))
	}
	return ""
}

func latestPatch(minor string) string {
	latest := minor + ".0"
	for _, v := range manifests.Versions() {
		if strings.HasPrefix(v, minor+".") {
			latest = v
		}
	}
	return latest
}
