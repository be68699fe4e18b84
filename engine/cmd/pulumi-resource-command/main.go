// Command pulumi-resource-command is gpmirror's own implementation of the
// resource plugin that @pulumi/command 1.2.1 needs: command:local:Command,
// command:remote:Command and command:local:run. See internal/command.
package main

import (
	"fmt"
	"os"

	"github.com/gpmirror/gpmirror/engine/internal/command"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func main() {
	err := provider.Main(command.PackageName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		var h command.HostLogger
		if host != nil {
			h = host
		}
		connect := func(addr string) (command.HostLogger, error) { return provider.NewHostClient(addr) }
		return command.NewProvider(h, connect), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
