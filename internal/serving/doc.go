// Package serving is the engine both frontends share: the Terraform
// provider (provider/) and the Crossplane provider (internal/controller) are
// thin translations of their users' models into calls to it, and of its
// answers and errors (worded without either frontend's field names) back.
//
// Knative objects. A Kind (Service, Route, DomainMapping) is one lifecycle,
// the same for every frontend:
//
//   - Validate: Knative's own defaulting and validation from its types (the
//     webhook's rules), plus the Kubernetes rules Knative leaves to the API
//     server (kubernetes_rules.go), each error at its field path. Nothing
//     invalid is ever written. DryRunApply asks the cluster the same at plan
//     time (its admission webhooks, quotas, policies) and reads the refusal
//     back to field paths.
//   - PrepareCreate, Apply: an object of the name that exists must be
//     imported, one being deleted (and what Knative derived from it) is
//     waited for; then server-side apply of only the fields the user set,
//     forced, under the frontend's field manager.
//   - Observe, Compare: one GET; the live object reduced to the fields the
//     user set (Project), and the first difference as drift. Fields Knative
//     or other writers add are never drift. Adopt is an import's starting
//     point: the live object minus what Knative defaults.
//   - Judge, WaitReady: Knative's verdict on a generation (readiness.go),
//     from its duck-typed status and Ready condition: Pending, Ready, or
//     Failed with the failing sub-condition's reason.
//   - StartDelete, Delete: foreground deletion, then what foreground
//     deletion does not wait for (a Service's revisions).
//
// Claims hold the domains DomainMappings serve (ClusterDomainClaims).
//
// The runtime. Installer installs, observes, upgrades (one minor version at
// a time, pruning what the new release dropped and migrating stored
// versions), switches networking layers in place, and removes Knative
// Serving from release manifests embedded in manifests/ (desired.go turns
// them into the objects of a Spec: version, layer, replicas, registry; or no
// layer, for one the user brings, whose class config-network names). It
// checks a layer's prerequisites before writing anything and waits for
// CRDs, Deployments and the webhook (wait.go).
//
// The config maps. Config owns some keys of one knative-serving config map
// with a field manager of its own: keys the installer or anyone else owns
// are a conflict, never overwritten. ValidateConfig parses the keys with
// Knative's own parser of each map.
//
// Tests: the fast tier (go test -short) runs every branch of this package on
// internal/kube/kubetest's fake cluster; the acceptance tests of the
// frontends run the same against Knative.
package serving
