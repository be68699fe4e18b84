//go:build tools

// Package tools pins the Pulumi CLI in this module so that scripts/install-pulumi.sh
// builds it at the version in go.mod.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
