package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// providerDataFrom unpacks what Configure handed to a resource or data source.
// It is nil before the provider is configured (during validation).
func providerDataFrom(data any, diags *diag.Diagnostics) *ProviderData {
	if data == nil {
		return nil
	}
	pd, ok := data.(*ProviderData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("Expected *provider.ProviderData, got %T. This is a bug in the provider.", data))
		return nil
	}
	return pd
}

// clients returns the shared clients, or adds an error saying why the cluster cannot be reached.
func (pd *ProviderData) clients(diags *diag.Diagnostics) *kube.Clients {
	c, err := pd.Clients.Get()
	if err != nil {
		diags.AddError("Cannot connect to the cluster", err.Error())
		return nil
	}
	return c
}
