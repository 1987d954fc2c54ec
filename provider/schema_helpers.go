package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Short constructors for the resource schemas' many plain attributes.

func optString(desc string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, Description: desc}
}

func reqString(desc string) schema.StringAttribute {
	return schema.StringAttribute{Required: true, Description: desc}
}

func optStringOneOf(desc string, values ...string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, Description: desc, Validators: []validator.String{stringvalidator.OneOf(values...)}}
}

func optInt(desc string, atLeast int64) schema.Int64Attribute {
	return schema.Int64Attribute{Optional: true, Description: desc, Validators: []validator.Int64{int64validator.AtLeast(atLeast)}}
}

// fileMode is a Unix file mode, written in decimal as Kubernetes' JSON has it.
func fileMode(desc string) schema.Int64Attribute {
	return schema.Int64Attribute{Optional: true, Description: desc, Validators: []validator.Int64{int64validator.Between(0, 0o777)}}
}

func optBool(desc string) schema.BoolAttribute {
	return schema.BoolAttribute{Optional: true, Description: desc}
}

func optMap(desc string) schema.MapAttribute {
	return schema.MapAttribute{ElementType: types.StringType, Optional: true, Description: desc}
}

func optStrings(desc string) schema.ListAttribute {
	return schema.ListAttribute{ElementType: types.StringType, Optional: true, Description: desc}
}

func optObject(desc string, attributes map[string]schema.Attribute) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{Optional: true, Description: desc, Attributes: attributes}
}

func optList(desc string, attributes map[string]schema.Attribute) schema.ListNestedAttribute {
	return schema.ListNestedAttribute{Optional: true, Description: desc, NestedObject: schema.NestedAttributeObject{Attributes: attributes}}
}

// withCachedTypes gives every nested attribute its own type, computed once, as
// its CustomType (the type the framework would compute, so nothing else
// changes). The framework otherwise rebuilds a nested attribute's type, with
// everything below it, on each path lookup, and it looks up the path of every
// null value in a state on every request: for knative_service's pod template
// that was 7 ms of CPU per refresh, ten times the GET it refreshes from.
func withCachedTypes(attributes map[string]schema.Attribute) map[string]schema.Attribute {
	cached := make(map[string]schema.Attribute, len(attributes))
	for name, attribute := range attributes {
		switch a := attribute.(type) {
		case schema.SingleNestedAttribute:
			if a.CustomType == nil {
				a.Attributes = withCachedTypes(a.Attributes)
				a.CustomType = a.GetType().(types.ObjectType)
			}
			attribute = a
		case schema.ListNestedAttribute:
			if a.CustomType == nil && a.NestedObject.CustomType == nil {
				a.NestedObject.Attributes = withCachedTypes(a.NestedObject.Attributes)
				a.NestedObject.CustomType = a.NestedObject.Type().(types.ObjectType)
				a.CustomType = a.GetType().(types.ListType)
			}
			attribute = a
		}
		cached[name] = attribute
	}
	return cached
}
