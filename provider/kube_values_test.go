package provider

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestKubeName(t *testing.T) {
	for attribute, want := range map[string]string{
		"image": "image", "read_only": "readOnly", "config_map_key_ref": "configMapKeyRef",
		"read_only_root_filesystem": "readOnlyRootFilesystem", "http_get": "httpGet",
	} {
		if got := kubeName(attribute); got != want {
			t.Errorf("kubeName(%q) = %q, want %q", attribute, got, want)
		}
	}
}

func TestKubeValuesRoundTrip(t *testing.T) {
	containerType := templateTypes["containers"]
	mountType := containerType.(types.ListType).ElemType.(types.ObjectType).AttrTypes["volume_mounts"].(types.ListType).ElemType.(types.ObjectType)
	mount := func(readOnly types.Bool) attr.Value {
		return types.ObjectValueMust(mountType.AttrTypes, map[string]attr.Value{
			"name": types.StringValue("cache"), "mount_path": types.StringValue("/cache"), "read_only": readOnly, "sub_path": types.StringNull(),
		})
	}
	mounts := types.ListValueMust(mountType, []attr.Value{mount(types.BoolValue(false))})

	kube, ok := toKube(mounts)
	if want := []any{map[string]any{"name": "cache", "mountPath": "/cache", "readOnly": false}}; !ok || !reflect.DeepEqual(kube, want) {
		t.Fatalf("toKube = %#v, want %#v (null attributes left out)", kube, want)
	}
	// The API server omits readOnly: false. What the user set reads back as set.
	omitted := []any{map[string]any{"name": "cache", "mountPath": "/cache"}}
	if got := fromKube(mounts.Type(context.TODO()), omitted, mounts); !got.Equal(mounts) {
		t.Errorf("omitted zero value: got %v, want %v", got, mounts)
	}
	// Without a prior value (import) it is unset.
	if got := fromKube(mounts.Type(context.TODO()), omitted, nil); !got.Equal(types.ListValueMust(mountType, []attr.Value{mount(types.BoolNull())})) {
		t.Errorf("import of omitted zero value: got %v", got)
	}
	// A changed value is drift, whatever was there before.
	changed := []any{map[string]any{"name": "cache", "mountPath": "/other"}}
	if got := fromKube(mounts.Type(context.TODO()), changed, mounts); got.Equal(mounts) {
		t.Error("a changed mount path read back as unchanged")
	}
}

func TestKubeValuesQuantities(t *testing.T) {
	resourcesType := templateTypes["containers"].(types.ListType).ElemType.(types.ObjectType).AttrTypes["resources"].(types.ObjectType)
	prior := types.ObjectValueMust(resourcesType.AttrTypes, map[string]attr.Value{
		"limits":   types.MapValueMust(types.StringType, map[string]attr.Value{"cpu": types.StringValue("1000m")}),
		"requests": types.MapNull(types.StringType),
	})
	// The API server stores "1000m" as "1": the user's spelling stays.
	if got := fromKube(resourcesType, map[string]any{"limits": map[string]any{"cpu": "1"}}, prior); !got.Equal(prior) {
		t.Errorf("equal quantity: got %v, want %v", got, prior)
	}
	if got := fromKube(resourcesType, map[string]any{"limits": map[string]any{"cpu": "2"}}, prior); got.Equal(prior) {
		t.Error("a different quantity read back as unchanged")
	}
	// Only quantities compare as quantities: an env value is a plain string.
	envType := templateTypes["containers"].(types.ListType).ElemType.(types.ObjectType).AttrTypes["env"].(types.ListType).ElemType.(types.ObjectType)
	env := types.ObjectValueMust(envType.AttrTypes, map[string]attr.Value{
		"name": types.StringValue("N"), "value": types.StringValue("1000m"), "value_from": types.ObjectNull(envType.AttrTypes["value_from"].(types.ObjectType).AttrTypes),
	})
	if got := fromKube(envType, map[string]any{"name": "N", "value": "1"}, env); got.Equal(env) {
		t.Error("an env value compared as a quantity")
	}
}
