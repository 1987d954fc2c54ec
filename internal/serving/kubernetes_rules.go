package serving

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"knative.dev/pkg/apis"
)

// Knative's validation leaves some of the API server's own rules to the API
// server, or to the moment Knative creates a revision's Deployment: names,
// labels and annotations, environment variable names, resource quantities,
// the names of referenced Secrets and ConfigMaps. kubernetesRules checks them
// with apimachinery's validation, the API server's code, so they fail before
// anything is written, offline. Paths are the object's field paths, as
// Knative's own errors have them.

// nameRule validates an object's name: Services and Routes name the
// Kubernetes Services Knative makes for them, which must be DNS-1035 labels.
type nameRule func(name string, prefix bool) []string

func kubernetesRules(obj map[string]any, name nameRule) *apis.FieldError {
	var errs field.ErrorList
	meta, _ := obj["metadata"].(map[string]any)
	metaPath := field.NewPath("metadata")
	if n, _ := meta["name"].(string); name != nil {
		for _, msg := range name(n, false) {
			errs = append(errs, field.Invalid(metaPath.Child("name"), n, msg))
		}
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		for _, msg := range apivalidation.ValidateNamespaceName(ns, false) {
			errs = append(errs, field.Invalid(metaPath.Child("namespace"), ns, msg))
		}
	}
	errs = append(errs, metadataRules(meta, metaPath)...)
	spec, _ := obj["spec"].(map[string]any)
	if template, ok := spec["template"].(map[string]any); ok {
		templatePath := field.NewPath("spec", "template")
		templateMeta, _ := template["metadata"].(map[string]any)
		errs = append(errs, metadataRules(templateMeta, templatePath.Child("metadata"))...)
		podSpec, _ := template["spec"].(map[string]any)
		errs = append(errs, podSpecRules(podSpec, templatePath.Child("spec"))...)
	}
	// A DomainMapping's TLS Secret.
	if tls, ok := spec["tls"].(map[string]any); ok {
		if secret, ok := tls["secretName"].(string); ok {
			for _, msg := range validation.IsDNS1123Subdomain(secret) {
				errs = append(errs, field.Invalid(field.NewPath("spec", "tls", "secretName"), secret, msg))
			}
		}
	}
	return fieldErrors(errs)
}

func metadataRules(meta map[string]any, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	if labels := stringMap(meta["labels"]); labels != nil {
		errs = append(errs, metav1validation.ValidateLabels(labels, at.Child("labels"))...)
	}
	if annotations := stringMap(meta["annotations"]); annotations != nil {
		errs = append(errs, apivalidation.ValidateAnnotations(annotations, at.Child("annotations"))...)
	}
	return errs
}

func podSpecRules(spec map[string]any, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	subdomain := func(p *field.Path, v any) {
		if s, ok := v.(string); ok {
			for _, msg := range validation.IsDNS1123Subdomain(s) {
				errs = append(errs, field.Invalid(p, s, msg))
			}
		}
	}
	label := func(p *field.Path, v any) {
		if s, ok := v.(string); ok {
			for _, msg := range validation.IsDNS1123Label(s) {
				errs = append(errs, field.Invalid(p, s, msg))
			}
		}
	}
	subdomain(at.Child("serviceAccountName"), spec["serviceAccountName"])
	if selector := stringMap(spec["nodeSelector"]); selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(selector, at.Child("nodeSelector"))...)
	}
	for i, s := range items(spec["imagePullSecrets"]) {
		subdomain(at.Child("imagePullSecrets").Index(i).Child("name"), s["name"])
	}
	for i, v := range items(spec["volumes"]) {
		p := at.Child("volumes").Index(i)
		label(p.Child("name"), v["name"])
		if secret, ok := v["secret"].(map[string]any); ok {
			subdomain(p.Child("secret", "secretName"), secret["secretName"])
		}
		if cm, ok := v["configMap"].(map[string]any); ok {
			subdomain(p.Child("configMap", "name"), cm["name"])
		}
		if dir, ok := v["emptyDir"].(map[string]any); ok {
			errs = append(errs, quantity(p.Child("emptyDir", "sizeLimit"), dir["sizeLimit"])...)
		}
	}
	for i, c := range items(spec["containers"]) {
		p := at.Child("containers").Index(i)
		if c["name"] != nil {
			label(p.Child("name"), c["name"])
		}
		for j, env := range items(c["env"]) {
			ep := p.Child("env").Index(j)
			if name, _ := env["name"].(string); name != "" {
				for _, msg := range validation.IsRelaxedEnvVarName(name) {
					errs = append(errs, field.Invalid(ep.Child("name"), name, msg))
				}
			}
			from, _ := env["valueFrom"].(map[string]any)
			if value, _ := env["value"].(string); value != "" && from != nil {
				errs = append(errs, field.Invalid(ep.Child("valueFrom"), "", "may not be specified when `value` is not empty"))
			}
			for _, ref := range []string{"secretKeyRef", "configMapKeyRef"} {
				if r, ok := from[ref].(map[string]any); ok {
					subdomain(ep.Child("valueFrom", ref, "name"), r["name"])
					if key, ok := r["key"].(string); ok {
						for _, msg := range validation.IsConfigMapKey(key) {
							errs = append(errs, field.Invalid(ep.Child("valueFrom", ref, "key"), key, msg))
						}
					}
				}
			}
		}
		for j, from := range items(c["envFrom"]) {
			fp := p.Child("envFrom").Index(j)
			for _, ref := range []string{"secretRef", "configMapRef"} {
				if r, ok := from[ref].(map[string]any); ok {
					subdomain(fp.Child(ref, "name"), r["name"])
				}
			}
		}
		resources, _ := c["resources"].(map[string]any)
		for _, kind := range []string{"limits", "requests"} {
			for name, v := range asMap(resources[kind]) {
				rp := p.Child("resources", kind).Key(name)
				for _, msg := range validation.IsQualifiedName(name) {
					errs = append(errs, field.Invalid(rp, name, msg))
				}
				errs = append(errs, quantity(rp, v)...)
			}
		}
		for j, port := range items(c["ports"]) {
			if n, ok := port["containerPort"].(int64); ok {
				for _, msg := range validation.IsValidPortNum(int(n)) {
					errs = append(errs, field.Invalid(p.Child("ports").Index(j).Child("containerPort"), n, msg))
				}
			}
		}
	}
	return errs
}

func quantity(at *field.Path, v any) field.ErrorList {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return field.ErrorList{field.Invalid(at, s, "must be a Kubernetes quantity, such as 500m, 1, 256Mi or 1Gi")}
	}
	// The API server's ValidateNonnegativeQuantity, for resources and sizes.
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(at, s, "must be greater than or equal to 0")}
	}
	return nil
}

// fieldErrors turns apimachinery's errors into Knative's, so both report
// alike: a message and the field path.
func fieldErrors(errs field.ErrorList) *apis.FieldError {
	var out *apis.FieldError
	for _, e := range errs {
		path := e.Field
		// apimachinery writes map keys as [key]; Knative as .key, which is how
		// the frontends map paths to their attributes.
		path = strings.ReplaceAll(strings.ReplaceAll(path, "[", "."), "]", "")
		path = indexesBack(path)
		out = out.Also(&apis.FieldError{Message: e.ErrorBody(), Paths: []string{path}})
	}
	return out
}

// indexesBack restores list indexes (.0 -> [0]) after fieldErrors flattened
// brackets.
func indexesBack(path string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" && i > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func items(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, item := range list {
		m, _ := item.(map[string]any)
		out = append(out, m)
	}
	return out
}
